"""What a handler (or an RPC) works with: one MongoDB transaction and the events it causes."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from google.protobuf.message import Message
from pymongo.asynchronous.client_session import AsyncClientSession

from saga._envelope import current_trace
from saga._locks import HeldLocks
from saga._registry import EventRegistry
from saga.tracing import carrier

_open: contextvars.ContextVar[bool] = contextvars.ContextVar("saga_in_transaction",
                                                              default=False)


_current: contextvars.ContextVar[UnitOfWork | None] = contextvars.ContextVar(
    "saga_unit_of_work", default=None)


def current_unit_of_work() -> UnitOfWork | None:
    """The unit of work this task runs in, if any: for code that is handed only its session
    (a store) and has something to do once it commits (:meth:`UnitOfWork.after_commit`)."""
    return _current.get()


def in_transaction() -> bool:
    """Whether this task runs inside a unit of work's transaction: code that calls anything
    but MongoDB (a payment gateway, another service) can assert it does not."""
    return _open.get()


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an event was caused: the propagated headers and the trace context (W3C) it is
    stored with. By default the unit of work's own; a unit of work that commits the work of
    several requests at once gives each event its request's (:meth:`here`, taken there)."""

    headers: Mapping[str, str] = field(default_factory=dict)
    trace: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def here(cls) -> Origin:
        return cls(dict(current_trace()), carrier())


class UnitOfWork:
    """One attempt at a transaction; a retried transaction gets a fresh one.

    Pass ``session=uow.session`` to every PyMongo call so the writes commit (or vanish)
    together with the events given to :meth:`emit`.
    """

    def __init__(self, session: AsyncClientSession, locks: HeldLocks,
                 registry: EventRegistry) -> None:
        self.session = session
        self._locks = locks
        self._registry = registry
        self._events: list[Message] = []
        self._origins: list[Origin | None] = []
        self._after_commit: list[Callable[[], None]] = []

    async def take_turns(self, keys: Iterable[str]) -> None:
        """Until this transaction ends, let no other unit of work in this process that named
        any of ``keys`` run beside it. Call it before writing documents that others write
        often (stock counters): it spares both transactions a write conflict and a retry."""
        await self._locks.take(keys)

    def emit(self, event: Message, *, origin: Origin | None = None) -> None:
        """Store ``event`` in the outbox with this transaction; fills its id and time if empty.
        ``origin``: where it was caused, if not where this unit of work runs."""
        self._registry.name_of(event)  # fail here, in the caller's code, for a non-event
        self._registry.stamp(event)
        self._events.append(event)
        self._origins.append(origin)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once this transaction has committed, never for an attempt that
        was rolled back or retried: a metric recorded here counts a change exactly once."""
        self._after_commit.append(callback)

    @property
    def events(self) -> tuple[Message, ...]:
        return tuple(self._events)

    @property
    def origins(self) -> tuple[Origin | None, ...]:
        """Each emitted event's own origin, ``None`` for this unit of work's."""
        return tuple(self._origins)

    @property
    def commit_callbacks(self) -> tuple[Callable[[], None], ...]:
        return tuple(self._after_commit)
