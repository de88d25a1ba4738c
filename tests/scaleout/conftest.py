"""Two instances of every service on one stack, and a shop per instance to talk to them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager

import grpc
import pytest

from contracts.bookstore.inventory.v1 import inventory_pb2_grpc as inv_grpc
from contracts.bookstore.orders.v1 import orders_pb2_grpc as pb_grpc
from contracts.bookstore.user.v1 import user_pb2_grpc as users_grpc
from tests.e2e.shop import Shop
from tests.stack import ADMIN_EMAIL, ADMIN_PASSWORD, Stack, running_stack

INSTANCES = 2


@pytest.fixture(scope="module")
def scaled(mongo_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Stack]:
    """Every service twice: competing consumers, two relays per outbox, two sweepers."""
    # Orders wait longer than the database keeps a killed instance's open transaction
    # (transactionLifetimeLimitSeconds, 60 s): the kill test's orders must outlive the books
    # that transaction holds, or they all time out instead of settling on the survivor.
    with running_stack(mongo_url, amqp_url, tmp_path_factory.mktemp("scaled"),
                       instances=INSTANCES, order_timeout_seconds=120) as running:
        yield running


@asynccontextmanager
async def open_shops(stack: Stack) -> AsyncIterator[list[Shop]]:
    """One :class:`Shop` per instance number: shop ``i`` talks to instance ``i`` of each service."""
    async with AsyncExitStack() as exits:
        shops: list[Shop] = []
        for i in range(INSTANCES):
            user, inventory, orders = [
                await exits.enter_async_context(
                    grpc.aio.insecure_channel(stack.addresses_of(svc)[i]))
                for svc in ("user", "inventory", "orders")]
            shop = Shop(users_grpc.UserServiceStub(user), inv_grpc.InventoryServiceStub(inventory),
                        pb_grpc.OrderServiceStub(orders), admin=(), stack=stack)
            shop.admin = await shop.login(ADMIN_EMAIL, ADMIN_PASSWORD)
            shops.append(shop)
        yield shops
