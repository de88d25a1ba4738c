"""Filling orders' catalogue read model from inventory's listing: on a first start, and again
whenever an operator rebuilds it."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.bookstore.inventory.v1 import inventory_pb2 as inv
from inventory.events import EVENTS as INVENTORY_EVENTS
from inventory.service import InventoryService
from inventory.store import BookStore
from orders.catalogue_fill import CatalogueFill
from orders.catalogue_store import CatalogueStore
from orders.pricing import BookInfo
from runtime.auth import TokenVerifier
from runtime.server import GrpcServer
from saga import Outbox
from tests.integration.orders.conftest import Stack
from tests.stack import free_port
from tests.waiting import eventually

pytestmark = pytest.mark.integration


async def test_a_fill_pages_through_every_book(stack: Stack) -> None:
    ids = [await stack.add_book(f"Book {i}", price_cents=100 + i, tell_orders=False)
           for i in range(5)]
    catalogue = CatalogueStore(stack.db)
    assert await catalogue.books(ids) == {}
    async with grpc.aio.insecure_channel(stack.inventory_server.address) as channel:
        assert await CatalogueFill(catalogue, channel, attempts=2, page_size=2).fill() == 5
    held = await catalogue.books(ids)
    assert sorted((b.title, b.price_cents, b.version) for b in held.values()) == [
        (f"Book {i}", 100 + i, 1) for i in range(5)]
    assert await catalogue.filled_at() is not None


async def test_a_fill_never_replaces_a_newer_entry_and_repairs_an_equal_one(
    stack: Stack,
) -> None:
    newer, damaged = await stack.add_book("Newer"), await stack.add_book("Damaged")
    catalogue = CatalogueStore(stack.db)
    await catalogue.apply(BookInfo(newer, "Newer, from a later event", 4321, 7))
    await stack.db["catalogue"].update_one({"_id": damaged}, {"$set": {"title": "garbled"}})
    async with grpc.aio.insecure_channel(stack.inventory_server.address) as channel:
        await CatalogueFill(catalogue, channel, attempts=2).fill()
    held = await catalogue.books([newer, damaged])
    assert held[newer] == BookInfo(newer, "Newer, from a later event", 4321, 7)
    assert held[damaged] == BookInfo(damaged, "Damaged", 1000, 1)


async def test_the_start_up_fill_waits_for_inventory_then_runs_once(
    stack: Stack, caplog: pytest.LogCaptureFixture,
) -> None:
    """Orders starting on an empty database while inventory is away: it keeps trying."""
    book = await stack.add_book("Waited For", tell_orders=False)
    await stack.db["catalogue_fill"].delete_many({})  # as if orders had never filled
    catalogue = CatalogueStore(stack.db)
    address = f"127.0.0.1:{free_port()}"  # where inventory will come up
    async with grpc.aio.insecure_channel(address) as channel:
        fill = CatalogueFill(catalogue, channel, deadline=1.0, max_wait=0.2)
        filling = asyncio.create_task(fill.fill_unless_filled())

        async def tried_and_failed() -> bool:
            return any("fill tries again" in r.getMessage() for r in caplog.records)

        await eventually(tried_and_failed)
        assert not filling.done()
        verifier = TokenVerifier(Ed25519PrivateKey.generate().public_key())
        inventory = InventoryService(BookStore(stack.inventory_db),
                                     Outbox(stack.inventory_db, INVENTORY_EVENTS), verifier)
        server = GrpcServer(address, [inventory.binding()])
        await server.start()
        try:
            async with asyncio.timeout(20):
                await filling
        finally:
            await server.stop(0)
        assert set(await catalogue.books([book])) == {book}
        filled = await catalogue.filled_at()
        await fill.fill_unless_filled()  # filled once: nothing more to do
        assert await catalogue.filled_at() == filled


async def test_placing_an_order_needs_no_inventory_once_filled(stack: Stack) -> None:
    book = await stack.add_book("Filled", price_cents=2500, tell_orders=False)
    async with grpc.aio.insecure_channel(stack.inventory_server.address) as channel:
        await CatalogueFill(CatalogueStore(stack.db), channel, attempts=2).fill()
    await stack.inventory_server.stop(0)
    order = await stack.place((book, 2))
    assert order.total_cents == 5000
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.inventory.GetBookDetails(inv.BookIDRequest(book_id=book), timeout=1)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
