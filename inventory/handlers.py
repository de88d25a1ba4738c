"""The inventory's part in the order saga: one thin handler per event it consumes.

Each runs inside the consumer's transaction (``uow.session``), after the consumer found the
event id not yet handled, and records it there, so the stock change, the reservation and the
reply commit together or not at all. An OrderPlaced for an order cancelled first is answered
with StockRejected (ORDER_CANCELLED): the orders service then hears about every order it
placed, and holds nothing for it. An OrderConfirmed for a hold that expired
(:mod:`inventory.holds`) sells nothing: the copies are on sale again.
"""

from __future__ import annotations

import logging

from contracts.bookstore.events.v1 import events_pb2 as ev
from inventory import metrics
from inventory.reservations import Line, Reason, Rejected, State
from inventory.stock import StockCorruptedError, StockLedger
from saga import PoisonMessage, Subscriptions, UnitOfWork

log = logging.getLogger(__name__)

REASONS = {
    Reason.UNKNOWN_BOOK: ev.REJECTION_REASON_UNKNOWN_BOOK,
    Reason.INSUFFICIENT_STOCK: ev.REJECTION_REASON_INSUFFICIENT_STOCK,
    Reason.ORDER_CANCELLED: ev.REJECTION_REASON_ORDER_CANCELLED,
    Reason.INVALID_QUANTITY: ev.REJECTION_REASON_UNSPECIFIED,
}


class InventoryHandlers:
    def __init__(self, ledger: StockLedger) -> None:
        self._ledger = ledger

    async def on_order_placed(self, event: ev.OrderPlaced, uow: UnitOfWork) -> None:
        lines = [Line(line.book_id, line.quantity) for line in event.lines]
        outcome = await self._ledger.reserve(event.order_id, lines, uow, user_id=event.user_id)
        if outcome is None:
            return
        if isinstance(outcome, Rejected):
            log.info("stock rejected", extra={"order_id": event.order_id})
            metrics.reservation(uow, metrics.REJECTED)
            uow.emit(ev.StockRejected(order_id=event.order_id, lines=[
                ev.RejectedLine(book_id=f.book_id, requested=f.requested,
                                available=f.available, reason=REASONS[f.reason])
                for f in outcome.lines]))
            return
        uow.emit(ev.StockReserved(order_id=event.order_id, lines=[
            ev.OrderLineItem(book_id=line.book_id, quantity=line.quantity)
            for line in outcome.lines]))
        metrics.reservation(uow, metrics.RESERVED)

    async def on_order_confirmed(self, event: ev.OrderConfirmed, uow: UnitOfWork) -> None:
        try:
            sold = await self._ledger.confirm(event.order_id, uow)
        except StockCorruptedError as exc:
            raise PoisonMessage(str(exc)) from exc
        if sold:
            return
        if await self._ledger.state(event.order_id, uow) == State.EXPIRED:
            # Its copies went back on sale; orders, told by StockRejected (HOLD_EXPIRED),
            # cancels the order and refunds it.
            log.warning("sale of an expired hold refused", extra={"order_id": event.order_id})
            return
        log.warning("confirmation with nothing held", extra={"order_id": event.order_id})

    async def on_order_cancelled(self, event: ev.OrderCancelled, uow: UnitOfWork) -> None:
        try:
            result = await self._ledger.cancel(event.order_id, uow)
        except StockCorruptedError as exc:
            raise PoisonMessage(str(exc)) from exc
        log.info("order cancelled", extra={"order_id": event.order_id, "result": result.value})


def subscriptions(handlers: InventoryHandlers) -> Subscriptions:
    """The events this service consumes, and who handles each."""
    return (Subscriptions()
            .on(ev.OrderPlaced, handlers.on_order_placed)
            .on(ev.OrderConfirmed, handlers.on_order_confirmed)
            .on(ev.OrderCancelled, handlers.on_order_cancelled))
