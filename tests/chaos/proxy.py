"""A TCP proxy in front of MongoDB that a test can cut, to make the database unreachable.

It runs its own event loop in a thread: the stack launcher blocks while services start (and
connect through here), so the proxy must not share the test's loop. During an outage every
open connection is aborted and new ones are closed as soon as they are accepted, which the
driver sees as a network error, as when the database host goes away.
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


def target_of(url: str) -> tuple[str, int]:
    """The first host:port of a ``mongodb://`` URL."""
    host = urlsplit(url).netloc.rpartition("@")[2].split(",")[0]
    name, _, port = host.rpartition(":") if ":" in host else (host, "", "27017")
    return name.strip("[]"), int(port)


class MongoProxy:
    """Forwards loopback connections to MongoDB until told to cut them."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mongo-proxy",
                                        daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._down = False
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

    def restore(self) -> None:
        async def come_back() -> None:
            self._down = False

        self._call(come_back())

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """The database is unreachable inside the block, and reachable again after it."""
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
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._open.update((writer, up_writer))
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            for end in (writer, up_writer):
                self._open.discard(end)
                end.transport.abort()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until either side goes away; closing ``sink`` then ends the other direction."""
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while chunk := await source.read(CHUNK):
            sink.write(chunk)
            await sink.drain()
    sink.transport.abort()
