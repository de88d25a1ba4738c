"""Assembles the order service from its parts; shared by ``python -m orders`` and the tests.

``python -m orders rebuild-catalogue`` fills the catalogue read model again from inventory's
listing (see :mod:`orders.catalogue_fill`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase

from orders import metrics
from orders.catalogue import Catalog, CatalogueHandlers, ReadModelCatalogue
from orders.catalogue_cache import CatalogueCache
from orders.catalogue_fill import CatalogueFill
from orders.catalogue_store import CatalogueStore
from orders.commands import OrderCommands
from orders.config import OrdersSettings
from orders.events import EVENTS
from orders.handlers import OrderHandlers, subscriptions
from orders.payments import PaymentGateway, SimulatedGateway
from orders.service import OrderService
from orders.store import OrderStore
from orders.timeouts import Sweeper
from orders.watch import OrderWatcher
from runtime.auth import TokenVerifier
from runtime.channels import balanced_channel
from runtime.entry import Command, ServiceApp
from runtime.keys import load_public_key
from runtime.messaging_admin import messaging_admin
from runtime.mongo import Document
from runtime.saga_metrics import SagaMetrics
from runtime.server import ServiceBinding
from saga import Outbox, SagaParticipant, Subscriptions
from saga.journal import Journal


@dataclass(frozen=True, slots=True)
class OrderParts:
    store: OrderStore
    commands: OrderCommands
    sweeper: Sweeper
    watcher: OrderWatcher
    service: OrderService


def wire(store: OrderStore, outbox: Outbox, catalog: Catalog, gateway: PaymentGateway,
         verifier: TokenVerifier, settings: OrdersSettings) -> OrderParts:
    """Wire the request side; the saga side (:class:`OrderHandlers`) needs only store + gateway."""
    commands = OrderCommands(store, outbox, catalog, gateway)
    sweeper = Sweeper(store, commands, timeout=timedelta(seconds=settings.order_timeout_seconds),
                      interval=settings.sweep_interval)
    watcher = OrderWatcher(store)
    store.on_moved(watcher.heard)
    service = OrderService(commands, store, watcher, verifier, Journal(outbox.db))
    return OrderParts(store, commands, sweeper, watcher, service)


def saga_participant(settings: OrdersSettings, db: AsyncDatabase[Document],
                     table: Subscriptions) -> SagaParticipant:
    """The service's one place in the saga."""
    return SagaParticipant(service="orders", db=db,
                           amqp_url=settings.amqp_url.get_secret_value(), subscriptions=table,
                           events=EVENTS,
                           prefix=settings.saga_prefix, prefetch=settings.saga_prefetch,
                           shutdown_grace=settings.shutdown_grace_seconds,
                           observer=SagaMetrics(table.names))


def gateway_for(db: AsyncDatabase[Document], settings: OrdersSettings) -> SimulatedGateway:
    return SimulatedGateway(db, limit_cents=settings.payment_limit_cents)


@asynccontextmanager
async def assemble(settings: OrdersSettings, db: AsyncDatabase[Document]
                   ) -> AsyncIterator[Sequence[ServiceBinding]]:
    """The saga's reactions (catalogue events included), the timeout sweeper and, until one
    has completed, the catalogue fill running in the background; yields the gRPC services
    (orders, and the messaging admin).

    Orders are priced from the catalogue read model; inventory is called only to fill it."""
    verifier = TokenVerifier(load_public_key(settings))
    store = OrderStore(db)
    await store.ensure_indexes()
    gateway = gateway_for(db, settings)
    catalogue = CatalogueStore(db)
    table = subscriptions(OrderHandlers(store, gateway), CatalogueHandlers(catalogue))
    metrics.start_at_zero()
    async with (balanced_channel(settings.inventory_addr) as channel,
                saga_participant(settings, db, table) as saga,
                messaging_admin(saga.operations, verifier) as admin,
                CatalogueCache(ReadModelCatalogue(catalogue), catalogue) as priced):
        parts = wire(store, saga.outbox, priced, gateway, verifier, settings)
        # The participant has bound the queue to the catalogue events: the fill misses none.
        background = [
            asyncio.create_task(parts.sweeper.run(), name="order-sweeper"),
            asyncio.create_task(CatalogueFill(catalogue, channel).fill_unless_filled(),
                                name="catalogue-fill"),
        ]
        try:
            yield [parts.service.binding(), admin]
        finally:
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await parts.watcher.close()


async def rebuild_catalogue(settings: OrdersSettings, db: AsyncDatabase[Document],
                            args: argparse.Namespace) -> int:
    """``rebuild-catalogue``: one fill from inventory's listing, the service running or not."""
    async with balanced_channel(settings.inventory_addr) as channel:
        books = await CatalogueFill(CatalogueStore(db), channel, attempts=5).fill()
    print(f"catalogue rebuilt from inventory: {books} books")
    return 0


APP = ServiceApp(OrdersSettings, assemble, uses_broker=True, commands={
    "rebuild-catalogue": Command(
        help="fill the catalogue read model again from inventory's listing (newer entries "
             "are kept)", arguments=lambda parser: None, run=rebuild_catalogue),
})
