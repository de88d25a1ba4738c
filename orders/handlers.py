"""The order service's part in the saga: how it reacts to inventory's answers.

The consumer has already found the event id not yet handled when a handler starts, and
records it in the handler's transaction, so a redelivered event is skipped before anything
runs. A *different* event about the same order (inventory answering twice, a reservation
arriving after a timeout) is handled by the status filter on every update: only a PENDING
order can be settled, and only once.

The payment is its own step, with no transaction open: on StockReserved, :meth:`charge`
notes on the order that payment is due (one conditional write) and charges the gateway,
idempotent per order, so a redelivery or a retry gets the first result instead of paying
twice. Then :meth:`settle`, in the consumer's transaction, moves the order on what the charge
answered. If the order was cancelled meanwhile (the timeout sweeper), the stock is released
again and the order marked for the sweeper to refund: no refund call inside the transaction.
A reservation for an order this service does not know is answered with ``OrderCancelled``,
so the copies are not held until inventory's hold timeout. A ``StockRejected`` whose lines
say HOLD_EXPIRED comes after inventory released a hold by its timeout: the order is cancelled
(and refunded) if PENDING or CONFIRMED, since those copies will not be sold to it.
If a settlement loses a race (the order moved since it was read), the handler raises
:class:`OrderChanged` and the consumer runs both steps again on the fresh state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from contracts.bookstore.events.v1 import events_pb2 as ev
from orders import metrics
from orders.catalogue import CatalogueHandlers
from orders.lifecycle import Actor, Status, sources_of
from orders.model import Order, OrderLine
from orders.payments import PaymentGateway, PaymentResult, charge_with_retry
from orders.store import OrderStore
from orders.tracing import payment_span
from saga import Subscriptions, UnitOfWork, in_transaction

log = logging.getLogger(__name__)

UNKNOWN_ORDER = "no such order"
HOLD_EXPIRED = "stock hold expired before the order was settled"
# What a StockRejected for an expired hold cancels; later statuses are people's business.
HOLD_EXPIRY_CANCELS = sources_of(Status.CANCELLED, Actor.SAGA)

REJECTION_TEXT = {
    ev.REJECTION_REASON_UNKNOWN_BOOK: "book not in the catalogue",
    ev.REJECTION_REASON_INSUFFICIENT_STOCK: "not enough stock",
    ev.REJECTION_REASON_ORDER_CANCELLED: "order was cancelled",
    ev.REJECTION_REASON_HOLD_EXPIRED: "stock hold expired",
}


@dataclass(frozen=True, slots=True)
class Charge:
    """What the charge step hands the settle step: the order as it was charged (PENDING) and
    the gateway's answer."""

    order: Order
    result: PaymentResult


class OrderChanged(Exception):  # noqa: N818 - a retry signal, named for what happened
    """The order moved between reading it and settling it; handle the event again."""


def hold_expired(event: ev.StockRejected) -> bool:
    """Inventory released a hold it had reserved (its hold timeout), rather than refusing one."""
    return any(line.reason == ev.REJECTION_REASON_HOLD_EXPIRED for line in event.lines)


def rejection_text(line: ev.RejectedLine) -> str:
    text = REJECTION_TEXT.get(line.reason, "could not be reserved")
    if line.reason == ev.REJECTION_REASON_INSUFFICIENT_STOCK:
        text += f" ({line.requested} requested, {line.available} available)"
    return text


