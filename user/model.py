"""The account as the service's logic sees it, apart from how MongoDB stores it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from runtime.auth import Role

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Now in UTC, cut to milliseconds: what MongoDB keeps, so a value reads back unchanged."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: str  # the ObjectId as 24 hex digits
    name: str
    email: str  # normalized: trimmed, lower-case
    role: Role
    created_at: datetime
    updated_at: datetime
    password_hash: str = field(repr=False)  # kept out of repr so it cannot reach a log


@dataclass(frozen=True, slots=True)
class ResetTicket:
    """A stored reset token: only the SHA-256 of the token the user was mailed."""

    id: str
    user_id: str
    expires_at: datetime
    used: bool
