"""The metrics move by exactly what happened: orders through three real service processes.

A stack of its own (no other test's orders in its counters): a known mix of orders is placed
(confirmed, rejected for stock, declined by the payment gateway), and once every saga has
ended, each service's ``/metrics`` must have moved by exactly those orders, their events and
their transitions. Then every metric the dashboard and the alert rules read must be in what
the services really export.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import yaml

from tests.e2e.scrape import Samples, exported_names, exposition, key, moved, scrape
from tests.e2e.shop import S, open_shop
from tests.stack import SERVICES, Stack, running_stack
from tests.unit.test_monitoring import (
    BUILT_IN,
    RULES,
    dashboard_expressions,
    metric_names,
    rule_expressions,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

USER = "bookstore.user.v1.UserService"
INVENTORY = "bookstore.inventory.v1.InventoryService"
CONFIRMED, DECLINED, REJECTED = 3, 2, 2
PLACED = CONFIRMED + DECLINED + REJECTED
SETTLE_WITHIN = 60.0


@pytest.fixture(scope="module")
def stack(mongo_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Stack]:
    with running_stack(mongo_url, amqp_url, tmp_path_factory.mktemp("metrics-stack")) as running:
        yield running


async def scrape_all(stack: Stack) -> dict[str, Samples]:
    scrapes = await asyncio.gather(*(scrape(stack.metrics_url(svc)) for svc in SERVICES))
    return dict(zip(SERVICES, scrapes, strict=True))


def consumed(event: str, outcome: str = "handled") -> tuple[str, frozenset[tuple[str, str]]]:
    return key("bookstore_events_consumed_total", event=event, outcome=outcome)


def published(event: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return key("bookstore_events_published_total", event=event)


def transition(source: str, target: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return key("bookstore_order_transitions_total", **{"from": source, "to": target})


async def until(stack: Stack, before: dict[str, Samples], done: Samples, service: str,
                within: float = 60.0) -> dict[str, Samples]:
    """Scrape until ``service`` moved by at least ``done`` and no outbox holds an event."""
    async with asyncio.timeout(within):
        while True:
            after = await scrape_all(stack)
            reached = all(after[service].get(s, 0.0) - before[service].get(s, 0.0) >= n
                          for s, n in done.items())
            drained = all(after[svc].get(key("bookstore_outbox_pending_events"), 0.0) == 0
                          for svc in ("inventory", "orders"))
            if reached and drained:
                return after
            await asyncio.sleep(0.5)


async def test_counters_move_by_exactly_the_orders_placed(stack: Stack) -> None:
    before = await scrape_all(stack)
    async with open_shop(stack) as shop:
        _, me = await shop.customer("Counted")
        plenty = await shop.add_book("Plenty", 1000, stock=100)
        scarce = await shop.add_book("Scarce", 1000, stock=1)
        orders = await asyncio.gather(
            *(shop.place(me, [(plenty, 1)]) for _ in range(CONFIRMED)),
            *(shop.place(me, [(plenty, 1)], payment_token="tok_declined")
              for _ in range(DECLINED)),
            *(shop.place(me, [(scarce, 2)]) for _ in range(REJECTED)))
        settled = await shop.settle([o.id for o in orders], within=SETTLE_WITHIN)
    statuses = [o.status for o in settled.values()]
    assert (statuses.count(S.ORDER_STATUS_CONFIRMED), statuses.count(S.ORDER_STATUS_CANCELLED),
            statuses.count(S.ORDER_STATUS_REJECTED)) == (CONFIRMED, DECLINED, REJECTED)
    # Inventory hears how each order ended last: wait for that, and for empty outboxes.
    after = await until(stack, before, {consumed("OrderConfirmed"): CONFIRMED,
                                        consumed("OrderCancelled"): DECLINED}, "inventory")

    orders_moved = moved(before["orders"], after["orders"], [
        "bookstore_orders_placed_total", "bookstore_order_transitions_total",
        "bookstore_payments_total", "bookstore_events_consumed_total",
        "bookstore_events_published_total", "bookstore_order_settle_seconds_count"])
    assert orders_moved == {
        key("bookstore_orders_placed_total"): PLACED,
        transition("PENDING", "CONFIRMED"): CONFIRMED,
        transition("PENDING", "CANCELLED"): DECLINED,
        transition("PENDING", "REJECTED"): REJECTED,
        key("bookstore_order_settle_seconds_count"): PLACED,
        key("bookstore_payments_total", outcome="charged"): CONFIRMED,
        key("bookstore_payments_total", outcome="declined"): DECLINED,
        consumed("BookAdded"): 2,
        consumed("StockReserved"): CONFIRMED + DECLINED,
        consumed("StockRejected"): REJECTED,
        published("OrderPlaced"): PLACED,
        published("OrderConfirmed"): CONFIRMED,
        published("OrderCancelled"): DECLINED,
    }
    inventory_moved = moved(before["inventory"], after["inventory"], [
        "bookstore_reservations_total", "bookstore_events_consumed_total",
        "bookstore_events_published_total"])
    assert inventory_moved == {
        key("bookstore_reservations_total", outcome="reserved"): CONFIRMED + DECLINED,
        key("bookstore_reservations_total", outcome="rejected"): REJECTED,
        consumed("OrderPlaced"): PLACED,
        consumed("OrderConfirmed"): CONFIRMED,
        consumed("OrderCancelled"): DECLINED,
        published("BookAdded"): 2,
        published("StockReserved"): CONFIRMED + DECLINED,
        published("StockRejected"): REJECTED,
    }
    user_calls = moved(before["user"], after["user"], ["bookstore_rpc_requests_total"])
    assert user_calls == {
        key("bookstore_rpc_requests_total", method=f"/{USER}/CreateUser", code="OK"): 1,
        key("bookstore_rpc_requests_total", method=f"/{USER}/AuthenticateUser", code="OK"): 2,
    }
    assert moved(before["inventory"], after["inventory"], ["bookstore_rpc_requests_total"])[
        key("bookstore_rpc_requests_total", method=f"/{INVENTORY}/AddBook", code="OK")] == 2

    for svc in ("inventory", "orders"):
        samples = after[svc]
        dead = {s: v for s, v in samples.items() if s[0] == "bookstore_events_consumed_total"
                and dict(s[1])["outcome"] == "dead_lettered"}
        assert dead, svc  # every subscribed event has the series, ...
        assert set(dead.values()) == {0.0}, svc  # ... at zero
        assert samples[key("bookstore_outbox_pending_events")] == 0, svc
        assert samples[key("bookstore_outbox_oldest_pending_age_seconds")] == 0, svc
        assert samples[key("bookstore_broker_connected")] == 1, svc
    assert after["orders"][key("bookstore_orders_pending_overdue")] == 0
    assert after["orders"][key("bookstore_order_settle_seconds_sum")] > 0


async def test_the_services_export_every_metric_the_dashboard_and_alerts_read(
        stack: Stack) -> None:
    async with open_shop(stack) as shop:  # one order first, so every kind of series exists
        _, me = await shop.customer()
        book = await shop.add_book("Exported", 500, stock=1)
        order = await shop.place(me, [(book, 1)])
        await shop.settle([order.id], within=SETTLE_WITHIN)
    texts = await asyncio.gather(*(asyncio.to_thread(exposition, stack.metrics_url(svc))
                                   for svc in SERVICES))
    exported = set().union(*(exported_names(text) for text in texts))
    expressions = [*rule_expressions(yaml.safe_load(RULES.read_text())["groups"]),
                   *dashboard_expressions()]
    used = set().union(*(metric_names(e) for e in expressions)) - BUILT_IN
    assert len(used) > 10
    assert used - exported == set()
