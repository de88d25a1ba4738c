"""A stack of its own for every chaos scenario, its MongoDB traffic through a proxy the test
can cut. Never the shared session stack: these tests kill its processes and its database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.shop import open_shop
from tests.proxy import TcpProxy, proxied_url, target_of
from tests.stack import Stack, running_stack

BOOKS = 5
STOCK = 200  # per book: enough for every order the stream can place
SCARCE = 4  # one book runs out early, so some orders are rejected


@pytest.fixture
def mongo_proxy(mongo_url: str) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target_of(mongo_url))
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def chaos_stack(mongo_proxy: TcpProxy, mongo_url: str, amqp_url: str, tmp_path: Path
                ) -> Iterator[Stack]:
    with running_stack(proxied_url(mongo_url, mongo_proxy.port), amqp_url, tmp_path) as stack:
        yield stack


@pytest.fixture
async def books(chaos_stack: Stack) -> list[str]:
    """A small catalogue for the customers to order from."""
    async with open_shop(chaos_stack) as shop:
        return [await shop.add_book(f"Chaos {i}", 900 + 100 * i, stock=SCARCE if i == 0 else STOCK)
                for i in range(BOOKS)]
