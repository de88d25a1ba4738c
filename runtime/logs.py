"""Structured logging: one JSON object per line, tagged with the service's name.

A line written inside a span carries its ``trace_id`` and ``span_id`` (lowercase hex, as in
W3C ``traceparent``), so a trace in the tracing backend and the lines it wrote find each other.
Other context, such as ``order_id``, comes with the call's ``extra``.
"""

from __future__ import annotations

import logging
import sys

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter


class _ServiceTag(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        return True


class TraceContext(logging.Filter):
    """Adds the current span's ids to a record; a record outside any span gets none."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = trace.format_trace_id(context.trace_id)
            record.span_id = trace.format_span_id(context.span_id)
        return True


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    """Send every log record to stderr as JSON (or plain text for people at a terminal)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ServiceTag(service))
    handler.addFilter(TraceContext())
    if fmt == "json":
        handler.setFormatter(JsonFormatter(
            "{asctime}{levelname}{service}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        ))
    else:
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)-7s %(service)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aio-pika and pymongo are chatty at INFO; their warnings still come through.
    for noisy in ("aio_pika", "aiormq", "pymongo"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # aiormq logs each failed connection attempt as an error; aio_pika's own reconnect warning
    # and the entry point's start-up message already say it, with the URL's password masked.
    logging.getLogger("aiormq.connection").setLevel(logging.CRITICAL)
