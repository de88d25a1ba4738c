"""A hold that expires before the order settles, across both participants on a real broker:
whichever way the timing falls, the order ends CANCELLED and refunded, and no expired copy
is sold."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.bookstore.inventory.v1 import inventory_pb2 as inv
from contracts.bookstore.orders.v1 import orders_pb2 as pb
from inventory.events import EVENTS as INVENTORY_EVENTS
from inventory.handlers import InventoryHandlers
from inventory.holds import HoldSweeper
from inventory.stock import StockLedger
from inventory.stock_store import StockStore
from orders.handlers import HOLD_EXPIRED, OrderHandlers
from orders.payments import PaymentResult, SimulatedGateway
from saga import Outbox, UnitOfWork
from tests.integration.orders.conftest import Stack, running_saga
from tests.integration.saga.helpers import eventually

pytestmark = pytest.mark.integration
S = pb.OrderStatus


class GatedGateway:
    """The simulated gateway, holding every charge until :attr:`open` is set."""

    def __init__(self, gateway: SimulatedGateway) -> None:
        self._gateway = gateway
        self.open = asyncio.Event()
        self.waiting = asyncio.Event()

    async def charge(self, order_id: str, amount_cents: int, payment_token: str
                     ) -> PaymentResult:
        self.waiting.set()
        await self.open.wait()
        return await self._gateway.charge(order_id, amount_cents, payment_token)

    async def refund(self, order_id: str) -> None:
        await self._gateway.refund(order_id)


class GatedConfirmations(InventoryHandlers):
    """Inventory whose OrderConfirmed handler waits for :attr:`open` before its first
    statement (so it holds no transaction snapshot meanwhile)."""

    def __init__(self, ledger: StockLedger) -> None:
        super().__init__(ledger)
        self.open = asyncio.Event()
        self.waiting = asyncio.Event()

    async def on_order_confirmed(self, event: ev.OrderConfirmed, uow: UnitOfWork) -> None:
        self.waiting.set()
        await self.open.wait()
        await super().on_order_confirmed(event, uow)


async def expire_holds(stack: Stack, order_id: str) -> None:
    """Wait until inventory holds the order's copies, then release them as the hold timeout
    does (a zero timeout)."""
    stock = StockStore(stack.inventory_db)

    async def held() -> bool:
        found = await stack.inventory_db["reservations"].find_one({"_id": order_id})
        return found is not None and found["state"] == "held"

    await eventually(held)
    sweeper = HoldSweeper(stock, StockLedger(stock), Outbox(stack.inventory_db, INVENTORY_EVENTS),
                          timeout=timedelta(0), interval=0.1)
    assert await sweeper.sweep_once() == 1


async def settled_as_expired(stack: Stack, order_id: str, book: str) -> None:
    """The order is CANCELLED for the expired hold, refunded, and the book has every copy
    back on sale with the stock invariant intact."""
    async def cancelled() -> bool:
        return await stack.status(order_id) == S.ORDER_STATUS_CANCELLED

    await eventually(cancelled)
    order = (await stack.orders.GetOrderStatus(pb.OrderIDRequest(order_id=order_id),
                                               metadata=stack.admin)).order
    assert order.reason == HOLD_EXPIRED

    async def refunded() -> bool:
        await stack.app.sweeper.sweep_once()  # the refund the orders sweeper owes
        return await stack.gateway.state_of(order_id) == "refunded"

    await eventually(refunded)
    details = (await stack.inventory.GetBookDetails(inv.BookIDRequest(book_id=book))).book
    assert (details.available, details.reserved, details.sold) == (3, 0, 0)
    invariant = await stack.inventory.CheckStockInvariant(inv.StockInvariantRequest(),
                                                          metadata=stack.admin)
    assert list(invariant.violations) == []
    reservation = await stack.inventory_db["reservations"].find_one({"_id": order_id})
    assert reservation is not None
    assert reservation["state"] == "expired"


async def test_a_hold_expiring_while_the_charge_runs_cancels_and_refunds(
    stack: Stack, amqp_url: str,
) -> None:
    gateway = GatedGateway(stack.gateway)
    async with running_saga(stack, amqp_url, OrderHandlers(stack.app.store, gateway)):
        book = await stack.add_book(stock=3)
        order = await stack.place((book, 2), payment_token="tok_visa")
        async with asyncio.timeout(20):
            await gateway.waiting.wait()
        await expire_holds(stack, order.id)

        async def cancelled_first() -> bool:
            return await stack.status(order.id) == S.ORDER_STATUS_CANCELLED

        await eventually(cancelled_first)
        gateway.open.set()  # the charge goes through now, after the order was cancelled
        await eventually(lambda: _state_is(stack, order.id, "approved", "refunded"))
        await settled_as_expired(stack, order.id, book)


async def test_a_confirmation_arriving_after_the_hold_expired_sells_nothing(
    stack: Stack, amqp_url: str,
) -> None:
    inventory = GatedConfirmations(StockLedger(StockStore(stack.inventory_db)))
    async with running_saga(stack, amqp_url, stack.handlers, inventory):
        book = await stack.add_book(stock=3)
        order = await stack.place((book, 2), payment_token="tok_visa")
        async with asyncio.timeout(20):
            await inventory.waiting.wait()  # orders confirmed; inventory has not sold yet
        assert await stack.status(order.id) == S.ORDER_STATUS_CONFIRMED
        await expire_holds(stack, order.id)
        inventory.open.set()
        await settled_as_expired(stack, order.id, book)


async def _state_is(stack: Stack, order_id: str, *states: str) -> bool:
    return await stack.gateway.state_of(order_id) in states
