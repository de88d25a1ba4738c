"""Assembles the order service from its parts; shared by ``python -m orders`` and the tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase

from orders.catalog import Catalog, InventoryCatalog
from orders.commands import OrderCommands
from orders.config import OrdersConfig
from orders.handlers import OrderHandlers, subscriptions
from orders.payments import PaymentGateway, SimulatedGateway
from orders.service import OrderService
from orders.store import OrderStore
from orders.timeouts import Sweeper
from orders.watch import OrderWatcher
from runtime.auth import TokenVerifier
from runtime.broker import BrokerProbe
from runtime.channels import balanced_channel
from runtime.health import Dependency
from runtime.keys import load_public_key
from runtime.mongo import Document, open_database, ping_probe
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
    """Serve until SIGTERM or SIGINT, sweeping timed-out orders in the background."""
    verifier = TokenVerifier(load_public_key(settings))
    async with (open_database(settings.mongo_url, settings.mongo_db) as db,
                balanced_channel(settings.inventory_addr) as channel):
        store = OrderStore(db)
        await store.ensure_indexes()
        gateway = gateway_for(db, config)
        table = subscriptions(OrderHandlers(store, gateway))
        async with (SagaParticipant(service="orders", db=db, amqp_url=settings.amqp_url,
                                   subscriptions=table, prefix=settings.saga_prefix,
                                   prefetch=settings.saga_prefetch) as saga,
                   BrokerProbe(settings.amqp_url, name="orders") as broker):
            app = assemble(store, saga.outbox, InventoryCatalog(channel), gateway, verifier,
                           config)
            sweeping = asyncio.create_task(app.sweeper.run(), name="order-sweeper")
            try:
                server = GrpcServer(
                    settings.listen_addr, [app.service.binding()],
                    dependencies=[Dependency("mongodb", ping_probe(db.client)),
                                  Dependency("broker", broker)],
                    probe_interval=settings.health_probe_seconds)
                await serve(server, settings.shutdown_grace_seconds)
            finally:
                sweeping.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeping
                await app.watcher.close()


def gateway_for(db: AsyncDatabase[Document], config: OrdersConfig) -> SimulatedGateway:
    return SimulatedGateway(db, limit_cents=config.payment_limit_cents)
