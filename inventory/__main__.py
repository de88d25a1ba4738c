"""Runs the inventory service: ``python -m inventory``."""

from __future__ import annotations

import asyncio

from inventory.cache import BookCache
from inventory.handlers import InventoryHandlers, subscriptions
from inventory.service import InventoryService
from inventory.stock import StockLedger
from inventory.store import BookStore
from runtime import GrpcServer, Settings, TokenVerifier, configure_logging, open_database, serve
from runtime.broker import BrokerProbe
from runtime.health import Dependency
from runtime.keys import load_public_key
from runtime.mongo import ping_probe
from saga import SagaParticipant


async def main() -> None:
    settings = Settings.from_env("inventory")
    configure_logging("inventory", settings.log_level, settings.log_format)
    verifier = TokenVerifier(load_public_key(settings))
    async with open_database(settings.mongo_url, settings.mongo_db) as db:
        store = BookStore(db)
        await store.ensure_indexes()
        table = subscriptions(InventoryHandlers(StockLedger(db)))
        async with (SagaParticipant(service="inventory", db=db, amqp_url=settings.amqp_url,
                                    subscriptions=table, prefix=settings.saga_prefix,
                                    prefetch=settings.saga_prefetch),
                    BookCache(store) as cache,
                    BrokerProbe(settings.amqp_url, name="inventory") as broker):
            service = InventoryService(store, verifier, cache)
            server = GrpcServer(settings.listen_addr, [service.binding()],
                                dependencies=[Dependency("mongodb", ping_probe(db.client)),
                                              Dependency("broker", broker)],
                                probe_interval=settings.health_probe_seconds)
            await serve(server, settings.shutdown_grace_seconds)


if __name__ == "__main__":
    asyncio.run(main())
