"""The dependency monitor with fake probes: passing, failing, hanging, deaf to cancellation,
recovering; and the gRPC server's health following it until the graceful stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from contracts.bookstore.user.v1 import user_pb2_grpc
from runtime.health import Dependency, DependencyMonitor
from runtime.metrics import DEPENDENCY_UP
from runtime.server import LIVENESS, GrpcServer, ServiceBinding
from tests.unit.runtime.fake_users import SERVICE, FakeUsers
from tests.waiting import eventually, until

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
DEADLINE = 10.0


class Switch:
    """A probe whose answer the test sets: up, down (raises), or hanging until released."""

    def __init__(self) -> None:
        self.up = True
        self.hang = False
        self.calls = 0
        self.released = asyncio.Event()

    async def __call__(self) -> bool:
        self.calls += 1
        if self.hang:
            await self.released.wait()
        if not self.up:
            raise ConnectionRefusedError("connection refused")
        return True


class Verdicts:
    """Records what the monitor reports."""

    def __init__(self) -> None:
        self.seen: list[bool] = []

    async def __call__(self, healthy: bool) -> None:
        self.seen.append(healthy)


def monitor_of(*probes: tuple[str, Callable[[], Awaitable[bool]]], timeout: float = 0.2,
               interval: float = 0.05) -> tuple[DependencyMonitor, Verdicts]:
    verdicts = Verdicts()
    dependencies = [Dependency(name, probe) for name, probe in probes]
    return DependencyMonitor(dependencies, verdicts, interval=interval,
                             timeout=timeout), verdicts


async def test_healthy_while_every_probe_passes_reported_once() -> None:
    monitor, verdicts = monitor_of(("mongodb", Switch()), ("broker", Switch()))
    for _ in range(3):
        assert await monitor.check() is True
    assert verdicts.seen == [True]


async def test_one_failing_probe_makes_it_unhealthy_and_recovery_healthy_again() -> None:
    broker = Switch()
    monitor, verdicts = monitor_of(("mongodb", Switch()), ("broker", broker))
    await monitor.check()
    broker.up = False
    assert await monitor.check() is False
    assert await monitor.check() is False
    broker.up = True
    assert await monitor.check() is True
    assert verdicts.seen == [True, False, True]
    assert DEPENDENCY_UP.labels("broker")._value.get() == 1


async def test_a_probe_answering_false_counts_as_down() -> None:
    async def no() -> bool:
        return False

    monitor, verdicts = monitor_of(("mongodb", no))
    assert await monitor.check() is False
    assert DEPENDENCY_UP.labels("mongodb")._value.get() == 0
    assert verdicts.seen == [False]


async def test_a_hanging_probe_times_out_without_delaying_the_others() -> None:
    hanging, other = Switch(), Switch()
    hanging.hang = True
    monitor, verdicts = monitor_of(("mongodb", hanging), ("broker", other), timeout=0.1)
    assert await monitor.check() is False
    assert other.calls == 1
    assert DEPENDENCY_UP.labels("broker")._value.get() == 1
    assert DEPENDENCY_UP.labels("mongodb")._value.get() == 0
    hanging.released.set()
    hanging.hang = False
    assert await monitor.check() is True
    assert verdicts.seen == [False, True]


async def test_a_probe_deaf_to_cancellation_does_not_block_the_next_round() -> None:
    released = asyncio.Event()
    started = 0

    async def deaf() -> bool:
        nonlocal started
        started += 1
        while not released.is_set():
            try:
                await released.wait()
            except asyncio.CancelledError:
                continue  # swallows the monitor's cancel, as a badly written client might
        return True

    monitor, verdicts = monitor_of(("broker", deaf), timeout=0.05)
    async with asyncio.timeout(DEADLINE):  # a guard against hanging the suite, not a timing
        assert await monitor.check() is False
        assert await monitor.check() is False  # still out: not started a second time
    assert started == 1
    released.set()
    await until(lambda: monitor._running["broker"].done())
    assert await monitor.check() is True
    assert started == 2
    assert verdicts.seen == [False, True]


async def test_transitions_are_logged_once_not_every_round(
        caplog: pytest.LogCaptureFixture) -> None:
    mongo = Switch()
    monitor, _ = monitor_of(("mongodb", mongo))
    caplog.set_level(logging.INFO, logger="runtime.health")
    await monitor.check()
    mongo.up = False
    for _ in range(4):
        await monitor.check()
    mongo.up = True
    for _ in range(4):
        await monitor.check()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["dependency down", "dependency up again"]
    assert "connection refused" in caplog.records[0].reason  # type: ignore[attr-defined]


async def test_rounds_run_in_the_background_until_stopped() -> None:
    mongo = Switch()
    monitor, verdicts = monitor_of(("mongodb", mongo))
    await monitor.start()
    try:
        mongo.up = False
        await until(lambda: verdicts.seen == [True, False])
        mongo.up = True
        await until(lambda: verdicts.seen == [True, False, True])
    finally:
        await monitor.stop()
    mongo.up = False
    assert await monitor.check() is False
    assert verdicts.seen == [True, False, True], "reported after stop"


def test_interval_and_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        DependencyMonitor([], Verdicts(), interval=0)


# --- the server's health service --------------------------------------------------------------

def binding() -> ServiceBinding:
    return ServiceBinding(SERVICE, FakeUsers(),  # type: ignore[abstract]
                          user_pb2_grpc.add_UserServiceServicer_to_server)


@pytest.fixture
async def probe() -> Switch:
    return Switch()


@pytest.fixture
async def server(probe: Switch) -> AsyncIterator[GrpcServer]:
    server = GrpcServer("127.0.0.1:0", [binding()],
                        dependencies=[Dependency("mongodb", probe)], probe_interval=0.05,
                        probe_timeout=0.2)
    await server.start()
    yield server
    await server.stop(0)


async def status(server: GrpcServer, service: str) -> int:
    async with grpc.aio.insecure_channel(server.address) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=5)
    return int(reply.status)


async def statuses(server: GrpcServer) -> dict[str, int]:
    return {name: await status(server, name) for name in ("", SERVICE, LIVENESS)}


async def until_statuses(server: GrpcServer, expected: dict[str, int]) -> None:
    async def reached() -> bool:
        return await statuses(server) == expected

    await eventually(reached, DEADLINE, what=f"health {expected}")


async def test_server_health_follows_its_dependencies(server: GrpcServer, probe: Switch
                                                      ) -> None:
    assert await statuses(server) == {"": SERVING, SERVICE: SERVING, LIVENESS: SERVING}
    probe.up = False
    await until_statuses(server, {"": NOT_SERVING, SERVICE: NOT_SERVING, LIVENESS: SERVING})
    probe.up = True
    await until_statuses(server, {"": SERVING, SERVICE: SERVING, LIVENESS: SERVING})


async def test_server_starts_not_serving_when_a_dependency_is_down(probe: Switch) -> None:
    probe.up = False
    server = GrpcServer("127.0.0.1:0", [binding()], dependencies=[Dependency("mongodb", probe)])
    await server.start()
    try:
        assert await statuses(server) == {"": NOT_SERVING, SERVICE: NOT_SERVING,
                                          LIVENESS: SERVING}
    finally:
        await server.stop(0)


async def test_graceful_stop_is_not_serving_for_good(probe: Switch) -> None:
    probe.up = False
    server = GrpcServer("127.0.0.1:0", [binding()],
                        dependencies=[Dependency("mongodb", probe)], probe_interval=0.05)
    await server.start()
    probe.up = True
    stopping = asyncio.create_task(server.stop(grace=3))
    await until(lambda: server._health._gracefully_shutting_down)
    calls = probe.calls
    await server._monitor.check()  # a round finishing late, with the probe passing
    assert probe.calls > calls
    for name in ("", SERVICE, LIVENESS):
        assert server._health._server_status[name] == NOT_SERVING
    await stopping
