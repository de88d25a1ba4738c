"""What a handler (or an RPC) works with: one MongoDB transaction and the events it causes."""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.message import Message
from pymongo.asynchronous.client_session import AsyncClientSession

from saga._locks import HeldLocks
from saga.events import ensure_meta, event_name


class UnitOfWork:
    """One attempt at a transaction; a retried transaction gets a fresh one.

    Pass ``session=uow.session`` to every PyMongo call so the writes commit (or vanish)
    together with the events given to :meth:`emit`.
    """

    def __init__(self, session: AsyncClientSession, locks: HeldLocks) -> None:
        self.session = session
        self._locks = locks
        self._events: list[Message] = []

    async def take_turns(self, keys: Iterable[str]) -> None:
        """Until this transaction ends, let no other unit of work in this process that named
        any of ``keys`` run beside it. Call it before writing documents that others write
        often (stock counters): it spares both transactions a write conflict and a retry."""
        await self._locks.take(keys)

    def emit(self, event: Message) -> None:
        """Store ``event`` in the outbox with this transaction; fills ``event.meta`` if empty."""
        event_name(event)  # fail here, in the caller's code, for a message that is no event
        ensure_meta(event)
        self._events.append(event)

    @property
    def events(self) -> tuple[Message, ...]:
        return tuple(self._events)
