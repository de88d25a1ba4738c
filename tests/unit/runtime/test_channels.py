"""Reaching every instance of a service: targets, round robin, and the bind address."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from inventory.config import InventorySettings
from orders.config import OrdersSettings
from runtime.channels import balanced_channel, grpc_target


@pytest.mark.parametrize(("address", "target"), [
    ("127.0.0.1:50052", "127.0.0.1:50052"),
    ("127.0.0.1:1, 127.0.0.1:2", "ipv4:127.0.0.1:1,127.0.0.1:2"),
    ("ipv4:127.0.0.1:1,127.0.0.1:2", "ipv4:127.0.0.1:1,127.0.0.1:2"),
    ("dns:///inventory-headless:50052", "dns:///inventory-headless:50052"),
])
def test_targets(address: str, target: str) -> None:
    assert grpc_target(address) == target


def test_listen_address_overrides_the_address_others_use(environ: Callable[..., None]) -> None:
    environ(BOOKSTORE_INVENTORY_ADDR="dns:///inventory-headless:50052",
            BOOKSTORE_LISTEN_ADDR="0.0.0.0:50052")
    assert InventorySettings.load().listen_addr == "0.0.0.0:50052"
    assert OrdersSettings.load().inventory_addr == "dns:///inventory-headless:50052"


class CountingHealth(health_pb2_grpc.HealthServicer):  # type: ignore[misc]  # untyped stubs
    def __init__(self) -> None:
        self.calls = 0

    async def Check(self, request: health_pb2.HealthCheckRequest,
                    context: grpc.aio.ServicerContext[object, object]
                    ) -> health_pb2.HealthCheckResponse:
        self.calls += 1
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


async def test_calls_are_spread_over_every_listed_instance() -> None:
    servicers = [CountingHealth(), CountingHealth()]
    servers, ports = [], []
    for servicer in servicers:
        server = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        ports.append(server.add_insecure_port("127.0.0.1:0"))
        await server.start()
        servers.append(server)
    try:
        async with balanced_channel(",".join(f"127.0.0.1:{p}" for p in ports)) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            await asyncio.wait_for(channel.channel_ready(), 10)
            for _ in range(20):
                await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert sum(s.calls for s in servicers) == 20
        assert all(s.calls > 0 for s in servicers), [s.calls for s in servicers]
    finally:
        for server in servers:
            await server.stop(0)
