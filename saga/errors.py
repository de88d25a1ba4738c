"""What a handler may raise to steer a message, and what the saga package raises itself.

    SagaError
    ├── PoisonMessage         never retried: the message goes to the dead-letter queue now
    │   ├── UndecodableMessage  unknown type, wrong content type, bad body, or no message id
    │   └── InvalidEvent        decodes, but its registry's validator refuses it
    └── PublishFailed         the broker did not confirm a message (the relay retries it)

Any other exception from a handler counts as transient: retried with backoff, and
dead-lettered once ``max_attempts`` is spent.
"""

from __future__ import annotations


class SagaError(Exception):
    """Base of the errors this package defines."""


class PoisonMessage(SagaError):  # noqa: N818 - names the message, as handlers raise it
    """Raised by a handler for a message that can never succeed; it is dead-lettered at once."""


class UndecodableMessage(PoisonMessage):
    """The delivery cannot be turned into a known event."""


class InvalidEvent(PoisonMessage):
    """The delivery decodes, but is no valid event (an empty id, no lines, ...): it is
    dead-lettered before any handler or dedup mark sees it."""


class PublishFailed(SagaError):  # noqa: N818 - reads as the event it reports
    """The broker refused, or did not confirm in time, a message the relay sent."""
