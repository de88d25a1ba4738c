"""The order service's own spans: the payment step, and a watch's link to its order's trace.

Everything else (gRPC calls, MongoDB commands, the saga's publish/process/handler spans) comes
from the instrumentations and :mod:`saga.tracing`; with tracing off these are no-op spans.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping

from opentelemetry import propagate, trace
from opentelemetry.trace import Span

from orders.store import OrderStore

_tracer = trace.get_tracer("orders")

PLACED_REMEMBERED = 10_000
"""Orders placed here whose trace context is kept in memory: a watch that follows at once
(as clients do after PlaceOrder) links without reading it back from the order."""
_placed: OrderedDict[str, dict[str, str]] = OrderedDict()


@contextlib.contextmanager
def payment_span(order_id: str, amount_cents: int) -> Iterator[Span]:
    """``payment charge``: the call to the gateway, retries included."""
    with _tracer.start_as_current_span("payment charge") as span:
        if span.is_recording():
            span.set_attributes({"order.id": order_id, "payment.amount_cents": amount_cents})
        yield span


def name_the_order(order_id: str) -> None:
    """Put ``order.id`` on the current span (the call that placed or changed the order)."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("order.id", order_id)


def remember_placed(order_id: str, carrier: Mapping[str, str]) -> None:
    """Keep the trace context a committed order was stored with, while tracing records; the
    oldest of :data:`PLACED_REMEMBERED` is forgotten first (its watch reads it instead)."""
    if not carrier or not trace.get_current_span().is_recording():
        return
    _placed[order_id] = dict(carrier)
    _placed.move_to_end(order_id)
    while len(_placed) > PLACED_REMEMBERED:
        _placed.popitem(last=False)


async def link_to_order(store: OrderStore, order_id: str) -> None:
    """Link the current span (a ``WatchOrder`` call, a trace of its own) to the trace the
    order was placed in, so a tracing backend leads from the watch to the saga it followed.
    The context comes from memory for an order placed by this process, else from the order."""
    span = trace.get_current_span()
    if not span.is_recording():
        return  # tracing off: not even the read
    span.set_attribute("order.id", order_id)
    stored = _placed.get(order_id)
    if stored is None:
        stored = await store.trace_of(order_id)
    placed = trace.get_current_span(propagate.extract(stored))
    context = placed.get_span_context()
    if context.is_valid:
        span.add_link(context, {"link.reason": "order placed"})
