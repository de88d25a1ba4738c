"""Assembles the order service from its parts; shared by ``python -m orders`` and the tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase

from orders.catalogue import Catalog, CatalogueHandlers, ReadModelCatalogue
from orders.catalogue_fill import CatalogueFill
from orders.catalogue_store import CatalogueStore
from orders.commands import OrderCommands
from orders.config import OrdersConfig
from orders.events import EVENTS
from orders.handlers import OrderHandlers, subscriptions
from orders.payments import PaymentGateway, SimulatedGateway
from orders.service import OrderService
from orders.store import OrderStore
from orders.timeouts import Sweeper
from orders.watch import OrderWatcher
from runtime.auth import TokenVerifier
from runtime.channels import balanced_channel
from runtime.keys import load_public_key
from runtime.mongo import Document, open_database
from runtime.server import GrpcServer, serve
from runtime.settings import Settings
from saga import Outbox, SagaParticipant

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OrdersApp:
    store: OrderStore
    commands: OrderCommands
    sweeper: Sweeper
    watcher: OrderWatcher
    service: OrderService


def assemble(store: OrderStore, outbox: Outbox, catalog: Catalog, gateway: PaymentGateway,
             verifier: TokenVerifier, config: OrdersConfig) -> OrdersApp:
    """Wire the request side; the saga side (:class:`OrderHandlers`) needs only store + gateway."""
    commands = OrderCommands(store, outbox, catalog, gateway)
    sweeper = Sweeper(store, commands, timeout=timedelta(seconds=config.timeout_seconds),
                      interval=config.sweep_seconds)
    watcher = OrderWatcher(store)
    service = OrderService(commands, store, watcher, verifier)
    return OrdersApp(store, commands, sweeper, watcher, service)


async def run(settings: Settings, config: OrdersConfig) -> None:
    """Serve until SIGTERM or SIGINT, sweeping timed-out orders in the background.

    Inventory is reached only to fill the catalogue read model (in the background, once);
    orders are priced from the read model, which inventory's events keep current."""
    verifier = TokenVerifier(load_public_key(settings))
    async with (open_database(settings.mongo_url, settings.mongo_db) as db,
                balanced_channel(settings.inventory_addr) as channel):
        store = OrderStore(db)
        await store.ensure_indexes()
        gateway = gateway_for(db, config)
        catalogue = CatalogueStore(db)
        table = subscriptions(OrderHandlers(store, gateway), CatalogueHandlers(catalogue))
        async with SagaParticipant(service="orders", db=db, amqp_url=settings.amqp_url,
                                   subscriptions=table, events=EVENTS,
                                   prefix=settings.saga_prefix,
                                   prefetch=settings.saga_prefetch) as saga:
            app = assemble(store, saga.outbox, ReadModelCatalogue(catalogue), gateway,
                           verifier, config)
            # After the participant bound the queue to the catalogue events: none is missed.
            background = [
                asyncio.create_task(app.sweeper.run(), name="order-sweeper"),
                asyncio.create_task(CatalogueFill(catalogue, channel).fill_unless_filled(),
                                    name="catalogue-fill"),
            ]
            try:
                await serve(GrpcServer(settings.listen_addr, [app.service.binding()]),
                            settings.shutdown_grace_seconds)
            finally:
                for task in background:
                    task.cancel()
                for task in background:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await app.watcher.close()


def gateway_for(db: AsyncDatabase[Document], config: OrdersConfig) -> SimulatedGateway:
    return SimulatedGateway(db, limit_cents=config.payment_limit_cents)
