"""A TCP proxy in front of MongoDB or RabbitMQ that a test can cut or black-hole.

It runs its own event loop in a thread: the stack launcher blocks while services start (and
connect through here), so the proxy must not share the test's loop. Two kinds of outage:

- :meth:`TcpProxy.cut`: every open connection is aborted and new ones are closed as soon as
  they are accepted, which a client sees as a network error, as when the host goes away.
- :meth:`TcpProxy.black_hole`: connections stay open and new ones are accepted, but no byte
  goes through either way, as behind a dropped route or a firewall that drops packets: a
  client learns nothing until its own timeouts fire. Restored, the held bytes flow on.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

CHUNK = 64 * 1024
T = TypeVar("T")


def proxied_url(url: str, port: int) -> str:
    """``url`` aimed at ``127.0.0.1:port``, its options kept, plus ``directConnection=true``
    so the driver never follows the server's advertised address around the proxy."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    options = [(k, v) for k, v in parse_qsl(parts.query) if k.lower() != "directconnection"]
    options.append(("directConnection", "true"))
    return urlunsplit((parts.scheme, netloc, parts.path or "/", urlencode(options), ""))


def proxied_amqp_url(url: str, port: int) -> str:
    """An ``amqp://`` URL aimed at ``127.0.0.1:port``, credentials, vhost and options kept."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def target_of(url: str, default_port: int = 27017) -> tuple[str, int]:
    """The first host:port of a ``mongodb://`` (or, with its port, ``amqp://``) URL."""
    host = urlsplit(url).netloc.rpartition("@")[2].split(",")[0]
    name, _, port = host.rpartition(":") if ":" in host else (host, "", str(default_port))
    return name.strip("[]"), int(port)


class TcpProxy:
    """Forwards loopback connections to ``target`` until told to cut or black-hole them."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mongo-proxy",
                                        daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._down = False
        self._flowing = asyncio.Event()  # cleared while black-holed: bytes are held
        self._flowing.set()
        self.port = 0
        self.refused = 0  # connections turned away during outages

    def start(self) -> None:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = int(self._server.sockets[0].getsockname()[1])

    def stop(self) -> None:
        async def shut() -> None:
            assert self._server is not None
            self._server.close()
            self._abort_all()

        self._call(shut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def cut(self) -> None:
        """Start an outage: drop every connection, refuse new ones."""
        async def go_down() -> None:
            self._down = True
            self._abort_all()

        self._call(go_down())

    def black_hole(self) -> None:
        """Start an outage where nothing answers: connections open, no byte forwarded."""
        async def swallow() -> None:
            self._flowing.clear()

        self._call(swallow())

    def restore(self) -> None:
        """End either outage."""
        async def come_back() -> None:
            self._down = False
            self._flowing.set()

        self._call(come_back())

    @contextlib.contextmanager
    def outage(self, *, black_hole: bool = False) -> Iterator[None]:
        """The target is unreachable inside the block (refused, or silent with
        ``black_hole``), and reachable again after it."""
        if black_hole:
            self.black_hole()
        else:
            self.cut()
        try:
            yield
        finally:
            self.restore()

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def _abort_all(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._down:
            self.refused += 1
            writer.transport.abort()
            return
        self._open.add(writer)
        await self._flowing.wait()  # black-holed: accepted, and then nothing
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            self._open.discard(writer)
            writer.transport.abort()
            return
        self._open.add(up_writer)
        try:
            await asyncio.gather(_pipe(reader, up_writer, self._flowing),
                                 _pipe(up_reader, writer, self._flowing))
        finally:
            for end in (writer, up_writer):
                self._open.discard(end)
                end.transport.abort()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter,
                flowing: asyncio.Event) -> None:
    """Copy while ``flowing`` (holding bytes while not) until either side goes away; closing
    ``sink`` then ends the other direction."""
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while chunk := await source.read(CHUNK):
            await flowing.wait()
            sink.write(chunk)
            await sink.drain()
    sink.transport.abort()
