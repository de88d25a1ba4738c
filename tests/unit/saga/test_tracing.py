"""One trace from the emitting request through the outbox, the broker and every handler.

The in-memory broker carries the messages and the SDK's in-memory exporter keeps the spans,
so the parent chain and the ``traceparent`` header are checked without any backend.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Callable

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.events import span_attributes_of
from runtime.logs import TraceContext
from runtime.mongo import Document
from saga import (
    Backoff,
    Envelope,
    EventRegistry,
    InMemoryBroker,
    SagaParticipant,
    Subscriptions,
    UnitOfWork,
)
from tests.integration.saga.helpers import emit, eventually, order_placed
from tests.spans import named, parent_id, span_id, span_recorder, trace_id

FAST = Backoff(initial=0.01, maximum=0.05)
EVENTS = EventRegistry(
    [ev.OrderPlaced, ev.StockReserved, ev.OrderConfirmed],
    correlation_id=lambda event: event.order_id, span_attributes=span_attributes_of)
log = logging.getLogger("tests.saga.chain")


class Chain:
    """OrderPlaced ─▶ StockReserved ─▶ (charge outside) OrderConfirmed, all in one service."""

    async def placed(self, event: ev.OrderPlaced, uow: UnitOfWork) -> None:
        log.info("reserving", extra={"order_id": event.order_id})
        uow.emit(ev.StockReserved(order_id=event.order_id))

    async def charge(self, event: ev.StockReserved) -> str:
        return f"pay-{event.order_id}"

    async def settle(self, event: ev.StockReserved, paid: str, uow: UnitOfWork) -> None:
        uow.emit(ev.OrderConfirmed(order_id=event.order_id, payment_reference=paid))


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return span_recorder()


@pytest.fixture
def broker() -> InMemoryBroker:
    return InMemoryBroker()


@pytest.fixture
async def participant(broker: InMemoryBroker, mongo_db: AsyncDatabase[Document]
                      ) -> AsyncIterator[SagaParticipant]:
    chain = Chain()
    table = (Subscriptions().on(ev.OrderPlaced, chain.placed)
             .on(ev.StockReserved, chain.settle, outside=chain.charge))
    async with SagaParticipant(service="svc", db=mongo_db, transport=broker.transport("svc"),
                               subscriptions=table, events=EVENTS, retry_backoff=FAST,
                               relay_backoff=FAST, relay_poll_interval=0.05) as running:
        yield running


async def until(condition: Callable[[], bool]) -> None:
    """Wait until ``condition`` (about spans or published messages) holds."""
    async def check() -> bool:
        return condition()

    await eventually(check)


def traceparent(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"00-{trace_id(span):032x}-{span_id(span):016x}-{span.context.trace_flags:02x}"


def published(broker: InMemoryBroker, name: str) -> Envelope:
    (envelope,) = [e for e in broker.published if e.routing_key == name]
    return envelope


def one(spans: InMemorySpanExporter, name: str) -> ReadableSpan:
    (span,) = named(spans.get_finished_spans(), name)
    return span


async def test_one_trace_runs_from_the_emitting_request_through_every_hop(
    participant: SagaParticipant, broker: InMemoryBroker, spans: InMemorySpanExporter,
    mongo_db: AsyncDatabase[Document],
) -> None:
    with trace.get_tracer("test").start_as_current_span("PlaceOrder"):
        await emit(participant, order_placed("o-1"))
    await until(lambda: any(e.routing_key == "OrderConfirmed" for e in broker.published))
    await broker.idle()
    await until(lambda: bool(named(spans.get_finished_spans(), "publish OrderConfirmed")))

    request = one(spans, "PlaceOrder")
    hops = [request, one(spans, "publish OrderPlaced"), one(spans, "process OrderPlaced"),
            one(spans, "Chain.placed"), one(spans, "publish StockReserved"),
            one(spans, "process StockReserved"), one(spans, "Chain.settle"),
            one(spans, "publish OrderConfirmed")]
    for parent, child in itertools.pairwise(hops):
        assert parent_id(child) == span_id(parent), f"{child.name} is not a child of {parent.name}"
    assert parent_id(one(spans, "Chain.charge")) == span_id(one(spans, "process StockReserved"))
    assert {trace_id(s) for s in spans.get_finished_spans()} == {trace_id(request)}

    # The outbox stored the request's context; the message carried the publish span's.
    stored = await mongo_db["outbox"].find_one({"name": "OrderPlaced"})
    assert stored is not None
    assert stored["trace"]["traceparent"] == traceparent(request)
    for name in ("OrderPlaced", "StockReserved", "OrderConfirmed"):
        assert published(broker, name).headers["traceparent"] == traceparent(
            one(spans, f"publish {name}"))


async def test_spans_follow_the_messaging_conventions_and_name_the_order(
    participant: SagaParticipant, broker: InMemoryBroker, spans: InMemorySpanExporter,
) -> None:
    placed = order_placed("o-2")
    with trace.get_tracer("test").start_as_current_span("PlaceOrder"):
        await emit(participant, placed)
    await until(lambda: bool(named(spans.get_finished_spans(), "Chain.settle")))
    await broker.idle()  # every delivery's span has ended

    publish, process = one(spans, "publish OrderPlaced"), one(spans, "process OrderPlaced")
    assert (publish.kind, process.kind) == (SpanKind.PRODUCER, SpanKind.CONSUMER)
    event_id = placed.meta.event_id
    assert _has(publish, {"messaging.system": "rabbitmq",
                          "messaging.destination.name": "bookstore.events",
                          "messaging.operation.type": "send",
                          "messaging.operation.name": "publish",
                          "messaging.message.id": event_id, "event.id": event_id,
                          "messaging.message.conversation_id": "o-2", "order.id": "o-2"})
    assert _has(process, {"messaging.system": "rabbitmq", "messaging.operation.type": "process",
                          "messaging.destination.subscription.name": "bookstore.svc",
                          "messaging.message.id": event_id, "order.id": "o-2"})
    assert _has(one(spans, "Chain.placed"), {"order.id": "o-2", "event.id": event_id,
                                             "saga.phase": "transaction"})
    assert _has(one(spans, "Chain.charge"), {"order.id": "o-2", "saga.phase": "outside"})


def _has(span: ReadableSpan, expected: dict[str, object]) -> bool:
    attributes = dict(span.attributes or {})
    missing = {k: v for k, v in expected.items() if attributes.get(k) != v}
    assert not missing, f"{span.name} lacks {missing}; has {attributes}"
    return True


async def test_log_lines_in_handlers_carry_the_trace_and_the_order(
    participant: SagaParticipant, broker: InMemoryBroker, spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(TraceContext())
    with trace.get_tracer("test").start_as_current_span("PlaceOrder") as root:
        await emit(participant, order_placed("o-3"))
    await until(lambda: bool(named(spans.get_finished_spans(), "Chain.settle")))
    await broker.idle()
    expected_trace = f"{root.get_span_context().trace_id:032x}"

    (mine,) = [r for r in caplog.records if r.getMessage() == "reserving"]
    assert (mine.trace_id, mine.span_id) == (  # type: ignore[attr-defined]
        expected_trace, f"{span_id(one(spans, 'Chain.placed')):016x}")
    handled = [r for r in caplog.records if r.getMessage() == "event handled"
               and r.event == "OrderPlaced"]  # type: ignore[attr-defined]
    assert len(handled) == 1
    assert handled[0].trace_id == expected_trace  # type: ignore[attr-defined]
    assert handled[0].span_id == (  # type: ignore[attr-defined]
        f"{span_id(one(spans, 'process OrderPlaced')):016x}")
    assert handled[0].order_id == "o-3"  # type: ignore[attr-defined]


async def test_an_event_stored_outside_any_trace_starts_one_when_published(
    participant: SagaParticipant, broker: InMemoryBroker, spans: InMemorySpanExporter,
    mongo_db: AsyncDatabase[Document],
) -> None:
    await emit(participant, order_placed("o-4"))  # a background task: no request, no span
    await until(lambda: bool(named(spans.get_finished_spans(), "Chain.placed")))
    await broker.idle()
    stored = await mongo_db["outbox"].find_one({"name": "OrderPlaced"})
    assert stored is not None
    assert stored["trace"] == {}
    publish = one(spans, "publish OrderPlaced")
    assert publish.parent is None
    assert published(broker, "OrderPlaced").headers["traceparent"] == traceparent(publish)
    assert parent_id(one(spans, "process OrderPlaced")) == span_id(publish)


async def test_an_unconfirmed_publish_is_an_error_span_with_a_traced_log_line(
    participant: SagaParticipant, broker: InMemoryBroker, spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(TraceContext())
    broker.refusing = True
    with trace.get_tracer("test").start_as_current_span("PlaceOrder") as root:
        await emit(participant, order_placed("o-5"))
    await until(lambda: bool(named(spans.get_finished_spans(), "publish OrderPlaced")))
    broker.refusing = False
    failed = named(spans.get_finished_spans(), "publish OrderPlaced")[0]
    assert failed.status.status_code is StatusCode.ERROR
    assert parent_id(failed) == root.get_span_context().span_id
    unconfirmed = [r for r in caplog.records
                   if r.getMessage() == "event not confirmed by the broker"]
    assert unconfirmed
    assert unconfirmed[0].span_id == f"{span_id(failed):016x}"  # type: ignore[attr-defined]
    # The retry, once the broker confirms, is another publish span of the same trace.
    await until(lambda: bool(confirmed(spans)))
    await broker.idle()
    (retried,) = confirmed(spans)
    assert trace_id(retried) == trace_id(failed)
    assert parent_id(retried) == parent_id(failed)
    assert parent_id(one(spans, "process OrderPlaced")) == span_id(retried)


def confirmed(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in named(spans.get_finished_spans(), "publish OrderPlaced")
            if s.status.status_code is not StatusCode.ERROR]
