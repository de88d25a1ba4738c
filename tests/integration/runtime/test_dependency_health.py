"""Health tells the truth: the real services, their MongoDB and broker behind TCP proxies the
tests cut (connections refused) or black-hole (accepted, then silence), report NOT_SERVING
within the bound, overall and for their own service, and SERVING again once the proxy is
restored. Liveness stays SERVING throughout: an outage elsewhere is no reason to restart."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import aio_pika
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from contracts.bookstore.inventory.v1 import inventory_pb2
from contracts.bookstore.orders.v1 import orders_pb2
from contracts.bookstore.user.v1 import user_pb2
from runtime.server import LIVENESS
from tests.proxy import TcpProxy, proxied_amqp_url, proxied_url, target_of
from tests.stack import Stack, running_stack
from tests.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

BOUND = 10.0  # seconds, as docs/design.md promises; probes here run every 0.5 s
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_NAMES = {
    "user": user_pb2.DESCRIPTOR.services_by_name["UserService"].full_name,
    "inventory": inventory_pb2.DESCRIPTOR.services_by_name["InventoryService"].full_name,
    "orders": orders_pb2.DESCRIPTOR.services_by_name["OrderService"].full_name,
}
ALL = ("user", "inventory", "orders")
BROKER_USERS = ("inventory", "orders")


def started_proxy(target: tuple[str, int]) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="module")
def mongo_proxy(mongo_url: str) -> Iterator[TcpProxy]:
    yield from started_proxy(target_of(mongo_url))


@pytest.fixture(scope="module")
def amqp_proxy(amqp_url: str) -> Iterator[TcpProxy]:
    yield from started_proxy(target_of(amqp_url, 5672))


@pytest.fixture(scope="module")
def proxied_stack(mongo_proxy: TcpProxy, amqp_proxy: TcpProxy, mongo_url: str, amqp_url: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Every service, its database and broker reached through the proxies."""
    with running_stack(proxied_url(mongo_url, mongo_proxy.port),
                       proxied_amqp_url(amqp_url, amqp_proxy.port),
                       tmp_path_factory.mktemp("health"),
                       BOOKSTORE_HEALTH_PROBE_SECONDS="0.5") as stack:
        yield stack


async def health_of(stack: Stack, service: str) -> dict[str, int]:
    """What ``service`` answers for overall health, its own name, and liveness."""
    answers = {}
    async with grpc.aio.insecure_channel(stack.addresses[service]) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", SERVICE_NAMES[service], LIVENESS):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=3)
            answers[name] = int(reply.status)
    return answers


def reporting(status: int, service: str) -> dict[str, int]:
    return {"": status, SERVICE_NAMES[service]: status, LIVENESS: SERVING}


async def until_health(stack: Stack, expected: Mapping[str, int], *, within: float = BOUND
                       ) -> None:
    """Poll until every service in ``expected`` reports that status, or fail at the deadline."""
    async def reached() -> bool:
        seen = {svc: await health_of(stack, svc) for svc in expected}
        return all(seen[svc] == reporting(status, svc) for svc, status in expected.items())

    await eventually(reached, within, interval=0.1, what=f"health {dict(expected)}")


async def until_consuming_again(stack: Stack, amqp_url: str) -> None:
    """Wait for the saga's own connections to be back: each service's queue has a consumer.

    Health follows the broker itself; the saga reconnects on a timer of its own."""
    prefix = stack.env["BOOKSTORE_SAGA_PREFIX"]
    connection = await aio_pika.connect(amqp_url, timeout=10)
    async with connection:
        for service in BROKER_USERS:

            async def consumed(service: str = service) -> bool:
                channel = await connection.channel()
                queue = await channel.declare_queue(f"{prefix}.{service}", passive=True)
                await channel.close()
                return bool(queue.declaration_result.consumer_count)

            await eventually(consumed, 30, interval=0.2, what=f"{service} consuming again")


@pytest.mark.parametrize("black_hole", [False, True], ids=["refused", "black-holed"])
async def test_database_outage(proxied_stack: Stack, mongo_proxy: TcpProxy, black_hole: bool
                               ) -> None:
    await until_health(proxied_stack, dict.fromkeys(ALL, SERVING))
    with mongo_proxy.outage(black_hole=black_hole):
        await until_health(proxied_stack, dict.fromkeys(ALL, NOT_SERVING))
    await until_health(proxied_stack, dict.fromkeys(ALL, SERVING))


@pytest.mark.parametrize("black_hole", [False, True], ids=["refused", "black-holed"])
async def test_broker_outage(proxied_stack: Stack, amqp_proxy: TcpProxy, amqp_url: str,
                             black_hole: bool) -> None:
    await until_health(proxied_stack, dict.fromkeys(ALL, SERVING))
    with amqp_proxy.outage(black_hole=black_hole):
        await until_health(proxied_stack, dict.fromkeys(BROKER_USERS, NOT_SERVING))
        assert await health_of(proxied_stack, "user") == reporting(SERVING, "user"), \
            "the user service has no broker, so a broker outage is none of its business"
    await until_health(proxied_stack, dict.fromkeys(ALL, SERVING))
    await until_consuming_again(proxied_stack, amqp_url)
