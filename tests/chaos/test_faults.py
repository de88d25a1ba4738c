"""The order saga under faults: processes killed, the broker restarted, the database cut off,
events delivered twice, poison published. Each scenario runs against a steady stream of orders
and ends with the same consistency checks once the system has drained."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable

import pytest

from contracts.bookstore.orders.v1 import orders_pb2 as pb
from tests.chaos.broker import POISON, duplicating, inject_poison, restart_rabbitmq
from tests.chaos.consistency import assert_system_consistent
from tests.chaos.load import LoadReport, order_stream
from tests.e2e.shop import S, open_shop
from tests.proxy import TcpProxy
from tests.stack import SERVICES, Stack

pytestmark = [pytest.mark.integration, pytest.mark.chaos, pytest.mark.timeout(240)]

WARM_UP = 10  # orders accepted before the fault
RECOVERED = 10  # more accepted after it: orders flow again
DB_OUTAGE_SECONDS = 5.0


async def under_load(stack: Stack, books: list[str],
                     fault: Callable[[], Awaitable[None]]) -> LoadReport:
    """Start the stream, let it settle in, cause the fault, see orders flow again, stop."""
    async with order_stream(stack, books) as stream:
        await stream.wait_for_orders(WARM_UP)
        await fault()
        await stream.wait_for_orders(len(stream.report.accepted) + RECOVERED)
    report = stream.report
    print(f"accepted={len(report.accepted)} refused={report.refused} "
          f"abandoned={report.abandoned} transient={dict(report.transient)}")
    assert report.abandoned == 0, "a placement never got an answer, however often retried"
    return report


async def race_for_a_last_copy(stack: Stack) -> None:
    """Orders racing for one copy: all are taken and inventory rejects the losers, so
    StockRejected flows too."""
    async with open_shop(stack) as shop:
        _, me = await shop.customer()
        for _ in range(5):  # one round nearly always produces a rejection
            book = await shop.add_book("Last Copy", 1000, stock=1)
            outcomes = await asyncio.gather(*(shop.place(me, [(book, 1)]) for _ in range(8)),
                                            return_exceptions=True)
            placed = [o.id for o in outcomes if isinstance(o, pb.Order)]
            settled = await shop.settle(placed, within=30)
            if any(o.status == S.ORDER_STATUS_REJECTED for o in settled.values()):
                return
        pytest.fail("no order for the last copy was rejected by inventory")


async def test_each_service_killed_and_restarted(
    chaos_stack: Stack, books: list[str], mongo_url: str, amqp_url: str
) -> None:
    async def kill_each_in_turn() -> None:
        for service in SERVICES:
            await asyncio.to_thread(chaos_stack.kill, service)
            await asyncio.to_thread(chaos_stack.start, service)

    report = await under_load(chaos_stack, books, kill_each_in_turn)
    await assert_system_consistent(chaos_stack, mongo_url, amqp_url, report)


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl")
async def test_broker_restarted(
    chaos_stack: Stack, books: list[str], mongo_url: str, amqp_url: str
) -> None:
    report = await under_load(chaos_stack, books, restart_rabbitmq)
    await assert_system_consistent(chaos_stack, mongo_url, amqp_url, report)


async def test_database_unreachable(
    chaos_stack: Stack, books: list[str], mongo_proxy: TcpProxy, mongo_url: str,
    amqp_url: str,
) -> None:
    async def outage() -> None:
        with mongo_proxy.outage():
            await asyncio.sleep(DB_OUTAGE_SECONDS)  # hold the outage

    report = await under_load(chaos_stack, books, outage)
    assert mongo_proxy.refused > 0, "nothing tried the database during the outage"
    await assert_system_consistent(chaos_stack, mongo_url, amqp_url, report)


async def test_every_event_delivered_again(
    chaos_stack: Stack, books: list[str], mongo_url: str, amqp_url: str
) -> None:
    prefix = chaos_stack.env["BOOKSTORE_SAGA_PREFIX"]
    async with duplicating(amqp_url, prefix) as duplicator:
        report = await under_load(chaos_stack, books, lambda: race_for_a_last_copy(chaos_stack))
        snapshot = await assert_system_consistent(chaos_stack, mongo_url, amqp_url, report)
    # The books' catalogue events went out before the tap existed (all but the last-copy
    # race's book); every order event after.
    order_events = {"OrderPlaced", "StockReserved", "StockRejected", "OrderConfirmed",
                    "OrderCancelled"}
    published = {r["_id"] for records in snapshot.outbox.values() for r in records
                 if r["name"] in order_events}
    assert published <= duplicator.seen, "an event went by without being copied"
    assert order_events <= set(duplicator.duplicated)
    for service in ("inventory", "orders"):  # the copies reached the consumers, and were skipped
        log = (chaos_stack.workdir / f"{service}.log").read_text(errors="replace")
        assert "duplicate event skipped" in log, f"{service} never saw a copy"


async def test_poison_messages_are_dead_lettered(
    chaos_stack: Stack, books: list[str], mongo_url: str, amqp_url: str
) -> None:
    prefix = chaos_stack.env["BOOKSTORE_SAGA_PREFIX"]
    poison: dict[str, str] = {}

    async def publish_poison() -> None:
        poison.update(await inject_poison(amqp_url, prefix))

    report = await under_load(chaos_stack, books, publish_poison)
    assert len(poison) == len(POISON)
    await assert_system_consistent(chaos_stack, mongo_url, amqp_url, report, poison=poison)
