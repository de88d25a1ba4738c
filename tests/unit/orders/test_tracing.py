"""The order's trace as a watch finds it: from memory for an order placed here, else read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import pytest
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan

from orders import tracing
from orders.store import OrderStore
from tests.spans import named, span_recorder

tracer = trace.get_tracer("test")


class StoredTraces:
    """The one read ``link_to_order`` may make, counted."""

    def __init__(self, traces: dict[str, dict[str, str]]) -> None:
        self.traces = traces
        self.reads: list[str] = []

    async def trace_of(self, order_id: str) -> dict[str, str]:
        self.reads.append(order_id)
        return self.traces.get(order_id, {})


@pytest.fixture(autouse=True)
def nothing_remembered() -> Iterator[None]:
    tracing._placed.clear()
    yield
    tracing._placed.clear()


def placed_in_a_span(order_id: str) -> tuple[dict[str, str], int]:
    """Remember ``order_id`` as PlaceOrder does after its commit; its carrier and span id."""
    with tracer.start_as_current_span("PlaceOrder") as span:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        tracing.remember_placed(order_id, carrier)
        return carrier, span.get_span_context().span_id


def watch_span(spans: list[ReadableSpan]) -> ReadableSpan:
    (watch,) = named(spans, "WatchOrder")
    return watch


async def test_a_watch_of_an_order_placed_here_links_without_a_read() -> None:
    exporter = span_recorder()
    _, placed_span = placed_in_a_span("o-1")
    store = StoredTraces({})
    with tracer.start_as_current_span("WatchOrder"):
        await tracing.link_to_order(cast(OrderStore, store), "o-1")
    assert store.reads == []
    (link,) = watch_span(list(exporter.get_finished_spans())).links
    assert link.context.span_id == placed_span


async def test_a_watch_of_an_order_placed_elsewhere_reads_its_trace() -> None:
    exporter = span_recorder()
    with tracer.start_as_current_span("PlaceOrder elsewhere") as elsewhere:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
    store = StoredTraces({"o-2": carrier})
    with tracer.start_as_current_span("WatchOrder"):
        await tracing.link_to_order(cast(OrderStore, store), "o-2")
    assert store.reads == ["o-2"]
    (link,) = watch_span(list(exporter.get_finished_spans())).links
    assert link.context.span_id == elsewhere.get_span_context().span_id


def test_nothing_is_remembered_when_tracing_does_not_record() -> None:
    span_recorder()
    tracing.remember_placed("o-3", {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})
    assert "o-3" not in tracing._placed


def test_the_oldest_placement_is_forgotten_first(monkeypatch: pytest.MonkeyPatch) -> None:
    span_recorder()
    monkeypatch.setattr(tracing, "PLACED_REMEMBERED", 2)
    for order_id in ("o-a", "o-b", "o-c"):
        placed_in_a_span(order_id)
    assert list(tracing._placed) == ["o-b", "o-c"]
