"""A health probe for the message broker: does RabbitMQ answer on a connection of our own?

The probe keeps one plain AMQP connection, apart from the saga's, and opens and closes a
channel on it each time: a round trip the broker must answer. A robust connection notices a
black-holed peer only after missed heartbeats (a minute by default); this round trip notices
within the probe's timeout. A connection that failed a probe is dropped and the next probe
dials again, so a broker that is back is seen at the next round.
"""

from __future__ import annotations

import asyncio
import contextlib

import aio_pika
from aio_pika.abc import AbstractConnection

from runtime.health import DEFAULT_TIMEOUT

CLOSE_TIMEOUT = 1.0


class BrokerProbe:
    """``await probe()`` is ``True`` once the broker has answered a channel open and close."""

    def __init__(self, url: str, *, name: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._url = url
        self._name = name
        self._timeout = timeout
        self._connection: AbstractConnection | None = None
        self._closing: set[asyncio.Task[None]] = set()

    async def __call__(self) -> bool:
        try:
            if self._connection is None or self._connection.is_closed:
                self._connection = await aio_pika.connect(
                    self._url, timeout=self._timeout,
                    client_properties={"connection_name": f"{self._name} health probe"})
            channel = await self._connection.channel()
            await channel.close()
        except BaseException:  # a failure or the monitor's timeout: start afresh next time
            self._drop()
            raise
        return True

    async def __aenter__(self) -> BrokerProbe:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._drop()
        if self._closing:
            await asyncio.wait(set(self._closing))

    def _drop(self) -> None:
        """Close the connection in the background: a black-holed one never confirms."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        task = asyncio.create_task(_close_quietly(connection))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


async def _close_quietly(connection: AbstractConnection) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(connection.close(), CLOSE_TIMEOUT)
