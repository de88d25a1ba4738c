"""Account lifecycle: register, read, change, delete, and make sure the first admin exists.

Validation happens before any hashing or writing, and each change is a single MongoDB write,
so a refused request leaves nothing behind.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from runtime.auth import Role
from runtime.errors import InvalidArgument
from user.errors import EmailTaken, UserNotFound
from user.model import Clock, UserRecord, utc_now
from user.passwords import PasswordHasher
from user.store import ResetTokenStore, UserStore
from user.validation import check_password, normalize_email, normalize_name

log = logging.getLogger(__name__)


class AdminOutcome(enum.StrEnum):
    CREATED = "created"
    PROMOTED = "promoted"
    UNCHANGED = "unchanged"


class Accounts:
    def __init__(self, users: UserStore, resets: ResetTokenStore, hasher: PasswordHasher,
                 clock: Clock = utc_now) -> None:
        self._users = users
        self._resets = resets
        self._hasher = hasher
        self._clock = clock

    async def create(self, name: str, email: str, password: str,
                     role: Role = Role.CUSTOMER) -> UserRecord:
        name = normalize_name(name)
        email = normalize_email(email)
        check_password(password)
        if await self._users.get_by_email(email) is not None:
            raise EmailTaken()  # cheap early answer; the unique index is the real guard
        password_hash = await self._hasher.hash(password)
        user = await self._users.insert(name=name, email=email, password_hash=password_hash,
                                        role=role, now=self._clock())
        log.info("user created", extra={"user_id": user.id, "role": user.role.value})
        return user

    async def get(self, user_id: str) -> UserRecord:
        user = await self._users.get(user_id)
        if user is None:
            raise UserNotFound(user_id)
        return user

    async def update(self, user_id: str, *, name: str | None, email: str | None) -> UserRecord:
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = normalize_name(name)
        if email is not None:
            changes["email"] = normalize_email(email)
        if not changes:
            raise InvalidArgument("name, email", "set at least one field to change")
        user = await self._users.update(user_id, changes, self._clock())
        if user is None:
            raise UserNotFound(user_id)
        log.info("user updated", extra={"user_id": user_id, "fields": sorted(changes)})
        return user

    async def delete(self, user_id: str) -> None:
        if not await self._users.delete(user_id):
            raise UserNotFound(user_id)
        await self._resets.discard_for(user_id)
        log.info("user deleted", extra={"user_id": user_id})

    async def ensure_admin(self, email: str, name: str, password: str,
                           ) -> tuple[UserRecord, AdminOutcome]:
        """Make ``email`` an admin account: create it, or promote it if it exists.

        Idempotent, so every start may call it. An existing account keeps its password: the
        configured one only seeds a new account and is never shown or logged.
        """
        email = normalize_email(email, field="admin email")
        existing = await self._users.get_by_email(email)
        if existing is None:
            try:
                return (await self.create(name, email, password, Role.ADMIN),
                        AdminOutcome.CREATED)
            except EmailTaken:  # another instance created it meanwhile
                existing = await self._users.get_by_email(email)
                if existing is None:
                    raise
        if existing.role is Role.ADMIN:
            return existing, AdminOutcome.UNCHANGED
        promoted = await self._users.set_role(existing.id, Role.ADMIN, self._clock())
        if promoted is None:
            raise UserNotFound(existing.id)
        log.info("user promoted to admin", extra={"user_id": promoted.id})
        return promoted, AdminOutcome.PROMOTED
