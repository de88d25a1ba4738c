"""The /metrics endpoint, its address, and RPC metrics recorded as servicers answer."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from contracts.bookstore.orders.v1 import orders_pb2, orders_pb2_grpc
from contracts.bookstore.user.v1 import user_pb2, user_pb2_grpc
from runtime.errors import NotFound
from runtime.metrics import (
    MetricsAddress,
    MetricsAddressError,
    MetricsServer,
    parse_metrics_addr,
    serve_metrics,
)
from runtime.server import GrpcServer, ServiceBinding
from tests.unit.runtime.fake_users import KNOWN_USER, SERVICE, serving
from tests.waiting import until

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.mark.parametrize(("value", "address"), [
    ("off", None),
    (" OFF ", None),
    ("127.0.0.1:9101", MetricsAddress("127.0.0.1", 9101)),
    ("0.0.0.0:0", MetricsAddress("0.0.0.0", 0)),
    ("[::1]:9102", MetricsAddress("::1", 9102)),
    ("localhost:65535", MetricsAddress("localhost", 65535)),
])
def test_parse_metrics_addr(value: str, address: MetricsAddress | None) -> None:
    assert parse_metrics_addr(value) == address


@pytest.mark.parametrize("value", ["", "9101", ":9101", "host:", "host:port", "host:65536",
                                   "host:-1", "on"])
def test_a_bad_metrics_addr_is_refused(value: str) -> None:
    with pytest.raises(MetricsAddressError, match="'off' or 'host:port'"):
        parse_metrics_addr(value)


def test_off_serves_nothing() -> None:
    assert serve_metrics(None) is None


async def served_orders() -> GrpcServer:
    servicer = FakeOrders()  # type: ignore[abstract]  # the generated base answers the rest
    binding = ServiceBinding(ORDERS, servicer, orders_pb2_grpc.add_OrderServiceServicer_to_server)
    server = GrpcServer("127.0.0.1:0", [binding])
    await server.start()
    return server


@pytest.fixture
def endpoint() -> Iterator[MetricsServer]:
    server = serve_metrics(MetricsAddress("127.0.0.1", 0))
    assert server is not None
    try:
        yield server
    finally:
        server.stop()


def scrape(server: MetricsServer) -> Samples:
    with urllib.request.urlopen(server.url, timeout=5) as response:  # our own
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def moved(before: Samples, after: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """How far each of ``name``'s series moved between two scrapes, for this test's service."""
    return {labels: value - before.get((sample, labels), 0.0)
            for (sample, labels), value in after.items()
            if sample == name and dict(labels).get("method", "").startswith(f"/{SERVICE}/")
            and value != before.get((sample, labels), 0.0)}


def test_port_zero_binds_a_free_port_that_can_be_read(endpoint: MetricsServer) -> None:
    assert endpoint.port > 0
    assert endpoint.url == f"http://127.0.0.1:{endpoint.port}/metrics"
    assert any(name == "python_info" for name, _ in scrape(endpoint))


def test_two_endpoints_run_side_by_side(endpoint: MetricsServer) -> None:
    other = MetricsServer(MetricsAddress("127.0.0.1", 0))
    try:
        assert other.port != endpoint.port
        assert scrape(other).keys() == scrape(endpoint).keys()
    finally:
        other.stop()


async def test_rpc_metrics_move_by_exactly_the_calls_made(endpoint: MetricsServer) -> None:
    before = scrape(endpoint)
    async with serving() as address, grpc.aio.insecure_channel(address) as channel:
        stub = user_pb2_grpc.UserServiceStub(channel)
        for _ in range(3):
            await stub.GetUser(user_pb2.UserIDRequest(user_id=KNOWN_USER), timeout=5)
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.GetUser(user_pb2.UserIDRequest(user_id="nobody"), timeout=5)
        with pytest.raises(grpc.aio.AioRpcError) as unimplemented:
            await stub.DeleteUser(user_pb2.UserIDRequest(user_id=KNOWN_USER), timeout=5)
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND
    assert unimplemented.value.code() is grpc.StatusCode.UNIMPLEMENTED
    after = scrape(endpoint)

    get_user, delete_user = f"/{SERVICE}/GetUser", f"/{SERVICE}/DeleteUser"
    assert moved(before, after, "bookstore_rpc_requests_total") == {
        (("code", "OK"), ("method", get_user)): 3.0,
        (("code", "NOT_FOUND"), ("method", get_user)): 1.0,
        (("code", "UNIMPLEMENTED"), ("method", delete_user)): 1.0,
    }
    assert moved(before, after, "bookstore_rpc_duration_seconds_count") == {
        (("method", get_user),): 4.0,
        (("method", delete_user),): 1.0,
    }


ORDERS = "bookstore.orders.v1.OrderService"


class FakeOrders(orders_pb2_grpc.OrderServiceServicer):
    """``WatchOrder`` streams two states of ``o-1`` then ends, one of ``o-open`` then waits for
    ever; other orders are unknown."""

    async def WatchOrder(self, request: orders_pb2.OrderIDRequest,
                         context: grpc.aio.ServicerContext[object, object]
                         ) -> AsyncIterator[orders_pb2.OrderResponse]:
        if request.order_id == "o-open":
            yield orders_pb2.OrderResponse(order=orders_pb2.Order(id="o-open"))
            await asyncio.Event().wait()
        if request.order_id != "o-1":
            raise NotFound(f"no order {request.order_id}")
        for _ in range(2):
            yield orders_pb2.OrderResponse(order=orders_pb2.Order(id="o-1"))


def watch_counts(endpoint: MetricsServer) -> dict[str, float]:
    samples = scrape(endpoint)
    method = f"/{ORDERS}/WatchOrder"
    return {code: samples.get(("bookstore_rpc_requests_total",
                               (("code", code), ("method", method))), 0.0)
            for code in ("OK", "NOT_FOUND", "CANCELLED")}


async def test_streams_are_counted_when_they_end(endpoint: MetricsServer) -> None:
    server = await served_orders()
    before = watch_counts(endpoint)
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = orders_pb2_grpc.OrderServiceStub(channel)
            answers = [r async for r in stub.WatchOrder(
                orders_pb2.OrderIDRequest(order_id="o-1"), timeout=5)]
            assert len(answers) == 2
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                async for _ in stub.WatchOrder(orders_pb2.OrderIDRequest(order_id="o-2"),
                                               timeout=5):
                    pass
            assert missing.value.code() is grpc.StatusCode.NOT_FOUND
    finally:
        await server.stop(0)
    after = watch_counts(endpoint)
    assert {code: after[code] - before[code] for code in after} == {
        "OK": 1.0, "NOT_FOUND": 1.0, "CANCELLED": 0.0}


async def test_a_stream_the_caller_abandons_counts_as_cancelled(endpoint: MetricsServer) -> None:
    server = await served_orders()
    before = watch_counts(endpoint)
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            call = orders_pb2_grpc.OrderServiceStub(channel).WatchOrder(
                orders_pb2.OrderIDRequest(order_id="o-open"), timeout=30)
            await call.read()
            call.cancel()
            await until(lambda: watch_counts(endpoint)["CANCELLED"] > before["CANCELLED"],
                        10, what="the abandoned stream counted")
    finally:
        await server.stop(0)
    after = watch_counts(endpoint)
    assert {code: after[code] - before[code] for code in after} == {
        "OK": 0.0, "NOT_FOUND": 0.0, "CANCELLED": 1.0}
