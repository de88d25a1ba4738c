"""The shared gRPC server: health, reflection, and errors mapped to status codes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from contracts.bookstore.inventory.v1 import inventory_pb2, inventory_pb2_grpc
from contracts.bookstore.orders.v1 import orders_pb2, orders_pb2_grpc
from runtime.errors import NotFound
from runtime.server import GrpcServer, ListenError, ServiceBinding

Context = grpc.aio.ServicerContext[Any, Any]
INVENTORY = inventory_pb2.DESCRIPTOR.services_by_name["InventoryService"].full_name
ORDERS = orders_pb2.DESCRIPTOR.services_by_name["OrderService"].full_name


class FailingInventory(inventory_pb2_grpc.InventoryServiceServicer):
    """Raises a domain error for one RPC and a bug for another."""

    async def GetBookDetails(
        self, request: inventory_pb2.BookIDRequest, context: Context
    ) -> inventory_pb2.BookResponse:
        raise NotFound(f"no book with id {request.book_id!r}")

    async def CheckAvailability(
        self, request: inventory_pb2.BookIDRequest, context: Context
    ) -> inventory_pb2.AvailabilityResponse:
        raise RuntimeError("secret internals")


class StreamingOrders(orders_pb2_grpc.OrderServiceServicer):
    """Streams one update, then fails with a domain error."""

    async def WatchOrder(
        self, request: orders_pb2.OrderIDRequest, context: Context
    ) -> AsyncIterator[orders_pb2.OrderResponse]:
        yield orders_pb2.OrderResponse(order=orders_pb2.Order(id=request.order_id))
        raise NotFound("order vanished")


@pytest.fixture
async def channel() -> AsyncIterator[grpc.aio.Channel]:
    server = GrpcServer("127.0.0.1:0", [
        ServiceBinding(INVENTORY, FailingInventory(),  # type: ignore[abstract]
                       inventory_pb2_grpc.add_InventoryServiceServicer_to_server),
        ServiceBinding(ORDERS, StreamingOrders(),  # type: ignore[abstract]
                       orders_pb2_grpc.add_OrderServiceServicer_to_server),
    ])
    await server.start()
    async with grpc.aio.insecure_channel(server.address) as chan:
        yield chan
    await server.stop(0)


async def test_health_reports_serving_for_server_and_each_service(
    channel: grpc.aio.Channel,
) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    for name in ("", INVENTORY, ORDERS):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, name


async def test_reflection_lists_services(channel: grpc.aio.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    names: set[str] = set()
    async for reply in stub.ServerReflectionInfo(iter([request]), timeout=5):
        names |= {s.name for s in reply.list_services_response.service}
    assert {INVENTORY, ORDERS, "grpc.health.v1.Health"} <= names


async def test_domain_error_becomes_its_status_with_message(channel: grpc.aio.Channel) -> None:
    stub = inventory_pb2_grpc.InventoryServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.GetBookDetails(inventory_pb2.BookIDRequest(book_id="b1"), timeout=5)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details() == "no book with id 'b1'"


async def test_unexpected_error_is_internal_without_leaking_details(
    channel: grpc.aio.Channel, caplog: pytest.LogCaptureFixture,
) -> None:
    stub = inventory_pb2_grpc.InventoryServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CheckAvailability(inventory_pb2.BookIDRequest(book_id="b1"), timeout=5)
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in (info.value.details() or "")
    assert any(r.exc_info and "secret internals" in str(r.exc_info[1]) for r in caplog.records)


async def test_unimplemented_method_stays_unimplemented(channel: grpc.aio.Channel) -> None:
    stub = inventory_pb2_grpc.InventoryServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.AddBook(inventory_pb2.BookRequest(), timeout=5)
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_stream_error_after_first_message_keeps_message_and_status(
    channel: grpc.aio.Channel,
) -> None:
    stub = orders_pb2_grpc.OrderServiceStub(channel)
    call = stub.WatchOrder(orders_pb2.OrderIDRequest(order_id="o1"), timeout=5)
    first = await call.read()
    assert isinstance(first, orders_pb2.OrderResponse)
    assert first.order.id == "o1"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call.read()
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_graceful_stop_reports_not_serving() -> None:
    server = GrpcServer("127.0.0.1:0", [])
    await server.start()
    async with grpc.aio.insecure_channel(server.address) as chan:
        stub = health_pb2_grpc.HealthStub(chan)
        watch = stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=10)
        first = await watch.read()
        assert first.status == health_pb2.HealthCheckResponse.SERVING
        await server.stop(grace=1)
        statuses = []
        try:
            while (update := await watch.read()) is not grpc.aio.EOF:  # type: ignore[attr-defined]
                statuses.append(update.status)
        except grpc.aio.AioRpcError:
            pass
    assert health_pb2.HealthCheckResponse.NOT_SERVING in statuses


async def test_second_server_on_a_taken_port_fails_instead_of_sharing_it() -> None:
    first = GrpcServer("127.0.0.1:0", [])
    await first.start()
    try:
        with pytest.raises(ListenError, match=r"cannot listen on 127\.0\.0\.1"):
            GrpcServer(first.address, [])
    finally:
        await first.stop(0)
