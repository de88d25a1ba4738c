"""The broker goes away while events flow: nothing is lost, consuming, relaying and keeping
dead letters resume.

These tests restart (or cut off) the shared RabbitMQ node, so they run only where ``rabbitmqctl``
works, and always leave the broker running. Select them with ``-m broker_restart``.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2
from runtime.mongo import Document
from saga import SagaParticipant
from tests.integration.saga.helpers import Recorder, emit, kept_dead_letters, order_placed
from tests.waiting import eventually

pytestmark = [
    pytest.mark.integration,
    pytest.mark.broker_restart,
    pytest.mark.timeout(90),
    pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl"),
]

MakeDb = Callable[[], AsyncDatabase[Document]]
Build = Callable[..., SagaParticipant]
EVENTS = 60
BUDGET = 60.0  # the whole scenario, outage included


async def rabbitmqctl(*args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", *args, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), 60)
    if process.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {err.decode().strip()}")


@pytest.fixture
async def broker_left_running() -> AsyncIterator[None]:
    yield
    await rabbitmqctl("start_app")
    await rabbitmqctl("await_startup")


async def run_through_outage(
    make_db: MakeDb, participant: Build,
    outage: Callable[[AsyncDatabase[Document]], Awaitable[None]],
) -> Recorder:
    """Events trickle from orders to inventory; ``outage`` (given orders' database) strikes
    once ten have arrived."""
    orders_db, inventory_db = make_db(), make_db()
    recorder = Recorder(inventory_db, poison_order="flow-poison")
    events = [order_placed(f"flow-{i}") for i in range(EVENTS)]
    async with asyncio.timeout(BUDGET):
        async with (
            participant("inventory", inventory_db, {events_pb2.OrderPlaced: recorder}),
            participant("orders", orders_db) as orders,
        ):

            async def keep_emitting() -> None:
                for event in events:
                    await emit(orders, event)
                    await asyncio.sleep(0.05)  # a steady trickle, not synchronisation

            emitting = asyncio.create_task(keep_emitting())
            await recorder.wait_for(10)
            await outage(orders_db)
            await emitting
            await recorder.wait_for(EVENTS, within=BUDGET)
            # Dead-lettering and its drain came back too.
            await emit(orders, order_placed("flow-poison"))
            (kept,) = await kept_dead_letters(inventory_db, 1)
            assert kept["correlation_id"] == "flow-poison"

    for event in events:
        assert await recorder.effect_count(order_id=event.order_id) == 1
    assert await orders_db["outbox"].count_documents({"state": "published"}) == EVENTS + 1
    return recorder


async def test_broker_restart_loses_nothing(
    make_db: MakeDb, participant: Build, broker_left_running: None
) -> None:
    async def restart(orders_db: AsyncDatabase[Document]) -> None:
        await rabbitmqctl("stop_app")

        async def relay_refused() -> bool:  # it gave an event back, unconfirmed: it backs off
            return await orders_db["outbox"].count_documents({"error": {"$exists": True}}) > 0

        await eventually(relay_refused, 30)
        await rabbitmqctl("start_app")
        await rabbitmqctl("await_startup")

    await run_through_outage(make_db, participant, restart)


async def test_dropped_connections_lose_nothing(
    make_db: MakeDb, participant: Build, broker_left_running: None
) -> None:
    async def cut(orders_db: AsyncDatabase[Document]) -> None:
        await rabbitmqctl("close_all_connections", "test: connections dropped on purpose")

    await run_through_outage(make_db, participant, cut)