class OrderHandlers:
    def __init__(self, store: OrderStore, gateway: PaymentGateway) -> None:
        self._store = store
        self._gateway = gateway

    async def on_stock_rejected(self, event: ev.StockRejected, uow: UnitOfWork) -> None:
        order = await self._store.get(event.order_id, uow.session)
        if order is None:
            log.warning("rejection for an unknown order", extra={"order_id": event.order_id})
            return
        if hold_expired(event):
            await self._hold_expired(order.id, order.status, uow)
            return
        if order.status is not Status.PENDING:
            log.info("late rejection ignored",
                     extra={"order_id": order.id, "status": order.status.value})
            return
        reasons = {line.book_id: rejection_text(line) for line in event.lines}
        lines = [OrderLine(line.book_id, line.title, line.quantity, line.unit_price_cents,
                           reasons.get(line.book_id, "")) for line in order.lines]
        summary = "; ".join(f"{line.title}: {line.rejection_reason}"
                            for line in lines if line.rejection_reason)
        reason = f"stock unavailable: {summary or 'reservation refused'}"
        if not await self._store.transition(order.id, {Status.PENDING}, Status.REJECTED, reason,
                                            session=uow.session, lines=lines, was=order):
            raise OrderChanged(order.id)
        metrics.moved(Status.PENDING, Status.REJECTED, order.created_at, uow)
        log.info("order rejected", extra={"order_id": order.id})

    async def _hold_expired(self, order_id: str, status: Status, uow: UnitOfWork) -> None:
        """Inventory gave the held copies back and will not sell them: an order still PENDING
        or already CONFIRMED is cancelled and owed a refund (a no-op if it never paid; a
        charge still in flight is given back by :meth:`settle`, which finds it CANCELLED)."""
        if status not in HOLD_EXPIRY_CANCELS:
            log.info("late rejection ignored", extra={"order_id": order_id,
                                                      "status": status.value})
            return
        if not await self._store.transition(order_id, {status}, Status.CANCELLED, HOLD_EXPIRED,
                                            session=uow.session, refund_due=True):
            raise OrderChanged(order_id)
        uow.emit(ev.OrderCancelled(order_id=order_id, reason=HOLD_EXPIRED))
        log.warning("order cancelled: stock hold expired", extra={"order_id": order_id})

    async def charge(self, event: ev.StockReserved) -> Charge | None:
        """Outside any transaction: charge a PENDING order; ``None`` if there is nothing to pay."""
        assert not in_transaction(), "the payment gateway is never called in a transaction"
        order = await self._store.get(event.order_id)
        if order is None or order.status is not Status.PENDING:
            return None
        await self._store.note_payment_due(order.id, order.total_cents)
        with payment_span(order.id, order.total_cents) as span:
            try:
                result = await charge_with_retry(
                    self._gateway, order.id, order.total_cents, order.payment_token)
            except Exception:
                metrics.payment("failed")
                raise
            span.set_attribute("payment.approved", result.approved)
        metrics.payment("charged" if result.approved else "declined")
        return Charge(order, result)

    async def settle(self, event: ev.StockReserved, charge: Charge | None,
                     uow: UnitOfWork) -> None:
        """In the consumer's transaction: confirm or cancel on the charge's answer.

        The usual case needs no read: the order was PENDING when charged, and the move's
        filter (PENDING only) checks it still is. Only a move that finds it changed reads it
        to see what happened meanwhile."""
        if charge is not None and await self._settle_pending(charge, uow):
            return
        result = None if charge is None else charge.result
        order = await self._store.get(event.order_id, uow.session)
        if order is None:
            # A forged or replayed OrderPlaced, or one from before a restore: nothing here will
            # ever confirm it, so have inventory release the hold now.
            uow.after_commit(lambda: log.warning("reservation for an unknown order released",
                                                 extra={"order_id": event.order_id}))
            uow.emit(ev.OrderCancelled(order_id=event.order_id, reason=UNKNOWN_ORDER))
            return
        if order.status is Status.CANCELLED:
            # Held after we gave up (timeout): have inventory release it again, and give back
            # a charge that may have won a race with the cancel (the sweeper refunds).
            log.info("late reservation released", extra={"order_id": order.id})
            await self._store.owe_refund(order.id, uow.session)
            uow.emit(ev.OrderCancelled(order_id=order.id, reason=order.reason or "cancelled"))
            return
        if order.status is not Status.PENDING:
            log.info("duplicate reservation ignored",
                     extra={"order_id": order.id, "status": order.status.value})
            return
        if result is None:  # it was not PENDING when charged, and is again: read it afresh
            raise OrderChanged(order.id)
        if not await self._settle_pending(Charge(order, result), uow):
            raise OrderChanged(order.id)

    async def _settle_pending(self, charge: Charge, uow: UnitOfWork) -> bool:
        """Confirm or cancel the order on the charge's answer if it is PENDING; ``False`` if
        it was not (nothing written)."""
        order, result = charge.order, charge.result
        if result.approved:
            moved = await self._store.transition(
                order.id, sources_of(Status.CONFIRMED, Actor.SAGA), Status.CONFIRMED,
                "paid", session=uow.session, payment_reference=result.reference, was=order)
            if moved:
                uow.emit(ev.OrderConfirmed(order_id=order.id,
                                           payment_reference=result.reference))
        else:
            reason = f"payment declined: {result.decline_reason}"
            moved = await self._store.transition(
                order.id, {Status.PENDING}, Status.CANCELLED, reason, session=uow.session,
                was=order)
            if moved:
                uow.emit(ev.OrderCancelled(order_id=order.id, reason=reason))
        if not moved:
            return False
        metrics.moved(Status.PENDING, Status.CONFIRMED if result.approved else Status.CANCELLED,
                      order.created_at, uow)
        log.info("order settled", extra={"order_id": order.id, "approved": result.approved})
        return True


def subscriptions(handlers: OrderHandlers, catalogue: CatalogueHandlers) -> Subscriptions:
    """The events this service consumes, and who handles each."""
    return (Subscriptions()
            .on(ev.StockRejected, handlers.on_stock_rejected)
            .on(ev.StockReserved, handlers.settle, outside=handlers.charge)
            .on(ev.BookAdded, catalogue.on_book_added)
            .on(ev.BookChanged, catalogue.on_book_changed))
