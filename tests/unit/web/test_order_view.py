"""What the order page and its live stream show of an order."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from client._models import ORDER_STATUSES, Order
from client.web._orders import order_view
from contracts.bookstore.orders.v1 import orders_pb2 as pb


def order(status: str, reason: str = "") -> Order:
    return Order(id="o1", status=ORDER_STATUSES[status], reason=reason, total_cents=123456,
                 lines=[pb.OrderLine(book_id="b1", title="Dune", quantity=2,
                                     unit_price_cents=61728, line_total_cents=123456,
                                     rejection_reason="only 1 left")],
                 history=[pb.StatusChange(status=ORDER_STATUSES["pending"],
                                          at=Timestamp(seconds=1_767_225_600), reason="placed")])


def test_money_and_times_are_written_for_people() -> None:
    view = order_view(order("pending"))
    assert view["total"] == "1,234.56"
    assert view["lines"][0]["unit_price"] == "617.28"
    assert view["history"] == [{"status": "PENDING", "reason": "placed",
                                "at": "2026-01-01 00:00:00 UTC"}]


def test_a_reason_is_shown_only_when_it_explains_a_refusal() -> None:
    assert order_view(order("confirmed", "paid"))["reason"] == ""
    assert order_view(order("cancelled", "card declined"))["reason"] == "card declined"
    assert order_view(order("rejected", "out of stock"))["reason"] == "out of stock"


def test_only_an_unshipped_order_offers_cancelling_and_only_a_final_one_stops_the_stream(
        ) -> None:
    flags = {name: (order_view(order(name))["cancellable"], order_view(order(name))["final"])
             for name in ORDER_STATUSES}
    assert flags == {"pending": (True, False), "confirmed": (True, False),
                     "shipped": (False, False), "completed": (False, True),
                     "rejected": (False, True), "cancelled": (False, True)}
