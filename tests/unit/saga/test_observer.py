"""What the saga tells its observer, over the in-memory broker, and after-commit callbacks.

Each outcome a delivery can have, each confirmed publication, the outbox backlog while the
broker refuses and after, and callbacks that run once per committed unit of work only.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from contracts.bookstore.events.v1 import events_pb2 as ev
from runtime.mongo import Document
from saga import (
    Backoff,
    Consumed,
    Delivery,
    InMemoryBroker,
    NoObserver,
    PoisonMessage,
    SagaParticipant,
    Subscriptions,
    UnitOfWork,
)
from saga.observer import UNKNOWN_EVENT
from tests.integration.saga.helpers import EVENTS, emit, eventually, order_placed

FAST = Backoff(initial=0.01, maximum=0.05)


@dataclass
class Heard:
    """An observer that writes down what it hears."""

    consumed: Counter[tuple[str, Consumed]] = field(default_factory=Counter)
    published: Counter[str] = field(default_factory=Counter)
    backlog: list[tuple[int, float]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def consumed_(self, event: str, outcome: Consumed, seconds: float, retries: int) -> None:
        self.consumed[(event, outcome)] += 1
        self.consumed[(event, Consumed.RETRIED)] += retries
        self.seconds.append(seconds)


class Observer(NoObserver):
    def __init__(self, heard: Heard) -> None:
        self.heard = heard

    def consumed(self, event: str, outcome: Consumed, seconds: float, *, retries: int) -> None:
        self.heard.consumed_(event, outcome, seconds, retries)

    def published(self, event: str, seconds: float) -> None:
        assert seconds >= 0
        self.heard.published[event] += 1

    def outbox_backlog(self, pending: int, oldest_age_seconds: float) -> None:
        self.heard.backlog.append((pending, oldest_age_seconds))


@dataclass
class Flaky:
    """Fails its first ``failures`` calls for order ``flaky``; ``poison`` is never handled."""

    failures: int = 2
    calls: Counter[str] = field(default_factory=Counter)

    async def placed(self, event: ev.OrderPlaced, uow: UnitOfWork) -> None:
        self.calls[event.order_id] += 1
        if event.order_id == "poison":
            raise PoisonMessage("cannot be handled")
        if event.order_id == "flaky" and self.calls["flaky"] <= self.failures:
            raise ConnectionError("a moment away")
        uow.emit(ev.StockRejected(order_id=event.order_id))


@pytest.fixture
def broker() -> InMemoryBroker:
    return InMemoryBroker()


@pytest.fixture
async def observed(broker: InMemoryBroker, mongo_db: AsyncDatabase[Document]
                   ) -> AsyncIterator[tuple[SagaParticipant, Heard]]:
    heard = Heard()
    table = Subscriptions().on(ev.OrderPlaced, Flaky().placed)
    async with SagaParticipant(service="svc", db=mongo_db, transport=broker.transport("svc"),
                               subscriptions=table, events=EVENTS, retry_backoff=FAST,
                               relay_backoff=FAST, relay_poll_interval=0.05,
                               observer=Observer(heard), backlog_interval=0.05) as participant:
        yield participant, heard


async def test_every_outcome_of_a_delivery_is_heard_once(
        observed: tuple[SagaParticipant, Heard], broker: InMemoryBroker) -> None:
    participant, heard = observed
    await emit(participant, order_placed("fine"), order_placed("flaky"),
               order_placed("poison"))
    await eventually(lambda: _true(sum(heard.consumed.values()) >= 5))
    await broker.idle()
    (original,) = [e for e in broker.published
                   if e.type == "OrderPlaced" and b"fine" in e.body]
    await broker.deliver("svc", Delivery(body=original.body, routing_key=original.routing_key,
                                         message_id=original.message_id, type=original.type))
    await broker.deliver("svc", Delivery(body=b"", routing_key="Invented",
                                         message_id="m-x", type="Invented"))
    await broker.idle()
    assert heard.consumed == {
        ("OrderPlaced", Consumed.HANDLED): 2,  # fine, and flaky at its third attempt
        ("OrderPlaced", Consumed.RETRIED): 2,
        ("OrderPlaced", Consumed.DEAD_LETTERED): 1,  # poison
        ("OrderPlaced", Consumed.DUPLICATE): 1,
        (UNKNOWN_EVENT, Consumed.DEAD_LETTERED): 1,  # a name the sender made up
        (UNKNOWN_EVENT, Consumed.RETRIED): 0,
    }
    assert all(s >= 0 for s in heard.seconds)


async def test_each_confirmed_event_is_heard_published(
        observed: tuple[SagaParticipant, Heard], broker: InMemoryBroker) -> None:
    participant, heard = observed
    await emit(participant, order_placed("a"), order_placed("b"))
    await eventually(lambda: _true(heard.published["StockRejected"] == 2))
    await broker.idle()
    assert heard.published == {"OrderPlaced": 2, "StockRejected": 2}


async def test_the_backlog_grows_while_the_broker_refuses_and_empties_after(
        observed: tuple[SagaParticipant, Heard], broker: InMemoryBroker) -> None:
    participant, heard = observed
    broker.refusing = True
    await emit(participant, order_placed("a"), order_placed("b"), order_placed("c"))
    await eventually(lambda: _true(any(n == 3 and age > 0 for n, age in heard.backlog)))
    broker.refusing = False
    await eventually(lambda: _true(heard.backlog[-1] == (0, 0.0)))


async def test_after_commit_runs_once_for_the_attempt_that_committed(
        mongo_db: AsyncDatabase[Document]) -> None:
    participant = SagaParticipant(service="svc", db=mongo_db,
                                  transport=InMemoryBroker().transport("svc"), events=EVENTS)
    ran: list[int] = []
    attempts = 0

    async def work(uow: UnitOfWork) -> str:
        nonlocal attempts
        attempts += 1
        uow.after_commit(functools.partial(ran.append, attempts))
        await mongo_db["things"].insert_one({"attempt": attempts}, session=uow.session)
        if attempts == 1:  # the server would say this on a write conflict: retry it all
            raise OperationFailure("write conflict", code=112,
                                   details={"errorLabels": ["TransientTransactionError"]})
        return "done"

    assert await participant.outbox.run(work) == "done"
    assert (attempts, ran) == (2, [2])
    assert await mongo_db["things"].count_documents({}) == 1


async def test_after_commit_never_runs_for_work_that_failed(
        mongo_db: AsyncDatabase[Document]) -> None:
    participant = SagaParticipant(service="svc", db=mongo_db,
                                  transport=InMemoryBroker().transport("svc"), events=EVENTS)
    ran: list[str] = []

    async def work(uow: UnitOfWork) -> None:
        uow.after_commit(lambda: ran.append("no"))
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        await participant.outbox.run(work)
    assert ran == []


async def test_a_failing_callback_leaves_the_work_done_and_the_others_run(
        mongo_db: AsyncDatabase[Document], caplog: pytest.LogCaptureFixture) -> None:
    participant = SagaParticipant(service="svc", db=mongo_db,
                                  transport=InMemoryBroker().transport("svc"), events=EVENTS)
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("metrics broke")

    async def work(uow: UnitOfWork) -> None:
        uow.after_commit(broken)
        uow.after_commit(lambda: ran.append("second"))
        await mongo_db["things"].insert_one({}, session=uow.session)

    await participant.outbox.run(work)
    assert ran == ["second"]
    assert await mongo_db["things"].count_documents({}) == 1
    assert "after-commit callback failed" in caplog.text


async def _true(value: object) -> bool:
    return bool(value)
