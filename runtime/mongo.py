"""The MongoDB client every service uses: PyMongo's native async API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pymongo
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from runtime.health import DEFAULT_TIMEOUT

Document = dict[str, Any]


def make_client(url: str, *, timeout_ms: int = 5000) -> AsyncMongoClient[Document]:
    """A client that fails a call after ``timeout_ms`` instead of hanging when the server is away.

    UTC-aware datetimes come back from reads so timestamps never lose their zone.
    """
    return AsyncMongoClient(
        url,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        appname="bookstore",
    )


@asynccontextmanager
async def open_database(url: str, name: str, *,
                        timeout_ms: int = 5000) -> AsyncIterator[AsyncDatabase[Document]]:
    """Connect, check the server answers, yield the named database, close on exit."""
    client = make_client(url, timeout_ms=timeout_ms)
    try:
        await client.admin.command("ping")
        yield client[name]
    finally:
        await client.close()


def ping_probe(client: AsyncMongoClient[Document], timeout: float = DEFAULT_TIMEOUT
               ) -> Callable[[], Awaitable[bool]]:
    """A health probe: does the server answer ``ping`` within ``timeout`` seconds?

    ``pymongo.timeout`` bounds the whole call, server selection included, which would
    otherwise wait ``serverSelectionTimeoutMS``; an answer on a pooled connection that never
    comes is bounded by it too.
    """

    async def ping() -> bool:
        with pymongo.timeout(timeout):
            reply = await client.admin.command("ping")
        return bool(reply.get("ok"))

    return ping
