"""PyMongo's command listener, as instrumented, traces ``AsyncMongoClient`` commands too, inside
a trace only: a command outside any (a background loop's) starts none."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.integration

# A fresh process, as a service starts: telemetry first, then the client, then the work.
RUN = """
import asyncio, sys
from opentelemetry import trace
from runtime.mongo import make_client
from runtime.telemetry import configure_telemetry

async def main(url: str, database: str) -> None:
    telemetry = configure_telemetry("orders")
    client = make_client(url)
    try:
        with trace.get_tracer("check").start_as_current_span("place order"):
            await client[database].orders.insert_one({"_id": "o-1"})
            await client[database].orders.find_one({"_id": "o-1"})
        await client.drop_database(database)
    finally:
        await client.close()
        telemetry.shutdown()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def printed_spans(stdout: str) -> list[dict[str, Any]]:
    """The console exporter prints one indented JSON object per span, back to back."""
    decoder, spans, at = json.JSONDecoder(), [], 0
    while (at := _skip_space(stdout, at)) < len(stdout):
        span, at = decoder.raw_decode(stdout, at)
        spans.append(span)
    return spans


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def test_async_client_commands_are_spans_of_the_current_trace(mongo_url: str) -> None:
    database = f"test_{uuid.uuid4().hex[:12]}"
    env = {"PATH": "/usr/bin:/bin", "OTEL_TRACES_EXPORTER": "console"}
    run = subprocess.run([sys.executable, "-c", RUN, mongo_url, database], env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    spans = {span["name"]: span for span in printed_spans(run.stdout)}
    parent = spans["place order"]
    for command in ("insert", "find"):
        span = spans[f"{database}.{command}"]
        assert span["kind"] == "SpanKind.CLIENT"
        assert span["context"]["trace_id"] == parent["context"]["trace_id"]
        assert span["parent_id"] == parent["context"]["span_id"]
        assert span["resource"]["attributes"]["service.name"] == "orders"
    # drop_database ran after the span ended: no trace of its own.
    assert f"{database}.dropDatabase" not in spans
    assert not [name for name in spans if name.endswith(".dropDatabase")]
