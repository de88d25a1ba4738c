"""The OTLP receiver the bench counts spans with: counting only keeps nothing, misses nothing."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.otlp_receiver import OtlpReceiver


def export_spans(receiver: OtlpReceiver, names: list[str]) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=receiver.endpoint, insecure=True, timeout=10)))
    tracer = provider.get_tracer("test")
    for name in names:
        tracer.start_span(name).end()
    provider.shutdown()


def test_a_counting_receiver_counts_every_span_and_keeps_none() -> None:
    with OtlpReceiver(keep_spans=False) as receiver:
        export_spans(receiver, ["a", "b", "c"])
        assert receiver.received == 3
        assert receiver.spans == []


def test_a_keeping_receiver_counts_what_it_keeps() -> None:
    with OtlpReceiver() as receiver:
        export_spans(receiver, ["a", "b"])
        assert receiver.received == 2
        assert sorted(span.name for span in receiver.spans) == ["a", "b"]
