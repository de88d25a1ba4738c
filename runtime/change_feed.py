"""Reading a change stream at a bounded rate of round trips, whatever the write rate.

A change stream's ``getMore`` waits for news and returns as soon as there is any. Under a
steady write load it returns at once, with one change, and the next one is asked for at once:
a round trip (and a wake-up of the server's cursor) per write. Starting round trips at least
``pace`` seconds apart lets the changes of that moment gather, so one round trip takes them
all: at most ``1 / pace`` a second per stream, at the price of hearing a change up to ``pace``
later while writes keep coming. Changes already fetched are handed out at once, and a round
trip that waited for news (a quiet stream) needs no pause before the next. Some servers
(SecantusDB among them) also wake the cursor for writes the stream's filter then drops,
which makes the spacing matter even for a filtered stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Protocol


class ChangeSource(Protocol):
    async def try_next(self) -> Any:
        """The next change, or ``None`` if the server had none within its wait."""


def _fetched(stream: ChangeSource) -> int:
    """Changes the stream holds from its last round trip (PyMongo keeps them on its cursor;
    0, so every call is spaced, if it cannot tell)."""
    cursor = getattr(stream, "_cursor", None)
    return len(getattr(cursor, "_data", ()))


async def paced(stream: ChangeSource, pace: float) -> AsyncIterator[Any]:
    """Every change of ``stream`` (``None`` when a wait brought nothing), starting round trips
    to the server at least ``pace`` seconds apart."""
    loop = asyncio.get_running_loop()
    last_asked = float("-inf")
    while True:
        if not _fetched(stream):
            wait = last_asked + pace - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            last_asked = loop.time()
        yield await stream.try_next()
