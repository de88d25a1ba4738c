"""Tracing set up once per process, from the standard ``OTEL_*`` variables only.

``OTEL_TRACES_EXPORTER`` chooses where spans go: ``otlp`` (gRPC, to
``OTEL_EXPORTER_OTLP_ENDPOINT``), ``console`` (stdout), a comma-separated list of those, or
``none``. Unset means ``none`` here, unlike the SDK's own default of ``otlp``: a service started
without any telemetry variables neither exports nor creates spans, no interceptor runs and no
batch thread starts, so tracing costs nothing until an operator asks for it (``OTEL_SDK_DISABLED
=true`` turns it off too). Everything else is read by the SDK piece it belongs to, not here:
the sampler (``OTEL_TRACES_SAMPLER``/``_ARG``) by ``TracerProvider``, the resource
(``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``) by ``Resource.create``, the endpoint,
headers, timeout and TLS (``OTEL_EXPORTER_OTLP_*``) by the exporter, the queue and delays
(``OTEL_BSP_*``) by ``BatchSpanProcessor``. Exporter names resolve through the
``opentelemetry_traces_exporter`` entry points, as the SDK's own configurator does.

Spans come from the official instrumentations at the seams: the gRPC server and client
interceptors (health checks left out) and PyMongo's command listener, which ``AsyncMongoClient``
calls as the synchronous client does. Call :func:`configure_telemetry` before the first MongoDB
client is made: PyMongo hands global listeners only to clients created after they register.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import grpc
from opentelemetry import trace
from opentelemetry.instrumentation.grpc import aio_client_interceptors, aio_server_interceptor
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

log = logging.getLogger(__name__)

_EXPORTER_GROUP = "opentelemetry_traces_exporter"
# "otlp" is the protocol's name; the installed exporter speaks it over gRPC.
_OTLP_BY_PROTOCOL = {"grpc": "otlp_proto_grpc"}
_HEALTH = "/grpc.health.v1.Health/"


class TelemetryError(ValueError):
    """An ``OTEL_*`` variable names something this build cannot do."""


def exporter_names(env: dict[str, str] | None = None) -> list[str]:
    """The trace exporters ``OTEL_TRACES_EXPORTER`` asks for; none when unset or ``none``."""
    env = dict(os.environ) if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",")]
    names = [n for n in names if n and n != "none"]
    return [_entry_point_name(name, env) for name in names]


def _entry_point_name(name: str, env: dict[str, str]) -> str:
    if name != "otlp":
        return name
    protocol = (env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "grpc").strip()
    if protocol not in _OTLP_BY_PROTOCOL:
        raise TelemetryError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported: this build exports "
            "OTLP over gRPC only (unset it or use 'grpc')")
    return _OTLP_BY_PROTOCOL[protocol]


def span_exporters(names: Sequence[str]) -> list[SpanExporter]:
    """An exporter per name, each configured by its own ``OTEL_*`` variables."""
    exporters: list[SpanExporter] = []
    for name in names:
        found = entry_points(group=_EXPORTER_GROUP, name=name)
        if not found:
            known = sorted({"otlp", "console", "none", *entry_points(group=_EXPORTER_GROUP).names})
            raise TelemetryError(
                f"OTEL_TRACES_EXPORTER names {name!r}, which is not installed; "
                f"use one of {', '.join(known)}")
        exporter_class = next(iter(found)).load()
        exporters.append(exporter_class())
    return exporters


class _HashedResource(Resource):
    """A resource whose hash is computed once: the OTLP encoder groups every exported span
    by its resource, and ``Resource.__hash__`` serialises all attributes to JSON each time."""

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource.attributes, resource.schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash


def service_resource(service_name: str) -> Resource:
    """The SDK's resource from the environment; ``service_name`` unless ``OTEL_SERVICE_NAME``
    (or ``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES``) names the service."""
    named = SERVICE_NAME in OTELResourceDetector().detect().attributes
    return _HashedResource(Resource.create({} if named else {SERVICE_NAME: service_name}))


def not_health_check(details: Any) -> bool:
    """Whether a call (server or client side) is anything but a gRPC health check: those
    make no spans. A prefix test, run for every call; the instrumentation's own
    ``negate(health_check())`` parses the method name with ``os.path`` each time."""
    method = details.method
    if isinstance(method, bytes):  # grpc.aio hands clients the method as bytes
        method = method.decode()
    return not str(method).startswith(_HEALTH)


@dataclass
class Telemetry:
    """What a service wires in: interceptors for its server and its outgoing channels.

    Without a tracer provider (tracing off) both lists are empty, so no call pays for tracing.
    """

    tracer_provider: TracerProvider | None = None
    server_interceptors: list[grpc.aio.ServerInterceptor] = field(  # type: ignore[type-arg]
        default_factory=list)
    client_interceptors: list[grpc.aio.ClientInterceptor] = field(default_factory=list)

    @classmethod
    def for_provider(cls, provider: TracerProvider) -> Telemetry:
        """gRPC interceptors that record into ``provider``; health checks make no spans."""
        # The instrumentation ships without type hints.
        server: Any = aio_server_interceptor(  # type: ignore[no-untyped-call]
            tracer_provider=provider, filter_=not_health_check)
        clients: Any = aio_client_interceptors(  # type: ignore[no-untyped-call]
            tracer_provider=provider, filter_=not_health_check)
        return cls(provider, [server], list(clients))

    @property
    def enabled(self) -> bool:
        return self.tracer_provider is not None

    def shutdown(self) -> None:
        """Export what is still queued and stop the exporters' threads."""
        if self.tracer_provider is None:
            return
        PymongoInstrumentor().uninstrument()
        self.tracer_provider.shutdown()


def start_tracing(service_name: str, processors: Sequence[SpanProcessor]) -> Telemetry:
    """Make a tracer provider with ``processors`` the process's own, and instrument PyMongo.

    MongoDB commands are traced only inside a trace (serving a call, handling or publishing an
    event): PyMongo's spans come from a provider of their own that shares the processors but
    never starts a trace (``ParentBased`` on ``ALWAYS_OFF``). The background loops' commands
    (change-stream polls, relay claims, sweeps, health pings) would otherwise be a root trace
    each, many a second, burying the orders' traces and costing a span apiece.
    """
    resource = service_resource(service_name)
    provider = TracerProvider(resource=resource)
    commands = TracerProvider(resource=resource, sampler=ParentBased(ALWAYS_OFF))
    for processor in processors:
        provider.add_span_processor(processor)
        commands.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    PymongoInstrumentor().instrument(tracer_provider=commands)
    return Telemetry.for_provider(provider)


def process_client_interceptors() -> list[grpc.aio.ClientInterceptor]:
    """Client interceptors recording into the process's tracer provider; none with tracing off.

    What :func:`runtime.channels.balanced_channel` uses unless given its own, so every channel
    a service opens (orders to inventory) joins its traces without wiring per call site.
    """
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        return []
    return Telemetry.for_provider(provider).client_interceptors


def configure_telemetry(service_name: str) -> Telemetry:
    """Tracing as the ``OTEL_*`` variables ask; off (and free) when they ask for no exporter.

    Raises :class:`TelemetryError` at start for an exporter or protocol that cannot work.
    """
    names = exporter_names()
    if not names:
        return Telemetry()
    exporters = span_exporters(names)
    telemetry = start_tracing(service_name, [BatchSpanProcessor(e) for e in exporters])
    log.info("tracing on", extra={"exporters": names})
    return telemetry
