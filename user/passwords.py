"""bcrypt hashing, run in a worker thread so a slow hash never blocks the event loop.

The cost is configurable (``BOOKSTORE_BCRYPT_ROUNDS``): production keeps the default of 12,
tests use 4. Checking a password for an unknown account still costs one full bcrypt check
against a dummy hash, so response time does not tell whether an email is registered.
"""

from __future__ import annotations

import asyncio
import secrets

import bcrypt

from user.validation import PASSWORD_MAX_BYTES

HASH_ENCODING = "ascii"


class PasswordHasher:
    """Hashes new passwords and checks candidates against stored hashes."""

    def __init__(self, rounds: int) -> None:
        self._rounds = rounds
        self._dummy: bytes | None = None

    async def hash(self, password: str) -> str:
        """A salted hash of an already validated password (see :func:`check_password`)."""
        salt = bcrypt.gensalt(rounds=self._rounds)
        digest = await asyncio.to_thread(bcrypt.hashpw, password.encode("utf-8"), salt)
        return digest.decode(HASH_ENCODING)

    async def verify(self, password: str, stored_hash: str | None) -> bool:
        """Whether ``password`` matches; with no hash, spend the same time and say no."""
        if stored_hash is None:
            await asyncio.to_thread(bcrypt.checkpw, b"not the password", await self._dummy_hash())
            return False
        candidate = password.encode("utf-8")
        expected = stored_hash.encode(HASH_ENCODING)
        if len(candidate) > PASSWORD_MAX_BYTES:
            # No stored password can be this long; bcrypt would refuse it, so check a
            # stand-in to keep the timing and answer no.
            await asyncio.to_thread(bcrypt.checkpw, b"not the password", expected)
            return False
        return await asyncio.to_thread(bcrypt.checkpw, candidate, expected)

    async def _dummy_hash(self) -> bytes:
        # Made on first use, at the configured cost, so it takes as long as a real check.
        if self._dummy is None:
            self._dummy = (await self.hash(secrets.token_urlsafe(16))).encode(HASH_ENCODING)
        return self._dummy
