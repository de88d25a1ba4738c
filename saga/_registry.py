"""The events a service exchanges, and where saga finds each one's id, time and correlation.

Saga knows no event of its own: a service builds an :class:`EventRegistry` of its protobuf
event types (those it emits and those it consumes) and says where their metadata lives. The
name an event travels under is its protobuf message name (``OrderPlaced``): the routing key
and the AMQP ``type``, so a consumer decodes a body without guessing. A service may also give
a validator per event type: what protobuf decodes is not yet a valid event (an empty id, no
lines), and the dispatcher dead-letters what a validator refuses before any handler runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp


class EventMeta(Protocol):
    """The metadata message an event carries: a unique id and when it happened."""

    event_id: str

    @property
    def occurred_at(self) -> Timestamp: ...

    def HasField(self, field_name: str) -> bool: ...  # noqa: N802 - protobuf's own name


def _meta_field(event: Message) -> EventMeta:
    meta: EventMeta = event.meta  # type: ignore[attr-defined]
    return meta


def _no_correlation(event: Message) -> str:
    return ""


def _no_attributes(event: Message) -> Mapping[str, str]:
    return {}


Validator = Callable[[Any], "str | None"]
"""Why an event is invalid, or ``None`` if it is valid."""


class EventRegistry:
    """The event types a service knows, by name, and how to read their metadata.

    ``meta`` returns the event's metadata message (by default its ``meta`` field: an
    ``event_id`` string and an ``occurred_at`` timestamp); ``correlation_id`` names the
    business process the event belongs to (an order id, say): it travels as the AMQP
    ``correlation_id`` and is stored with the outbox record. ``validators`` maps an event type
    to a function naming what is wrong with an event of it (``None``: nothing).
    ``span_attributes`` adds attributes to the spans about an event (``{"order.id": ...}``),
    and to the dispatcher's log lines (as ``order_id``).
    """

    def __init__(
        self,
        types: Iterable[type[Message]],
        *,
        correlation_id: Callable[[Any], str] = _no_correlation,
        meta: Callable[[Any], EventMeta] = _meta_field,
        validators: Mapping[type[Message], Validator] | None = None,
        span_attributes: Callable[[Any], Mapping[str, str]] = _no_attributes,
    ) -> None:
        self._types = {t.DESCRIPTOR.name: t for t in types}
        self._correlation = correlation_id
        self._attributes = span_attributes
        self._meta = meta
        self._validators = dict(validators or {})
        unknown = [t.__qualname__ for t in self._validators if t not in self._types.values()]
        if unknown:
            raise ValueError(f"validators for unregistered events: {', '.join(unknown)}")
        self.open = not self._types

    @classmethod
    def any_event(cls, *, correlation_id: Callable[[Any], str] = _no_correlation
                  ) -> EventRegistry:
        """A registry that takes any message with a ``meta`` field (for services that have
        not listed their events: nothing is checked at emit time)."""
        return cls((), correlation_id=correlation_id)

    @property
    def names(self) -> list[str]:
        return sorted(self._types)

    def type_of(self, name: str) -> type[Message] | None:
        return self._types.get(name)

    def name_of(self, event: Message) -> str:
        """The name ``event`` travels under; ``KeyError`` for a message that is no event here."""
        name: str = event.DESCRIPTOR.name
        if not self.open and self._types.get(name) is not type(event):
            raise KeyError(f"{type(event).__qualname__} is not a registered event")
        return name

    def correlation_id(self, event: Message) -> str:
        return str(self._correlation(event))

    def attributes(self, event: Message) -> Mapping[str, str]:
        """What the service adds to the spans about ``event``."""
        return self._attributes(event)

    def stamp(self, event: Message) -> tuple[str, datetime]:
        """The event's id and time, filling either in first if the emitter left it empty."""
        meta = self._meta(event)
        if not meta.event_id:
            meta.event_id = uuid.uuid4().hex
        if not meta.HasField("occurred_at"):
            meta.occurred_at.FromDatetime(datetime.now(UTC))
        return meta.event_id, meta.occurred_at.ToDatetime(tzinfo=UTC)

    def event_id(self, event: Message) -> str:
        return self._meta(event).event_id

    def problem(self, event: Message) -> str | None:
        """What is wrong with ``event`` by its type's validator; ``None`` if nothing (or no
        validator)."""
        validator = self._validators.get(type(event))
        return None if validator is None else validator(event)
