"""Passwords in use: logging in, changing a password, and resetting a forgotten one.

Login throttling (:mod:`user.lockout`): every check first records an attempt for the
normalized email and the caller's address, then counts the attempts inside the window, from
that address and from everyone. Recording before counting means concurrent guesses cannot slip
past the limit together. A correct password clears that address's record (never the others',
which would reset an attacker's count too); a wrong one leaves its attempt as a failure; a
refused attempt removes its own record, so hammering a locked email does not extend the lock.

Reset tokens: 32 random bytes, URL-safe, mailed raw; only their SHA-256 is stored, so a
database leak yields no usable token. A token is consumed by a conditional update, so it
works once even when two requests race with it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from runtime.auth import IssuedToken, TokenIssuer
from runtime.errors import InvalidArgument, Unauthenticated
from user.errors import InvalidCredentials, InvalidResetToken, LoginLocked, UserNotFound
from user.lockout import LoginThrottle, describe_retry
from user.mailer import MailDeliveryError, Mailer
from user.model import Clock, UserRecord, utc_now
from user.passwords import PasswordHasher
from user.store import LoginFailureStore, ResetTokenStore, UserStore
from user.validation import check_password, normalize_email

log = logging.getLogger(__name__)

RESET_TOKEN_BYTES = 32


def hash_reset_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Credentials:
    def __init__(self, *, users: UserStore, failures: LoginFailureStore,
                 resets: ResetTokenStore, hasher: PasswordHasher, throttle: LoginThrottle,
                 issuer: TokenIssuer, mailer: Mailer, reset_ttl: timedelta,
                 clock: Clock = utc_now) -> None:
        self._users = users
        self._failures = failures
        self._resets = resets
        self._hasher = hasher
        self._throttle = throttle
        self._issuer = issuer
        self._mailer = mailer
        self._reset_ttl = reset_ttl
        self._clock = clock

    async def authenticate(self, email: str, password: str, client: str,
                           ) -> tuple[IssuedToken, UserRecord]:
        """A token for the account, if ``password`` is its own; ``client`` is the caller's
        address, which keys login throttling."""
        email = normalize_email(email)
        if not password:
            raise InvalidArgument("password", "must not be empty")
        user = await self._users.get_by_email(email)
        stored_hash = None if user is None else user.password_hash
        if not await self._check_throttled(email, client, password, stored_hash) or user is None:
            raise InvalidCredentials()
        # Tokens carry real time: the clock seam is for stored timestamps only.
        return self._issuer.issue(user.id, user.role), user

    async def change_password(self, user_id: str, current: str, new: str, client: str) -> None:
        check_password(new, field="new_password")
        user = await self._users.get(user_id)
        if user is None:
            raise UserNotFound(user_id)
        if not await self._check_throttled(user.email, client, current, user.password_hash):
            raise Unauthenticated("current_password is incorrect")
        await self._set_password(user, new)
        log.info("password changed", extra={"user_id": user.id})

    async def request_reset(self, email: str) -> None:
        """Mail a reset token if ``email`` has an account; the caller cannot tell either way."""
        email = normalize_email(email)
        user = await self._users.get_by_email(email)
        if user is None:
            log.info("password reset requested for an unknown email")
            return
        now = self._clock()
        token = secrets.token_urlsafe(RESET_TOKEN_BYTES)
        expires_at = now + self._reset_ttl
        await self._resets.replace(user.id, hash_reset_token(token), expires_at=expires_at,
                                   now=now)
        body = (f"Hello {user.name},\n\n"
                "Someone asked to reset the password of your Bookstore account.\n"
                f"Your reset token is:\n\n    {token}\n\n"
                f"It works once, until {expires_at.isoformat(timespec='seconds')}.\n"
                "If you did not ask for this, ignore this message: your password is unchanged.\n")
        try:
            await self._mailer.send(user.email, "Reset your Bookstore password", body)
        except MailDeliveryError as exc:
            # Answering with an error would reveal that the account exists.
            log.error("password reset mail not delivered", extra={"user_id": user.id,
                                                                  "error": str(exc)})
            return
        log.info("password reset token issued", extra={"user_id": user.id})

    async def reset_password(self, email: str, token: str, new: str) -> None:
        email = normalize_email(email)
        if not token:
            raise InvalidArgument("reset_token", "must not be empty")
        check_password(new, field="new_password")
        ticket = await self._resets.find(hash_reset_token(token))
        if ticket is None or ticket.used or ticket.expires_at <= self._clock():
            raise InvalidResetToken()
        user = await self._users.get(ticket.user_id)
        if user is None or not secrets.compare_digest(user.email, email):
            raise InvalidResetToken()
        new_hash = await self._hasher.hash(new)  # before consuming: a slow hash burns nothing
        if not await self._resets.consume(ticket.id, self._clock()):
            raise InvalidResetToken()  # a concurrent request used it first
        await self._set_password(user, new, new_hash=new_hash)
        log.info("password reset", extra={"user_id": user.id})

    async def _set_password(self, user: UserRecord, new: str, *,
                            new_hash: str | None = None) -> None:
        new_hash = new_hash or await self._hasher.hash(new)
        if await self._users.update(user.id, {"password_hash": new_hash}, self._clock()) is None:
            raise UserNotFound(user.id)
        await self._resets.discard_for(user.id)  # a new password retires every open token
        await self._failures.clear(user.email)

    async def _check_throttled(self, email: str, client: str, password: str,
                               stored_hash: str | None) -> bool:
        """Whether the password matches, unless recent failures make this attempt wait."""
        now = self._clock()
        start = self._throttle.window_start(now)
        attempt = await self._failures.record(email, client, now)
        mine = await self._failures.since(email, start, client=client, excluding=attempt)
        everyone = await self._failures.since(
            email, start, excluding=attempt, limit=self._throttle.email_max_failures)
        refusal = self._throttle.refusal(mine, everyone, now)
        if refusal is not None:
            await self._failures.forget(attempt)
            log.warning("login throttled", extra={"retry_at": refusal.retry_at.isoformat(),
                                                  "whole_email": refusal.whole_email})
            raise LoginLocked(describe_retry(refusal, now))
        if await self._hasher.verify(password, stored_hash):
            await self._failures.clear(email, client)
            return True
        return False
