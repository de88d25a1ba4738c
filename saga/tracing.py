"""One business process, one trace: the trace context crosses the outbox and the broker.

    request/handler span ─▶ outbox record ``trace`` ─▶ relay: ``publish <Event>`` (PRODUCER)
        ─▶ message header ``traceparent`` ─▶ consumer: ``process <Event>`` (CONSUMER)
        ─▶ handler spans (``outside`` phase, then the transaction) ─▶ the events they emit ...

A unit of work stores the context active when it runs (the gRPC call's span, or the handler's)
with each event it emits, as W3C ``traceparent``/``tracestate`` (:func:`carrier`). The relay
may publish it seconds later from another task, or from another instance after a crash; its
publish span is a child of that stored context, not of whatever the relay was doing, and the
message carries the publish span's context. The consumer continues the trace from the header.

Only the OpenTelemetry API is used: without a configured SDK every span is the API's no-op
span, which still hands an incoming context on (so a trace survives a hop through a process
that records nothing) and costs next to nothing. Spans follow the messaging conventions
(``messaging.system``, ``messaging.destination.name``, ``messaging.operation.type``/``name``,
``messaging.message.id``, ``messaging.message.conversation_id`` for the correlation id); the
span name uses the event name (the routing key) as destination, so each event type reads on
its own. A service adds attributes per event through its registry (``order.id``, say).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from google.protobuf.message import DecodeError, Message
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, StatusCode

from saga._envelope import Delivery, Envelope
from saga._registry import EventRegistry
from saga._transport import Disposition, OnDelivery, Verdict

log = logging.getLogger(__name__)

_tracer = trace.get_tracer("saga")

SYSTEM = "rabbitmq"  # the topology is RabbitMQ's, whichever transport carries it
EVENT_ID = "event.id"


def carrier() -> dict[str, str]:
    """The active trace context as W3C headers; empty outside any trace."""
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


def log_fields(registry: EventRegistry, event: Message) -> dict[str, str]:
    """The event's span attributes as log fields: ``order.id`` becomes ``order_id``."""
    return {key.replace(".", "_"): value for key, value in registry.attributes(event).items()}


@dataclass(frozen=True, slots=True)
class MessagingTracing:
    """Spans for one service's messaging: publishing from its outbox, consuming its queue."""

    registry: EventRegistry
    destination: str = ""  # the events exchange
    subscription: str = ""  # the service's queue

    def start_publish(self, envelopes: Sequence[Envelope]
                      ) -> tuple[list[Envelope], list[Span]]:
        """A PRODUCER span per envelope, child of the context stored with its event, and the
        envelopes again with that span's ``traceparent`` in their headers."""
        sent: list[Envelope] = []
        spans: list[Span] = []
        for envelope in envelopes:
            stored = propagate.extract(envelope.headers)
            span = _tracer.start_span(f"publish {envelope.routing_key}", context=stored,
                                      kind=SpanKind.PRODUCER)
            if span.is_recording():
                span.set_attributes(self._publish_attributes(envelope))
            headers = dict(envelope.headers)
            propagate.inject(headers, context=trace.set_span_in_context(span, stored))
            sent.append(replace(envelope, headers=headers))
            spans.append(span)
        return sent, spans

    def end_publish(self, envelopes: Sequence[Envelope], spans: Sequence[Span],
                    results: Sequence[BaseException | None]) -> None:
        """End each publish span once the broker answered, as an error if it refused."""
        for envelope, span, error in zip(envelopes, spans, results, strict=True):
            if error is not None:
                with trace.use_span(span, end_on_exit=False):
                    log.info("event not confirmed by the broker",
                                extra={"event_id": envelope.message_id,
                                       "event": envelope.routing_key,
                                       "correlation_id": envelope.correlation_id,
                                       "error": repr(error)})
                span.record_exception(error)
                span.set_status(StatusCode.ERROR, str(error) or type(error).__name__)
            span.end()

    def consumer(self, on_delivery: OnDelivery) -> OnDelivery:
        """``on_delivery`` inside a CONSUMER span continuing the message's trace."""
        async def traced(delivery: Delivery) -> Verdict:
            with self._processing(delivery) as span:
                verdict = await on_delivery(delivery)
                if span.is_recording():
                    span.set_attribute("saga.outcome", verdict.disposition.value)
                    if verdict.duplicate:
                        span.set_attribute("saga.duplicate", True)
                    if verdict.disposition is Disposition.DEAD_LETTER:
                        span.set_status(StatusCode.ERROR, verdict.error)
                return verdict

        return traced

    @contextlib.contextmanager
    def _processing(self, delivery: Delivery) -> Iterator[Span]:
        name = delivery.type or delivery.routing_key
        with _tracer.start_as_current_span(
                f"process {name}", context=propagate.extract(delivery.headers),
                kind=SpanKind.CONSUMER) as span:
            if span.is_recording():
                span.set_attributes(self._common(name, delivery.message_id or "",
                                                 delivery.correlation_id or "", "process"))
                span.set_attribute("messaging.operation.type", "process")
                span.set_attributes(self._event_attributes(name, delivery.body))
                if self.subscription:
                    span.set_attribute("messaging.destination.subscription.name",
                                       self.subscription)
            yield span

    def _publish_attributes(self, envelope: Envelope) -> dict[str, Any]:
        attributes = self._common(envelope.routing_key, envelope.message_id,
                                  envelope.correlation_id, "publish")
        attributes["messaging.operation.type"] = "send"
        attributes.update(self._event_attributes(envelope.routing_key, envelope.body))
        return attributes

    def _event_attributes(self, name: str, body: bytes) -> Mapping[str, str]:
        """The service's attributes for the event in ``body`` (decoded again: only for a span
        that records); none for a body that is not a known event."""
        event_type = self.registry.type_of(name)
        if event_type is None:
            return {}
        event = event_type()
        try:
            event.ParseFromString(body)
        except DecodeError:
            return {}
        return self.registry.attributes(event)

    def _common(self, name: str, message_id: str, correlation_id: str, operation: str
                ) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "messaging.system": SYSTEM,
            "messaging.operation.name": operation,
            "messaging.destination.name": self.destination,
            "messaging.rabbitmq.destination.routing_key": name,
            "messaging.message.id": message_id,
            EVENT_ID: message_id,
        }
        if correlation_id:
            attributes["messaging.message.conversation_id"] = correlation_id
        return attributes


@contextlib.contextmanager
def handler_span(registry: EventRegistry, handler: Callable[..., Any], phase: str,
                 event: Message, event_id: str | None) -> Iterator[None]:
    """A span around one run of a handler's ``phase`` (``outside`` or ``transaction``),
    named for the handler (``OrderHandlers.settle``)."""
    name = str(getattr(handler, "__qualname__", "") or "handler")
    with _tracer.start_as_current_span(name) as span:
        if span.is_recording():
            span.set_attributes({"saga.phase": phase, EVENT_ID: event_id or "",
                                 **registry.attributes(event)})
        yield

