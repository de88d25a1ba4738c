"""What people ask of orders: place one, move one along, cancel one.

Each state change and the event it causes commit in one outbox transaction. A cancellation
always emits ``OrderCancelled`` so inventory releases (or restocks) what it holds; an order
that was paid is marked ``refund_due`` in the same transaction and refunded right after, with
the timeout sweeper retrying any refund a crash left behind.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from pymongo.errors import DuplicateKeyError

from contracts.bookstore.events.v1 import events_pb2 as ev
from orders import metrics
from orders.catalogue import Catalog
from orders.lifecycle import Actor, IllegalTransition, Status, check_move
from orders.model import Order, new_order, request_fingerprint
from orders.payments import PaymentGateway
from orders.placing import OrderPlacer
from orders.pricing import merge_lines, price_lines
from orders.store import OrderStore
from orders.tracing import remember_placed
from runtime.auth import Principal
from runtime.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from saga import Outbox, UnitOfWork
from saga.tracing import carrier

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 200
MAX_TOKEN_LENGTH = 200
_CONTENDED_TRIES = 3


class OrderCommands:
    def __init__(self, store: OrderStore, outbox: Outbox, catalog: Catalog,
                 gateway: PaymentGateway) -> None:
        self._store = store
        self._outbox = outbox
        self._catalog = catalog
        self._gateway = gateway
        self._placer = OrderPlacer(store, outbox)

    async def place(
        self, caller: Principal, *, user_id: str, lines: Sequence[tuple[str, int]],
        idempotency_key: str, payment_token: str,
    ) -> Order:
        """Price and store a PENDING order with its ``OrderPlaced``; a repeated request (same
        key, same lines and payment token) returns the order it placed, and the same key with
        a different request is refused rather than silently answered with another order."""
        if user_id and user_id != caller.user_id:
            raise PermissionDenied("an order is placed for the caller's own account only")
        key = idempotency_key.strip() or None
        if key is not None and len(key) > MAX_KEY_LENGTH:
            raise InvalidArgument("idempotency_key", f"at most {MAX_KEY_LENGTH} characters")
        if len(payment_token) > MAX_TOKEN_LENGTH:
            raise InvalidArgument("payment_token", f"at most {MAX_TOKEN_LENGTH} characters")
        requested = merge_lines(lines)
        token = payment_token.strip()
        fingerprint = request_fingerprint(
            ((line.book_id, line.quantity) for line in requested), token)
        # A repeated key is found by the insert (the key decides the order's ``_id``), not
        # by a read before it: the usual, new order costs no read for it.
        try:
            books = await self._catalog.books(line.book_id for line in requested)
        except (NotFound, Unavailable):
            if key is not None and (earlier := await self._store.by_idempotency_key(
                    caller.user_id, key)) is not None:
                return _same_request(earlier, fingerprint)  # placed before the book went
            raise
        order = new_order(user_id=caller.user_id, lines=price_lines(requested, books),
                          payment_token=token, idempotency_key=key, fingerprint=fingerprint)

        try:
            await self._placer.store(order)
        except DuplicateKeyError:
            if key is None or (winner := await self._store.by_idempotency_key(
                    caller.user_id, key)) is None:
                raise
            return _same_request(winner, fingerprint)  # placed before, or a moment ago
        remember_placed(order.id, carrier())  # the context the placer stored it with
        log.info("order placed", extra={"order_id": order.id, "total_cents": order.total_cents})
        return order

    async def visible(self, caller: Principal, order_id: str) -> Order:
        """The order, if the caller may see it; another customer's order does not exist."""
        order = await self._store.get(order_id) if order_id else None
        return shown_to(caller, order_id, order)

    async def change_status(
        self, caller: Principal, order_id: str, target: Status, reason: str
    ) -> Order:
        """An admin moves an order along its lifecycle (shipping, completion, cancellation)."""
        caller.require_admin()
        return await self._move(caller, order_id, target, reason or "set by admin")

    async def cancel(self, caller: Principal, order_id: str) -> Order:
        """The owner (or an admin) cancels an order that has not shipped."""
        reason = "cancelled by admin" if caller.is_admin else "cancelled by customer"
        return await self._move(caller, order_id, Status.CANCELLED, reason)

    async def expire(self, order_id: str, reason: str) -> bool:
        """Cancel a PENDING order the saga never settled; ``False`` if it settled meanwhile."""

        async def work(uow: UnitOfWork) -> bool:
            order = await self._store.get(order_id, uow.session)
            return order is not None and await self._cancel(
                uow, order, Status.PENDING, reason, paid=False)

        return await self._outbox.run(work)

    async def refund(self, order_id: str) -> None:
        await self._gateway.refund(order_id)
        await self._store.refund_done(order_id)

    async def _move(self, caller: Principal, order_id: str, target: Status, reason: str) -> Order:
        for _ in range(_CONTENDED_TRIES):
            order = await self.visible(caller, order_id)
            check_move(order.status, target, Actor.PERSON)
            if target is Status.CANCELLED:
                moved = await self._outbox.run(self._cancelling(order, reason))
            else:
                moved = await self._store.transition(order.id, {order.status}, target, reason)
                if moved:
                    metrics.moved(order.status, target, order.created_at)
            if moved:
                log.info("order moved", extra={"order_id": order.id, "from": order.status.value,
                                               "to": target.value})
                if target is Status.CANCELLED and order.payment_reference:
                    await self.refund(order.id)
                return await self.visible(caller, order_id)
        # Someone else keeps moving it: report what it is now.
        latest = await self.visible(caller, order_id)
        raise IllegalTransition(latest.status, target)

    def _cancelling(self, order: Order, reason: str) -> Callable[[UnitOfWork], Awaitable[bool]]:
        """The unit of work that cancels ``order`` from the status it was read in."""
        paid = bool(order.payment_reference)
        return lambda uow: self._cancel(uow, order, order.status, reason, paid=paid)

    async def _cancel(self, uow: UnitOfWork, order: Order, source: Status, reason: str,
                      *, paid: bool) -> bool:
        moved = await self._store.transition(order.id, {source}, Status.CANCELLED, reason,
                                             session=uow.session, refund_due=paid)
        if moved:
            uow.emit(ev.OrderCancelled(order_id=order.id, reason=reason))
            metrics.moved(source, Status.CANCELLED, order.created_at, uow)
        return moved


def _same_request(earlier: Order, fingerprint: str) -> Order:
    """``earlier`` if it was placed by this very request; orders stored before fingerprints
    were kept have none and are taken as the same."""
    if earlier.request_fingerprint and earlier.request_fingerprint != fingerprint:
        raise FailedPrecondition(
            "idempotency_key was already used for a different order (other lines or payment "
            "token); use a new key for a new order")
    return earlier


def shown_to(caller: Principal, order_id: str, order: Order | None) -> Order:
    """``order`` if ``caller`` may see it, else NOT_FOUND: as if another's order did not exist."""
    if order is None or not (caller.is_admin or order.user_id == caller.user_id):
        raise NotFound(f"order {order_id} does not exist")
    return order
