"""Visitors' sessions, kept in this process's memory and named by an opaque cookie.

The access token never reaches the browser: the cookie holds only a random id (HttpOnly,
SameSite=Lax, Secure when the request came over https), and the token, the cart and the
CSRF token sit here. Memory is the simplest store that keeps the token server-side; the
price is that a visitor's requests must reach the same instance (one storefront, or session
affinity in front of several), and a restart logs everyone out.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

COOKIE_NAME = "bookstore_session"


@dataclass
class Visitor:
    """One browser's state: who is logged in (if anyone), the cart, the CSRF token."""

    id: str
    csrf_token: str
    last_seen: float
    access_token: str | None = None
    user_id: str | None = None
    user_name: str = ""
    is_admin: bool = False
    #: book id → quantity, in the order books were added.
    cart: dict[str, int] = field(default_factory=dict)
    #: One key per checkout attempt, so a form sent twice places one order.
    checkout_key: str = field(default_factory=lambda: secrets.token_hex(16))
    #: Messages shown once, on the next page rendered.
    flashes: list[str] = field(default_factory=list)

    @property
    def logged_in(self) -> bool:
        return self.access_token is not None

    def csrf_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(self.csrf_token.encode(), candidate.encode())

    def log_in(self, token: str, user_id: str, name: str, *, is_admin: bool) -> None:
        self.access_token, self.user_id, self.user_name = token, user_id, name
        self.is_admin = is_admin

    def log_out(self) -> None:
        self.access_token = self.user_id = None
        self.user_name, self.is_admin = "", False

    def flash(self, message: str) -> None:
        self.flashes.append(message)

    def take_flashes(self) -> list[str]:
        taken, self.flashes = self.flashes, []
        return taken


class SessionStore:
    """Sessions by id, forgotten after ``idle_seconds`` without use, at most ``max_sessions``."""

    def __init__(self, *, idle_seconds: float, max_sessions: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_seconds = idle_seconds
        self.max_sessions = max_sessions
        self.clock = clock
        self._visitors: OrderedDict[str, Visitor] = OrderedDict()

    def __len__(self) -> int:
        return len(self._visitors)

    def get(self, session_id: str | None) -> Visitor | None:
        """The live session with this id, marked as used now; None if unknown or expired."""
        if not session_id:
            return None
        visitor = self._visitors.get(session_id)
        now = self.clock()
        if visitor is None or now - visitor.last_seen > self.idle_seconds:
            self._visitors.pop(session_id, None)
            return None
        visitor.last_seen = now
        self._visitors.move_to_end(session_id)
        return visitor

    def create(self) -> Visitor:
        self._evict()
        visitor = Visitor(id=secrets.token_urlsafe(32), csrf_token=secrets.token_urlsafe(32),
                          last_seen=self.clock())
        self._visitors[visitor.id] = visitor
        return visitor

    def renew(self, visitor: Visitor) -> Visitor:
        """The same state under fresh ids, the old id forgotten: done at log-in and log-out,
        so an id planted in a browser before log-in is worth nothing after it."""
        self._visitors.pop(visitor.id, None)
        fresh = self.create()
        fresh.cart, fresh.flashes = visitor.cart, visitor.flashes
        return fresh

    def _evict(self) -> None:
        now = self.clock()
        while self._visitors:
            oldest = next(iter(self._visitors.values()))
            if now - oldest.last_seen <= self.idle_seconds and \
                    len(self._visitors) < self.max_sessions:
                return
            self._visitors.popitem(last=False)
