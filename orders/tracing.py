"""The order service's own spans: the payment step, and a watch's link to its order's trace.

Everything else (gRPC calls, MongoDB commands, the saga's publish/process/handler spans) comes
from the instrumentations and :mod:`saga.tracing`; with tracing off these are no-op spans.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry import propagate, trace
from opentelemetry.trace import Span

from orders.store import OrderStore

_tracer = trace.get_tracer("orders")


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


async def link_to_order(store: OrderStore, order_id: str) -> None:
    """Link the current span (a ``WatchOrder`` call, a trace of its own) to the trace the
    order was placed in, so a tracing backend leads from the watch to the saga it followed."""
    span = trace.get_current_span()
    if not span.is_recording():
        return  # tracing off: not even the read
    span.set_attribute("order.id", order_id)
    placed = trace.get_current_span(propagate.extract(await store.trace_of(order_id)))
    context = placed.get_span_context()
    if context.is_valid:
        span.add_link(context, {"link.reason": "order placed"})
