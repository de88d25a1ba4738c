"""Named asyncio locks, so units of work on the same documents take turns in a process.

A MongoDB transaction that writes a document another open transaction has written aborts
with a write conflict and starts over. Hot documents (a popular book's stock counters) make
that a storm: every retry redoes all its work and may lose again. Taking turns in-process
first means such transactions never overlap here; the database still decides between
processes, so correctness never rests on these locks, only speed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable


class KeyedLocks:
    """One lock per key, made on first use and dropped when no one holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    async def acquire(self, key: str) -> None:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            await lock.acquire()
        except BaseException:
            self._forget(key)
            raise

    def release(self, key: str) -> None:
        self._locks[key].release()
        self._forget(key)

    def _forget(self, key: str) -> None:
        self._users[key] -= 1
        if not self._users[key]:
            del self._users[key], self._locks[key]


class HeldLocks:
    """The keys one transaction (with its retries) holds, always taken in sorted order.

    A request for a key below one already held first gives everything back and takes the
    whole set again in order, so two transactions can never wait for each other.
    """

    def __init__(self, locks: KeyedLocks) -> None:
        self._locks = locks
        self._held: set[str] = set()

    async def take(self, keys: Iterable[str]) -> None:
        wanted = set(keys) - self._held
        if not wanted:
            return
        if self._held and min(wanted) < max(self._held):
            wanted |= self._held
            self.release_all()
        for key in sorted(wanted):
            await self._locks.acquire(key)
            self._held.add(key)

    def release_all(self) -> None:
        for key in self._held:
            self._locks.release(key)
        self._held.clear()
