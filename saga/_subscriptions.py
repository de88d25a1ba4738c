"""A service's subscriptions: which handler takes which event type, typed for mypy.

::

    subscriptions = (Subscriptions()
                     .on(ev.StockRejected, handlers.on_stock_rejected)
                     .on(ev.StockReserved, handlers.settle, outside=handlers.charge))

A handler is ``async def on_x(event: X, uow: UnitOfWork) -> None`` and runs in the
consumer's transaction. With ``outside=``, the subscription has two phases: ``outside(event)``
runs first with *no* transaction open (a payment, a call to another service: it must be
idempotent, as it may run again for a redelivery), and what it returns is handed to the
transactional phase, ``handler(event, result, uow)``. The dispatcher decodes each delivery as
the type named here.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from google.protobuf.message import Message

from saga.unit_of_work import UnitOfWork

E = TypeVar("E", bound=Message)
R = TypeVar("R")

Handler = Callable[[Any, UnitOfWork], Awaitable[None]]
Outside = Callable[[Any], Awaitable[Any]]
Settle = Callable[[Any, Any, UnitOfWork], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Subscription:
    """One event type's reaction: an optional outside phase, then the transactional one."""

    event_type: type[Message]
    settle: Settle
    outside: Outside | None = None


class Subscriptions:
    """The table of event types a service consumes and how it reacts to each."""

    def __init__(self) -> None:
        self._by_name: dict[str, Subscription] = {}

    @classmethod
    def of(cls, table: Mapping[type[Message], Handler] | Subscriptions | None) -> Subscriptions:
        """Subscriptions from a plain ``{EventType: handler}`` table (or as given)."""
        if isinstance(table, Subscriptions):
            return table
        subscriptions = cls()
        for event_type, handler in (table or {}).items():
            subscriptions.on(event_type, handler)
        return subscriptions

    @overload
    def on(self, event_type: type[E],
           handler: Callable[[E, UnitOfWork], Awaitable[None]]) -> Subscriptions: ...

    @overload
    def on(self, event_type: type[E], handler: Callable[[E, R, UnitOfWork], Awaitable[None]],
           *, outside: Callable[[E], Awaitable[R]]) -> Subscriptions: ...

    def on(self, event_type: type[Message], handler: Callable[..., Awaitable[None]],
           *, outside: Outside | None = None) -> Subscriptions:
        """Handle ``event_type`` with ``handler`` (after ``outside``, if given); chainable."""
        name = event_type.DESCRIPTOR.name
        if name in self._by_name:
            raise ValueError(f"{name} already has a handler")
        if outside is None:
            two_phase: Settle = _in_transaction_only(handler)
        else:
            two_phase = handler
        self._by_name[name] = Subscription(event_type, two_phase, outside)
        return self

    def get(self, name: str) -> Subscription | None:
        return self._by_name.get(name)

    @property
    def types(self) -> dict[str, type[Message]]:
        """Event types by the name they travel under: what the dispatcher decodes."""
        return {name: s.event_type for name, s in self._by_name.items()}

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)

    def __iter__(self) -> Iterator[Subscription]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def __bool__(self) -> bool:
        return bool(self._by_name)


def _in_transaction_only(handler: Callable[..., Awaitable[None]]) -> Settle:
    @functools.wraps(handler)  # its spans and logs name the handler, not this adapter
    async def settle(event: Any, _: Any, uow: UnitOfWork) -> None:
        await handler(event, uow)

    return settle
