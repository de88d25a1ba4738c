"""What an order is, apart from how it is stored or sent: plain frozen values."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from orders.lifecycle import Status


def utc_now() -> datetime:
    """Now, cut to the millisecond MongoDB keeps, so a stored time reads back unchanged."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_order_id() -> str:
    return uuid.uuid4().hex


def request_fingerprint(lines: Iterable[tuple[str, int]], payment_token: str) -> str:
    """A digest of what an order asks for: the same books and quantities (in any order) paid
    with the same token give the same digest, so a retried request can be told from another
    request that reuses its idempotency key."""
    canonical = json.dumps([sorted(lines), payment_token], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def keyed_order_id(user_id: str, idempotency_key: str) -> str:
    """The id of the order ``user_id`` places with ``idempotency_key``: the same every time,
    so a repeated request finds its order by ``_id``, and two racing ones collide on it."""
    digest = hashlib.sha256(f"{user_id}\n{idempotency_key}".encode()).hexdigest()
    return digest[:32]


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One book in an order, with the title and price snapshotted when it was placed."""

    book_id: str
    title: str
    quantity: int
    unit_price_cents: int
    rejection_reason: str = ""

    @property
    def line_total_cents(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass(frozen=True, slots=True)
class StatusChange:
    status: Status
    at: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    user_id: str
    status: Status
    lines: tuple[OrderLine, ...]
    total_cents: int
    created_at: datetime
    updated_at: datetime
    history: tuple[StatusChange, ...] = ()
    reason: str = ""
    payment_reference: str = ""
    payment_token: str = field(default="", repr=False)
    idempotency_key: str | None = None
    request_fingerprint: str = ""  # of what was asked, to tell a retry from a reused key

    @property
    def version(self) -> int:
        """Grows by one with every transition: tells a watcher whether it has seen a state."""
        return len(self.history)


def new_order(
    *, user_id: str, lines: tuple[OrderLine, ...], payment_token: str,
    idempotency_key: str | None, now: datetime | None = None, fingerprint: str = "",
) -> Order:
    at = now or utc_now()
    return Order(
        id=new_order_id() if idempotency_key is None else keyed_order_id(user_id, idempotency_key),
        user_id=user_id, status=Status.PENDING, lines=lines,
        total_cents=sum(line.line_total_cents for line in lines), created_at=at, updated_at=at,
        history=(StatusChange(Status.PENDING, at, "placed"),), payment_token=payment_token,
        idempotency_key=idempotency_key, request_fingerprint=fingerprint,
    )
