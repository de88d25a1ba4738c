"""Messaging shared by every service: events, outbox, publishing and idempotent consuming."""

from saga._dispatch import Handler, Subscriptions
from saga._retry import Backoff
from saga.errors import PoisonMessage, PublishFailed, SagaError, UndecodableMessage
from saga.events import EVENT_TYPES, event_name, new_meta
from saga.outbox import Outbox, OutboxState
from saga.participant import SagaParticipant
from saga.unit_of_work import UnitOfWork

__all__ = [
    "EVENT_TYPES",
    "Backoff",
    "Handler",
    "Outbox",
    "OutboxState",
    "PoisonMessage",
    "PublishFailed",
    "SagaError",
    "SagaParticipant",
    "Subscriptions",
    "UndecodableMessage",
    "UnitOfWork",
    "event_name",
    "new_meta",
]
