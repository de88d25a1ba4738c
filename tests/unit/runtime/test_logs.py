"""JSON log lines carry the trace and span they were written in."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from grpc import StatusCode
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from runtime.logs import configure_logging
from runtime.telemetry import Telemetry
from tests.unit.runtime.fake_users import KNOWN_USER
from tests.unit.runtime.test_telemetry import call_get_user


class Lines:
    """What the configured handler wrote, one parsed JSON object a line."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def written(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.buffer.getvalue().splitlines()]


@pytest.fixture
def lines() -> Iterator[Lines]:
    """``configure_logging``'s handler, writing to a buffer; the root logger restored after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("orders")
    captured = Lines()
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(captured.buffer)
    try:
        yield captured
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_a_line_inside_a_span_carries_its_ids(
        lines: Lines) -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("settle") as span:
        logging.getLogger("orders.test").info("order settled", extra={"order_id": "o-1"})
    (line,) = lines.written()
    context = span.get_span_context()
    assert line["trace_id"] == f"{context.trace_id:032x}"
    assert line["span_id"] == f"{context.span_id:016x}"
    assert line["order_id"] == "o-1"
    assert (line["service"], line["message"]) == ("orders", "order settled")


def test_a_line_outside_any_span_has_no_ids(
        lines: Lines) -> None:
    logging.getLogger("orders.test").info("starting")
    (line,) = lines.written()
    assert "trace_id" not in line
    assert "span_id" not in line


async def test_a_handler_logs_in_the_server_span_of_its_call(
        lines: Lines) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    assert await call_get_user(Telemetry.for_provider(provider), KNOWN_USER) is StatusCode.OK
    (server,) = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    (line,) = [x for x in lines.written() if x["message"] == "looking up a user"]
    assert server.context is not None
    assert line["trace_id"] == f"{server.context.trace_id:032x}"
    assert line["span_id"] == f"{server.context.span_id:016x}"
