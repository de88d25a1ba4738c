"""Assembles the inventory service from its parts; shared by ``python -m inventory`` and the
tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase

from inventory import metrics
from inventory.cache import BookCache
from inventory.config import InventorySettings
from inventory.events import EVENTS
from inventory.handlers import InventoryHandlers, subscriptions
from inventory.holds import HoldSweeper
from inventory.service import InventoryService
from inventory.stock import StockLedger
from inventory.stock_store import StockStore
from inventory.store import BookStore
from runtime.auth import TokenVerifier
from runtime.entry import ServiceApp
from runtime.keys import load_public_key
from runtime.messaging_admin import messaging_admin
from runtime.mongo import Document
from runtime.saga_metrics import SagaMetrics
from runtime.server import ServiceBinding
from saga import SagaParticipant, Subscriptions


def saga_participant(settings: InventorySettings, db: AsyncDatabase[Document],
                     table: Subscriptions) -> SagaParticipant:
    """The service's one place in the saga."""
    return SagaParticipant(service="inventory", db=db,
                           amqp_url=settings.amqp_url.get_secret_value(), subscriptions=table,
                           events=EVENTS, prefix=settings.saga_prefix,
                           prefetch=settings.saga_prefetch,
                           shutdown_grace=settings.shutdown_grace_seconds,
                           observer=SagaMetrics(table.names))


@asynccontextmanager
async def assemble(settings: InventorySettings, db: AsyncDatabase[Document]
                   ) -> AsyncIterator[Sequence[ServiceBinding]]:
    """Indexes, the saga's reactions, the hold sweeper, the book cache; yields the gRPC
    services to serve."""
    verifier = TokenVerifier(load_public_key(settings))
    store = BookStore(db)
    await store.ensure_indexes()
    stock = StockStore(db)
    await stock.ensure_indexes()
    ledger = StockLedger(stock)
    table = subscriptions(InventoryHandlers(ledger))
    metrics.start_at_zero()
    async with (saga_participant(settings, db, table) as saga, BookCache(store) as cache,
                messaging_admin(saga.operations, verifier) as admin):
        sweeper = HoldSweeper(stock, ledger, saga.outbox,
                              timeout=timedelta(seconds=settings.hold_timeout_seconds),
                              interval=settings.hold_sweep_interval)
        sweeping = asyncio.create_task(sweeper.run(), name="hold-sweeper")
        try:
            yield [InventoryService(store, saga.outbox, verifier, cache).binding(), admin]
        finally:
            sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeping


APP = ServiceApp(InventorySettings, assemble, uses_broker=True)
