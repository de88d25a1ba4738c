"""``python -m orders rebuild-catalogue`` against the running stack: a lost entry comes back."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from runtime.mongo import make_client
from tests.e2e.shop import open_shop
from tests.stack import REPO_ROOT, Stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


async def test_rebuild_restores_a_lost_catalogue_entry(stack: Stack) -> None:
    async with open_shop(stack) as shop:
        _, me = await shop.customer()
        book = await shop.add_book("Rebuilt", 1250, stock=3)
        client = make_client(stack.env["BOOKSTORE_MONGO_URL"])
        try:
            catalogue = client[stack.env["BOOKSTORE_ORDERS_MONGO_DB"]]["catalogue"]
            await catalogue.delete_one({"_id": book})  # as if its event had been lost
            done = await asyncio.to_thread(
                subprocess.run, [sys.executable, "-m", "orders", "rebuild-catalogue"],
                env=stack.instance_env("orders"), cwd=REPO_ROOT, capture_output=True,
                text=True, timeout=120)
            assert done.returncode == 0, done.stderr
            assert done.stdout.startswith("catalogue rebuilt from inventory: ")
            entry = await catalogue.find_one({"_id": book})
        finally:
            await client.close()
        assert entry is not None
        assert (entry["title"], entry["price_cents"], entry["version"]) == ("Rebuilt", 1250, 1)
        order = await shop.place(me, [(book, 1)])
        assert order.total_cents == 1250
