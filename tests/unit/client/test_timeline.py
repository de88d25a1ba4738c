"""Merging both services' steps and telling what a stuck order waits for: pure logic."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from rich.console import Console

from client._timeline import TimelineStep, merge, timeline, waiting_for
from client.cli._render import print_timeline
from contracts.bookstore.orders.v1 import orders_pb2 as pb

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def at(ms: int, service: str, step: str, *, event: str = "", event_id: str = "",
       detail: str = "", duration_ms: int = 0, attempts: int = 0,
       redelivered: bool = False) -> TimelineStep:
    made = TimelineStep(service=service, step=step, event=event, event_id=event_id,
                        detail=detail, duration_ms=duration_ms, attempts=attempts,
                        redelivered=redelivered)
    made.at.FromDatetime(T0 + timedelta(milliseconds=ms))
    return made


def emitted(ms: int, service: str, event: str, state: str = "published") -> TimelineStep:
    return at(ms, service, f"emitted {event}", event=event, event_id=f"id-{event}",
              detail=state, duration_ms=3)


def received(ms: int, service: str, event: str, **fields: object) -> TimelineStep:
    return at(ms, service, f"received {event}", event=event, event_id=f"id-{event}",
              duration_ms=7, attempts=1, **fields)  # type: ignore[arg-type]


PLACED = [at(0, "orders", "placed", detail="placed"), emitted(0, "orders", "OrderPlaced")]
RESERVED = [received(10, "inventory", "OrderPlaced"), at(12, "inventory", "stock held"),
            emitted(12, "inventory", "StockReserved")]
CONFIRMED = [received(20, "orders", "StockReserved"), at(21, "orders", "payment due"),
             at(25, "orders", "confirmed", detail="paid"), emitted(25, "orders", "OrderConfirmed"),
             received(30, "inventory", "OrderConfirmed"), at(31, "inventory", "stock sold")]


def order(status: pb.OrderStatus.ValueType = pb.ORDER_STATUS_PENDING) -> pb.Order:
    return pb.Order(id="o-1", user_id="u-1", status=status)


def test_merge_interleaves_both_services_by_time_keeping_ties_in_the_given_order() -> None:
    orders_part = [s for s in PLACED + CONFIRMED if s.service == "orders"]
    inventory_part = [s for s in RESERVED + CONFIRMED if s.service == "inventory"]
    merged = merge(orders_part, inventory_part)
    assert [s.step for s in merged] == [
        "placed", "emitted OrderPlaced", "received OrderPlaced", "stock held",
        "emitted StockReserved", "received StockReserved", "payment due", "confirmed",
        "emitted OrderConfirmed", "received OrderConfirmed", "stock sold"]


def test_a_settled_order_whose_every_event_arrived_waits_for_nothing() -> None:
    assert waiting_for("CONFIRMED", PLACED + RESERVED + CONFIRMED) is None


def test_a_placed_order_still_in_the_outbox_waits_for_its_publication() -> None:
    steps = [PLACED[0], emitted(0, "orders", "OrderPlaced", state="pending")]
    assert waiting_for("PENDING", steps) == "orders to publish OrderPlaced (still in its outbox)"


def test_a_published_order_nobody_received_waits_for_the_broker() -> None:
    assert waiting_for("PENDING", PLACED) == "the broker to deliver OrderPlaced to inventory"


def test_an_unanswered_inventory_is_named_when_it_did_not_answer_the_trace() -> None:
    assert waiting_for("PENDING", PLACED, ["inventory"]) == (
        "inventory, which did not answer, to handle OrderPlaced")


def test_a_reservation_not_yet_received_by_orders_waits_for_the_broker() -> None:
    assert waiting_for("PENDING", PLACED + RESERVED) == (
        "the broker to deliver StockReserved to orders")


def test_an_order_with_its_payment_due_waits_for_payment() -> None:
    steps = PLACED + RESERVED + [at(21, "orders", "payment due")]
    assert waiting_for("PENDING", steps) == "payment"


def test_a_dead_lettered_event_waits_for_a_person() -> None:
    dead = at(15, "inventory", "dead-lettered", event="OrderPlaced", event_id="id-OrderPlaced",
              detail="PoisonMessage: bad lines", attempts=5)
    assert waiting_for("PENDING", [*PLACED, dead]) == (
        "a person: inventory dead-lettered OrderPlaced (PoisonMessage: bad lines)")


def test_an_event_that_could_not_be_published_waits_for_a_person() -> None:
    steps = [PLACED[0], emitted(0, "orders", "OrderPlaced", state="failed: too big")]
    assert waiting_for("PENDING", steps) == (
        "a person: orders could not publish OrderPlaced (failed: too big)")


def test_a_cancelled_order_waits_until_inventory_has_handled_the_cancellation() -> None:
    cancelled = [at(40, "orders", "cancelled"), emitted(40, "orders", "OrderCancelled")]
    steps = PLACED + RESERVED + [received(20, "orders", "StockReserved")] + cancelled
    assert waiting_for("CANCELLED", steps) == (
        "the broker to deliver OrderCancelled to inventory")
    done = [received(45, "inventory", "OrderCancelled"), at(46, "inventory", "stock released")]
    assert waiting_for("CANCELLED", steps + done) is None


def test_a_pending_order_with_every_event_accounted_for_awaits_inventory() -> None:
    steps = [PLACED[0]]  # an order stored before its events were journalled
    assert waiting_for("PENDING", steps) == "inventory's answer to OrderPlaced"


def test_catalogue_events_are_not_saga_steps_to_wait_for() -> None:
    steps = PLACED + RESERVED + CONFIRMED + [emitted(50, "inventory", "BookChanged")]
    assert waiting_for("CONFIRMED", steps) is None


def test_json_has_the_documented_shape() -> None:
    steps = PLACED + RESERVED + CONFIRMED
    trace = timeline(order(pb.ORDER_STATUS_CONFIRMED),
                     [s for s in steps if s.service == "orders"],
                     [s for s in steps if s.service == "inventory"])
    document = json.loads(json.dumps(trace.to_json()))
    assert (document["order_id"], document["status"], document["waiting_for"]) == (
        "o-1", "CONFIRMED", None)
    first = document["steps"][0]
    assert set(first) >= {"at", "service", "step", "event_id", "duration_ms"}
    assert first["at"] == "2026-12-07T12:00:00Z"
    assert document["steps"][1]["duration_ms"] == 3  # a number, not proto JSON's string
    assert [s["step"] for s in document["steps"]][-1] == "stock sold"


def test_the_table_fits_eighty_columns_and_names_what_the_order_waits_for() -> None:
    long_detail = "stock unavailable: " + "A Very Long Title Indeed: not enough stock; " * 3
    steps = [*PLACED, received(10, "inventory", "OrderPlaced", redelivered=True),
             at(11, "inventory", "stock rejected", detail=long_detail)]
    trace = timeline(order(), [s for s in steps if s.service == "orders"],
                     [s for s in steps if s.service == "inventory"], ["inventory"])
    console = Console(width=80, record=True, color_system=None)
    print_timeline(console, trace)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    for shown in ("12:00:00.010", "redelivered", "id-Order", "stock rejected"):
        assert shown in text
    assert "waiting for: inventory's answer to OrderPlaced" in text
    assert "the inventory service did not answer" in text


def test_an_event_is_never_received_before_it_was_emitted_whatever_the_clocks_say() -> None:
    # Inventory's clock runs 5 ms behind orders': its receipt looks older than the emission.
    orders_part = [at(10, "orders", "placed"), emitted(10, "orders", "OrderPlaced")]
    inventory_part = [received(6, "inventory", "OrderPlaced"), at(7, "inventory", "stock held"),
                      emitted(7, "inventory", "StockReserved")]
    merged = merge(orders_part, inventory_part)
    assert [s.step for s in merged] == [
        "placed", "emitted OrderPlaced", "received OrderPlaced", "stock held",
        "emitted StockReserved"]


def test_an_event_delivered_before_its_outbox_mark_does_not_look_stuck() -> None:
    steps = [PLACED[0], emitted(0, "orders", "OrderPlaced", state="pending"),
             received(10, "inventory", "OrderPlaced")]
    trace = timeline(order(), steps[:2], steps[2:])
    assert trace.steps[1].detail == "delivered; not yet marked published"
    assert steps[1].detail == "pending"  # the service's answer is left as it was
    assert trace.steps[1].at == steps[1].at
    assert trace.waiting_for == "inventory's answer to OrderPlaced"
