"""Retries on UNAVAILABLE, against a real service that only becomes reachable late.

A TCP relay on a free port starts forwarding to the live inventory service after a delay,
so the first attempts are refused like a service still starting up.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator

import pytest

from client import (
    AuthenticationError,
    BookstoreClient,
    ClientConfig,
    NotFoundError,
    ServiceUnavailableError,
)
from tests.integration.client.conftest import Stack, client_env, free_port

pytestmark = pytest.mark.integration


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def late_relay(port: int, target: str, delay: float) -> AsyncIterator[None]:
    """Forward 127.0.0.1:port to ``target``, listening only after ``delay`` seconds."""
    host, target_port = target.rsplit(":", 1)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(target_port))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    servers: list[asyncio.Server] = []

    async def start() -> None:
        await asyncio.sleep(delay)
        servers.append(await asyncio.start_server(handle, "127.0.0.1", port))

    starter = asyncio.create_task(start())
    try:
        yield
    finally:
        starter.cancel()
        for server in servers:
            server.close()


async def test_reads_are_retried_until_the_service_answers(stack: Stack) -> None:
    port = free_port()
    config = dataclasses.replace(ClientConfig.from_env(client_env(stack)),
                                 inventory_addr=f"127.0.0.1:{port}", retry_attempts=8,
                                 retry_initial_wait=0.1, retry_max_wait=0.5)
    async with late_relay(port, stack.addresses["inventory"], delay=0.3), \
            BookstoreClient(config) as bs:
        # Reaching the service at all is the point: it answers NOT_FOUND for this id.
        with pytest.raises(NotFoundError):
            await bs.get_book("000000000000000000000000")


async def test_calls_that_are_not_safe_to_repeat_are_not_retried(stack: Stack) -> None:
    port = free_port()
    config = dataclasses.replace(ClientConfig.from_env(client_env(stack)),
                                 user_addr=f"127.0.0.1:{port}", retry_attempts=8,
                                 retry_initial_wait=0.1, retry_max_wait=0.5)
    async with late_relay(port, stack.addresses["user"], delay=0.5), \
            BookstoreClient(config) as bs:
        with pytest.raises(ServiceUnavailableError):
            await bs.register("Once Only", "once@example.com", "a long passphrase")
        # The same relay, once up, serves a retried login: only the write gave up at once.
        with pytest.raises(AuthenticationError):
            await bs.login("nobody@example.com", "not a password")
