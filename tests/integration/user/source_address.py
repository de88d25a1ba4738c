"""Reach a server from another loopback address, as if from another machine.

grpc python has no channel option for the local address, so a tiny TCP forwarder accepts on
127.0.0.1 and connects onward from ``(source, 0)``: the server's peer is then
``ipv4:<source>:<port>``. Linux answers on all of 127.0.0.0/8 without any setup.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

CHUNK = 64 * 1024


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await source.read(CHUNK):
            sink.write(data)
            await sink.drain()
    sink.close()


@contextlib.asynccontextmanager
async def forwarder(target: str, source: str) -> AsyncIterator[str]:
    """An address that forwards to ``target`` (``host:port``) from ``source``."""
    host, _, port = target.rpartition(":")
    open_ends: set[asyncio.StreamWriter] = set()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(port),
                                                             local_addr=(source, 0))
        open_ends.update((writer, up_writer))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for end in open_ends:
            end.transport.abort()
        await server.wait_closed()
