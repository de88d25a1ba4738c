"""The RabbitMQ transport reports its connection: open, lost, back, closed."""

from __future__ import annotations

import asyncio

import pytest
from aio_pika.abc import AbstractRobustConnection

from saga import RabbitTransport, Topology

pytestmark = pytest.mark.integration


async def test_the_connection_is_reported_as_it_opens_drops_returns_and_closes(
        amqp_url: str, prefix: str, broker: AbstractRobustConnection) -> None:
    heard: list[bool] = []
    transport = RabbitTransport(amqp_url, Topology(prefix, "svc"), service="svc", prefetch=1,
                                on_connection=heard.append)
    await transport.connect()
    try:
        assert heard == [True]
        connection = transport._connection  # its socket is cut below, as a network would
        assert connection is not None
        assert connection.transport is not None
        await connection.transport.connection.close(ConnectionError("cut"))
        async with asyncio.timeout(30):
            while heard[-1:] != [True] or len(heard) < 3:  # noqa: ASYNC110 - a callback sets it
                await asyncio.sleep(0.05)
        assert heard == [True, False, True]
    finally:
        await transport.close()
        channel = await broker.channel()
        await channel.exchange_delete(f"{prefix}.events")
        await channel.close()
    assert heard[-1] is False
