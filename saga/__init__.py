"""A messaging library: transactional outbox, relay, idempotent consuming, pluggable transports.

It knows no service and no event of its own: a service hands it an :class:`EventRegistry`
and a :class:`Subscriptions` table. See ``saga/README.md`` for the API and its guarantees.
"""

from saga._dispatch import PROCESSED
from saga._envelope import Delivery, Envelope, Topology
from saga._memory import DeadLetter, InMemoryBroker, InMemoryTransport
from saga._rabbitmq import RabbitTransport
from saga._registry import EventMeta, EventRegistry
from saga._relay import Relay
from saga._runner import Outbox
from saga._store import OutboxState, OutboxStore
from saga._subscriptions import Handler, Subscription, Subscriptions
from saga._transport import Disposition, Publisher, Transport, Verdict
from saga.errors import InvalidEvent, PoisonMessage, PublishFailed, SagaError, UndecodableMessage
from saga.observer import NO_OBSERVER, Consumed, NoObserver, SagaObserver
from saga.operations import DeadLetterRecord, FailedEvent, SagaOperations
from saga.participant import SagaParticipant
from saga.retry import Backoff
from saga.unit_of_work import UnitOfWork, in_transaction

__all__ = [
    "NO_OBSERVER",
    "PROCESSED",
    "Backoff",
    "Consumed",
    "DeadLetter",
    "DeadLetterRecord",
    "Delivery",
    "Disposition",
    "Envelope",
    "EventMeta",
    "EventRegistry",
    "FailedEvent",
    "Handler",
    "InMemoryBroker",
    "InMemoryTransport",
    "InvalidEvent",
    "NoObserver",
    "Outbox",
    "OutboxState",
    "OutboxStore",
    "PoisonMessage",
    "PublishFailed",
    "Publisher",
    "RabbitTransport",
    "Relay",
    "SagaError",
    "SagaObserver",
    "SagaOperations",
    "SagaParticipant",
    "Subscription",
    "Subscriptions",
    "Topology",
    "Transport",
    "UndecodableMessage",
    "UnitOfWork",
    "Verdict",
    "in_transaction",
]
