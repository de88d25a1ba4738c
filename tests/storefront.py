"""The storefront beside a running stack: its environment, books to sell, and the server
itself as a real process (``python -m client.web``) for the browser suite."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from contracts.bookstore.inventory.v1 import inventory_pb2 as inv
from tests.e2e.shop import fresh_isbn, open_shop, until_orders_know
from tests.stack import REPO_ROOT, Stack, free_port

START_TIMEOUT = 30.0
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


def web_env(stack: Stack, **extra: str) -> dict[str, str]:
    """Where the services are, for the storefront's client."""
    env = {f"BOOKSTORE_{name.upper()}_ADDR": addr for name, addr in stack.addresses.items()}
    return env | extra


def csrf_token(html: str) -> str:
    found = CSRF_PATTERN.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def fresh_email() -> str:
    return f"web-{uuid.uuid4().hex[:12]}@shop.example"


@dataclass(frozen=True)
class StockedBook:
    id: str
    title: str
    price_cents: int


def add_books(stack: Stack, *specs: tuple[str, int, int],
              author: str = "E2E Author") -> list[StockedBook]:
    """Add books (title, price in cents, stock) as the admin; return once orders can sell
    them."""
    async def add() -> list[StockedBook]:
        async with open_shop(stack) as shop:
            added = []
            for title, price, stock in specs:
                reply = await shop.inventory.AddBook(inv.BookRequest(
                    title=title, author=author, isbn=fresh_isbn(), price_cents=price,
                    stock=stock), metadata=shop.admin, timeout=10)
                added.append(StockedBook(reply.book.id, title, price))
            await until_orders_know(stack, [book.id for book in added])
            return added
    # A thread of its own: Playwright's synchronous API keeps an event loop running here.
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(asyncio.run, add()).result()


SYLLABLES = ("ka", "lo", "mi", "ra", "ve", "no", "ta", "si", "be", "du", "fe", "go", "lu",
             "pe", "ri", "zo")


def unique_word() -> str:
    """A made-up word no other test uses (one in 16^6), readable in screenshots: searching
    for it finds only the books a test added with it."""
    number = uuid.uuid4().int
    return "".join(SYLLABLES[(number >> (4 * i)) % 16] for i in range(6)).capitalize()


@dataclass(frozen=True)
class Storefront:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def running_storefront(stack: Stack, workdir: Path, **extra_env: str) -> Iterator[Storefront]:
    """``python -m client.web`` on a free port, stopped (and checked for a clean exit) after."""
    port = free_port()
    env = {**{k: v for k, v in stack.env.items() if not k.startswith("BOOKSTORE_")},
           **web_env(stack), "BOOKSTORE_WEB_ADDR": f"127.0.0.1:{port}", **extra_env}
    log = workdir / "web.log"
    with log.open("ab") as sink:
        process = subprocess.Popen([sys.executable, "-m", "client.web"], env=env, cwd=REPO_ROOT,
                                   stdout=sink, stderr=sink)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the storefront did not start:\n{log.read_text()[-3000:]}",
                            pytrace=False)
            time.sleep(0.1)
        yield Storefront(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
