"""Tracing: off unless asked for, and one trace per call through the gRPC interceptors."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from contracts.bookstore.user.v1 import user_pb2, user_pb2_grpc
from runtime.channels import balanced_channel
from runtime.telemetry import (
    Telemetry,
    TelemetryError,
    configure_telemetry,
    exporter_names,
    not_health_check,
    service_resource,
    span_exporters,
)
from tests.spans import span_recorder
from tests.unit.runtime.fake_users import KNOWN_USER, SERVICE, serving


@pytest.fixture
def recorded() -> tuple[Telemetry, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Telemetry.for_provider(provider), exporter


async def call_get_user(telemetry: Telemetry, user_id: str) -> grpc.StatusCode:
    """One ``GetUser`` through the interceptors on both sides; the status it ended with."""
    async with serving(telemetry.server_interceptors) as address, balanced_channel(
            address, interceptors=telemetry.client_interceptors) as channel:
        stub = user_pb2_grpc.UserServiceStub(channel)
        try:
            await stub.GetUser(user_pb2.UserIDRequest(user_id=user_id), timeout=5)
        except grpc.aio.AioRpcError as exc:
            return exc.code()
        return grpc.StatusCode.OK


def spans_of(exporter: InMemorySpanExporter, kind: SpanKind) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.kind is kind]


async def test_a_call_is_one_trace_from_client_to_server(
        recorded: tuple[Telemetry, InMemorySpanExporter]) -> None:
    telemetry, exporter = recorded
    assert await call_get_user(telemetry, KNOWN_USER) is grpc.StatusCode.OK
    (client,) = spans_of(exporter, SpanKind.CLIENT)
    (server,) = spans_of(exporter, SpanKind.SERVER)
    assert client.context is not None
    assert server.context is not None
    assert server.context.trace_id == client.context.trace_id
    assert server.parent is not None
    assert server.parent.span_id == client.context.span_id
    assert server.name == f"/{SERVICE}/GetUser"


async def test_a_failed_call_records_its_status(
        recorded: tuple[Telemetry, InMemorySpanExporter]) -> None:
    telemetry, exporter = recorded
    assert await call_get_user(telemetry, "nobody") is grpc.StatusCode.NOT_FOUND
    (server,) = spans_of(exporter, SpanKind.SERVER)
    assert server.attributes is not None
    assert server.attributes["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]


async def test_channels_join_the_process_traces_without_wiring() -> None:
    """With a tracer provider installed (tracing on), a channel opened with no interceptors
    (orders to inventory) still makes client spans, and the server continues their trace."""
    spans = span_recorder()
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    server_side = Telemetry.for_provider(provider).server_interceptors
    async with serving(server_side) as address, balanced_channel(address) as channel:
        await user_pb2_grpc.UserServiceStub(channel).GetUser(
            user_pb2.UserIDRequest(user_id=KNOWN_USER), timeout=5)
    (client,) = spans_of(spans, SpanKind.CLIENT)
    (server,) = spans_of(spans, SpanKind.SERVER)
    assert server.parent is not None
    assert client.context is not None
    assert server.parent.span_id == client.context.span_id


def test_nothing_set_means_tracing_off(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    telemetry = configure_telemetry("user")
    assert not telemetry.enabled
    assert telemetry.server_interceptors == []
    assert telemetry.client_interceptors == []
    telemetry.shutdown()


@pytest.mark.parametrize(("env", "names"), [
    ({}, []),
    ({"OTEL_TRACES_EXPORTER": "none"}, []),
    ({"OTEL_TRACES_EXPORTER": "console"}, ["console"]),
    ({"OTEL_TRACES_EXPORTER": "otlp"}, ["otlp_proto_grpc"]),
    ({"OTEL_TRACES_EXPORTER": "otlp, console"}, ["otlp_proto_grpc", "console"]),
    ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, []),
])
def test_exporter_names(env: dict[str, str], names: list[str]) -> None:
    assert exporter_names(env) == names


def test_every_named_exporter_is_installed() -> None:
    exporters = span_exporters(["otlp_proto_grpc", "console"])
    assert [type(e).__name__ for e in exporters] == ["OTLPSpanExporter", "ConsoleSpanExporter"]
    for exporter in exporters:
        exporter.shutdown()


def test_an_unknown_exporter_is_refused_by_name() -> None:
    with pytest.raises(TelemetryError, match="'zipkin'"):
        span_exporters(["zipkin"])


def test_an_unsupported_otlp_protocol_is_refused() -> None:
    with pytest.raises(TelemetryError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
        exporter_names({"OTEL_TRACES_EXPORTER": "otlp",
                        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"})


def test_service_name_defaults_to_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert service_resource("orders").attributes["service.name"] == "orders"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "orders-eu")
    assert service_resource("orders").attributes["service.name"] == "orders-eu"


def test_health_checks_are_told_apart_on_both_sides() -> None:
    assert not not_health_check(SimpleNamespace(method="/grpc.health.v1.Health/Check"))
    assert not not_health_check(SimpleNamespace(method=b"/grpc.health.v1.Health/Watch"))
    assert not_health_check(SimpleNamespace(method="/bookstore.user.v1.UserService/GetUser"))
    assert not_health_check(SimpleNamespace(method=b"/bookstore.orders.v1.OrderService/Health"))


def test_the_resource_hashes_and_compares_as_the_sdk_s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    resource = service_resource("orders")
    plain = Resource(resource.attributes, resource.schema_url)
    assert hash(resource) == hash(plain)
    assert resource == plain
    assert {plain: "spans"}[resource] == "spans"  # the encoder's grouping finds it
    assert resource != Resource({**resource.attributes, "service.name": "inventory"})


CONSOLE_RUN = """
from opentelemetry import trace
from runtime.telemetry import configure_telemetry
telemetry = configure_telemetry("inventory")
with trace.get_tracer("check").start_as_current_span("work"):
    pass
telemetry.shutdown()
"""


def test_console_exporter_prints_spans_from_the_environment_alone() -> None:
    """A fresh process, as a service starts: the variables alone turn tracing on."""
    env = {"PATH": "/usr/bin:/bin", "OTEL_TRACES_EXPORTER": "console",
           "OTEL_TRACES_SAMPLER": "always_on"}
    run = subprocess.run([sys.executable, "-c", CONSOLE_RUN], env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    span = json.loads(run.stdout)
    assert span["name"] == "work"
    assert span["resource"]["attributes"]["service.name"] == "inventory"


def test_sampler_comes_from_the_environment() -> None:
    env = {"PATH": "/usr/bin:/bin", "OTEL_TRACES_EXPORTER": "console",
           "OTEL_TRACES_SAMPLER": "always_off"}
    run = subprocess.run([sys.executable, "-c", CONSOLE_RUN], env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    assert run.stdout.strip() == ""
