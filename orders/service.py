"""The gRPC face of orders: proto in, commands and queries, proto out.

Every call needs an access token. Customers see and act on their own orders only; asking for
another customer's order answers NOT_FOUND, exactly as for an id that names nothing, so ids
cannot be probed. Admins see every order and move orders along (UpdateOrderStatus).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from contracts.bookstore.orders.v1 import orders_pb2 as pb
from contracts.bookstore.orders.v1 import orders_pb2_grpc as pb_grpc
from contracts.bookstore.timeline.v1 import timeline_pb2 as timeline_pb
from orders import paging
from orders.commands import OrderCommands, shown_to
from orders.lifecycle import Status
from orders.model import Order
from orders.store import OrderStore
from orders.timeline import order_timeline
from orders.tracing import link_to_order, name_the_order
from orders.watch import OrderWatcher
from runtime.auth import TokenVerifier
from runtime.errors import InvalidArgument
from runtime.pagetokens import page_size
from runtime.server import ServiceBinding
from saga.journal import Journal

Context = grpc.aio.ServicerContext[Any, Any]
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["OrderService"].full_name

TO_PROTO = {
    Status.PENDING: pb.ORDER_STATUS_PENDING, Status.CONFIRMED: pb.ORDER_STATUS_CONFIRMED,
    Status.SHIPPED: pb.ORDER_STATUS_SHIPPED, Status.COMPLETED: pb.ORDER_STATUS_COMPLETED,
    Status.REJECTED: pb.ORDER_STATUS_REJECTED, Status.CANCELLED: pb.ORDER_STATUS_CANCELLED,
}
FROM_PROTO = {value: status for status, value in TO_PROTO.items()}


class OrderService(pb_grpc.OrderServiceServicer):
    def __init__(self, commands: OrderCommands, store: OrderStore, watcher: OrderWatcher,
                 verifier: TokenVerifier, journal: Journal) -> None:
        self._commands = commands
        self._journal = journal
        self._store = store
        self._watcher = watcher
        self._verifier = verifier

    def binding(self) -> ServiceBinding:
        return ServiceBinding(SERVICE_NAME, self, pb_grpc.add_OrderServiceServicer_to_server)

    async def PlaceOrder(self, request: pb.OrderRequest, context: Context) -> pb.OrderResponse:
        caller = self._verifier.authenticate(context)
        order = await self._commands.place(
            caller, user_id=request.user_id,
            lines=[(line.book_id, line.quantity) for line in request.lines],
            idempotency_key=request.idempotency_key, payment_token=request.payment_token)
        name_the_order(order.id)
        return pb.OrderResponse(order=to_proto(order))

    async def UpdateOrderStatus(
        self, request: pb.OrderStatusUpdateRequest, context: Context
    ) -> pb.OrderResponse:
        caller = self._verifier.authenticate(context)
        target = FROM_PROTO.get(request.status)
        if target is None:
            raise InvalidArgument("status", "must name an order status")
        order = await self._commands.change_status(
            caller, request.order_id, target, request.reason.strip())
        return pb.OrderResponse(order=to_proto(order))

    async def GetOrderStatus(
        self, request: pb.OrderIDRequest, context: Context
    ) -> pb.OrderResponse:
        caller = self._verifier.authenticate(context)
        return pb.OrderResponse(order=to_proto(
            await self._commands.visible(caller, request.order_id)))

    async def GetOrderHistory(
        self, request: pb.UserIDRequest, context: Context
    ) -> pb.OrderHistoryResponse:
        caller = self._verifier.authenticate(context)
        user_id = request.user_id or caller.user_id
        caller.require_self_or_admin(user_id)
        size = page_size(request.page_size, default=paging.DEFAULT_PAGE_SIZE,
                         maximum=paging.MAX_PAGE_SIZE)
        query = paging.history_of(user_id)
        after = paging.decode_token(request.page_token, query)
        found = await self._store.page(user_id, after, size + 1)
        token = ""
        if len(found) > size:
            last = found[size - 1]
            token = paging.encode_token(paging.Position(last.created_at, last.id), query)
        return pb.OrderHistoryResponse(
            orders=[to_proto(order) for order in found[:size]], next_page_token=token)

    async def CancelOrder(self, request: pb.OrderIDRequest, context: Context) -> pb.OrderResponse:
        caller = self._verifier.authenticate(context)
        return pb.OrderResponse(order=to_proto(
            await self._commands.cancel(caller, request.order_id)))

    async def GetOrderTimeline(
        self, request: timeline_pb.OrderTimelineRequest, context: Context
    ) -> pb.OrderTimelineResponse:
        """The order's steps here, from its history and saga's journal; as GetOrderStatus, an
        order the caller may not see does not exist."""
        caller = self._verifier.authenticate(context)
        found = await self._store.with_history(request.order_id) if request.order_id else None
        order = shown_to(caller, request.order_id, None if found is None else found[0])
        history = found[1] if found is not None else []
        steps = order_timeline(history, await self._journal.of(order.id))
        return pb.OrderTimelineResponse(order=to_proto(order), steps=steps)

    async def WatchOrder(
        self, request: pb.OrderIDRequest, context: Context
    ) -> AsyncIterator[pb.OrderResponse]:
        caller = self._verifier.authenticate(context)
        sent = False
        if request.order_id:
            async with contextlib.aclosing(self._watcher.follow(request.order_id)) as states:
                async for state in states:
                    if not sent:  # the watch's first read is the permission check too
                        shown_to(caller, request.order_id, state)
                        sent = True
                        await link_to_order(self._store, state.id)
                    yield pb.OrderResponse(order=to_proto(state))
        if not sent:
            shown_to(caller, request.order_id, None)  # NOT_FOUND


def _timestamp(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def to_proto(order: Order) -> pb.Order:
    return pb.Order(
        id=order.id, user_id=order.user_id, status=TO_PROTO[order.status],
        lines=[pb.OrderLine(book_id=line.book_id, title=line.title, quantity=line.quantity,
                            unit_price_cents=line.unit_price_cents,
                            line_total_cents=line.line_total_cents,
                            rejection_reason=line.rejection_reason) for line in order.lines],
        total_cents=order.total_cents, reason=order.reason,
        payment_reference=order.payment_reference,
        history=[pb.StatusChange(status=TO_PROTO[h.status], at=_timestamp(h.at), reason=h.reason)
                 for h in order.history],
        created_at=_timestamp(order.created_at), updated_at=_timestamp(order.updated_at),
    )
