"""A small OTLP/gRPC trace receiver: what the services export to, in tests and in the bench.

It speaks the collector's ``TraceService`` from ``opentelemetry-proto`` (installed with the
OTLP exporter) on a free loopback port, in a thread of its own, and keeps every span it is
sent as a :class:`ReceivedSpan` (ids as lowercase hex, as in ``traceparent``). Point a
service at it with :meth:`OtlpReceiver.environment`::

    with OtlpReceiver() as receiver:
        running_stack(..., **receiver.environment())
        spans = receiver.wait_for(lambda spans: ..., within=30)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

KINDS = {trace_pb2.Span.SPAN_KIND_INTERNAL: "INTERNAL", trace_pb2.Span.SPAN_KIND_SERVER: "SERVER",
         trace_pb2.Span.SPAN_KIND_CLIENT: "CLIENT", trace_pb2.Span.SPAN_KIND_PRODUCER: "PRODUCER",
         trace_pb2.Span.SPAN_KIND_CONSUMER: "CONSUMER"}


@dataclass(frozen=True, slots=True)
class ReceivedSpan:
    service: str
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_id: str  # empty for a root span
    attributes: dict[str, Any]
    links: tuple[tuple[str, str], ...] = field(default=())  # (trace id, span id)
    error: bool = False


def _value(value: common_pb2.AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind in ("string_value", "bool_value", "int_value",
                                            "double_value") else str(value)


def _attributes(pairs: Sequence[common_pb2.KeyValue]) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, receiver: OtlpReceiver) -> None:
        self._receiver = receiver

    def Export(self, request: trace_service_pb2.ExportTraceServiceRequest,
               context: grpc.ServicerContext) -> trace_service_pb2.ExportTraceServiceResponse:
        if not self._receiver.keeps_spans:
            self._receiver.count(sum(len(scope_spans.spans)
                                     for resource_spans in request.resource_spans
                                     for scope_spans in resource_spans.scope_spans))
            return trace_service_pb2.ExportTraceServiceResponse()
        received: list[ReceivedSpan] = []
        for resource_spans in request.resource_spans:
            service = str(_attributes(resource_spans.resource.attributes).get("service.name", ""))
            for scope_spans in resource_spans.scope_spans:
                received.extend(_converted(service, span) for span in scope_spans.spans)
        self._receiver.add(received)
        return trace_service_pb2.ExportTraceServiceResponse()


def _converted(service: str, span: trace_pb2.Span) -> ReceivedSpan:
    return ReceivedSpan(
        service=service, name=span.name, kind=KINDS.get(span.kind, "UNSPECIFIED"),
        trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
        parent_id=span.parent_span_id.hex(), attributes=_attributes(span.attributes),
        links=tuple((link.trace_id.hex(), link.span_id.hex()) for link in span.links),
        error=span.status.code == trace_pb2.Status.STATUS_CODE_ERROR)


class OtlpReceiver:
    """A running receiver on ``127.0.0.1:<port>``; a context manager that stops it.

    ``keep_spans=False`` only counts what arrives (:attr:`received`): the bench's receiver
    shares the machine with the services it measures, and converting every span would take
    CPU from them.
    """

    def __init__(self, *, keep_spans: bool = True) -> None:
        self.keeps_spans = keep_spans
        self._received = 0
        self._spans: list[ReceivedSpan] = []
        self._changed = threading.Condition()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
            _TraceService(self), self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self, *, schedule_delay_ms: int = 200) -> dict[str, str]:
        """The ``OTEL_*`` variables that send every span (100 % sampling) here, soon."""
        return {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": self.endpoint,
                "OTEL_EXPORTER_OTLP_INSECURE": "true", "OTEL_TRACES_SAMPLER": "always_on",
                "OTEL_BSP_SCHEDULE_DELAY": str(schedule_delay_ms)}

    def add(self, spans: Sequence[ReceivedSpan]) -> None:
        with self._changed:
            self._spans.extend(spans)
            self._received += len(spans)
            self._changed.notify_all()

    def count(self, spans: int) -> None:
        with self._changed:
            self._received += spans

    @property
    def received(self) -> int:
        """How many spans arrived, kept or not."""
        with self._changed:
            return self._received

    @property
    def spans(self) -> list[ReceivedSpan]:
        with self._changed:
            return list(self._spans)

    def wait_for(self, condition: Callable[[list[ReceivedSpan]], bool], *,
                 within: float) -> list[ReceivedSpan]:
        """The spans received, once ``condition`` holds for them; ``TimeoutError`` if it does
        not within ``within`` seconds."""
        deadline = time.monotonic() + within
        with self._changed:
            while not condition(self._spans):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"spans received so far: "
                                       f"{sorted({(s.service, s.name) for s in self._spans})}")
                self._changed.wait(left)
            return list(self._spans)

    def close(self) -> None:
        self._server.stop(grace=1).wait()

    def __enter__(self) -> OtlpReceiver:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
