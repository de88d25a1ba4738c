"""The whole stack as real processes: ``python -m user``, ``-m inventory`` and ``-m orders``.

Used by the end-to-end, client and chaos suites. Each stack gets free loopback ports, a fresh
database per service, a private data dir (the shared dev key pair), a broker prefix of its
own (``BOOKSTORE_SAGA_PREFIX``) and an admin from ``BOOKSTORE_ADMIN_*``. Each service must
answer its health check before tests start. Logs go to ``<workdir>/<service>.log``, printed
when a service fails to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from runtime.mongo import make_client

SERVICES = ("user", "inventory", "orders")
ADMIN_EMAIL = "admin@e2e.example"
ADMIN_PASSWORD = "admin-password-e2e"
START_TIMEOUT = 45.0
# Long enough that a loaded machine never times out an order the saga is still working on.
ORDER_TIMEOUT_SECONDS = 60
CLEAN_UP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Stack:
    """The running services, their addresses, and a way to kill and restart one."""

    env: dict[str, str]
    workdir: Path
    addresses: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, service: str, **overrides: str) -> None:
        """Start ``service``; ``overrides`` replace environment variables for this run only."""
        log = (self.workdir / f"{service}.log").open("ab")
        self.processes[service] = subprocess.Popen(
            [sys.executable, "-m", service], env=self.env | overrides, stdout=log, stderr=log,
            cwd=Path(__file__).resolve().parents[2])
        log.close()
        self.wait_healthy(service)

    def wait_healthy(self, service: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        with grpc.insecure_channel(self.addresses[service]) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if self.processes[service].poll() is not None:
                    break
                try:
                    reply = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.1)
        log = (self.workdir / f"{service}.log").read_text(errors="replace")[-4000:]
        pytest.fail(f"{service} did not become healthy:\n{log}", pytrace=False)

    def kill(self, service: str) -> None:
        """SIGKILL: no graceful shutdown, as when a machine dies."""
        process = self.processes[service]
        process.kill()
        process.wait(timeout=10)

    def pause(self, service: str) -> None:
        """SIGSTOP: the process holds its connections but does nothing, like a stalled VM."""
        self.processes[service].send_signal(signal.SIGSTOP)

    def resume(self, service: str) -> None:
        self.processes[service].send_signal(signal.SIGCONT)

    def stop(self, service: str) -> int:
        process = self.processes[service]
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()


@contextlib.contextmanager
def running_stack(mongo_url: str, amqp_url: str, workdir: Path, *,
                  order_timeout_seconds: int = ORDER_TIMEOUT_SECONDS,
                  **extra_env: str) -> Iterator[Stack]:
    """Start every service, yield the stack, then stop it (asserting clean exits) and remove
    its databases, queues and exchanges."""
    run = uuid.uuid4().hex[:8]
    prefix = f"e2e.{run}"
    databases = {svc: f"e2e_{run}_{svc}" for svc in SERVICES}
    addresses = {svc: f"127.0.0.1:{free_port()}" for svc in SERVICES}
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOOKSTORE_")}
    env |= {
        "BOOKSTORE_MONGO_URL": mongo_url, "BOOKSTORE_AMQP_URL": amqp_url,
        "BOOKSTORE_DATA_DIR": str(workdir / "data"), "BOOKSTORE_SAGA_PREFIX": prefix,
        "BOOKSTORE_ADMIN_EMAIL": ADMIN_EMAIL, "BOOKSTORE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "BOOKSTORE_BCRYPT_ROUNDS": "4", "BOOKSTORE_LOG_FORMAT": "text",
        "BOOKSTORE_ORDER_TIMEOUT_SECONDS": str(order_timeout_seconds),
        "BOOKSTORE_SHUTDOWN_GRACE_SECONDS": "2",
    }
    for svc in SERVICES:
        env[f"BOOKSTORE_{svc.upper()}_ADDR"] = addresses[svc]
        env[f"BOOKSTORE_{svc.upper()}_MONGO_DB"] = databases[svc]
    env |= extra_env
    stack = Stack(env, workdir, addresses)
    try:
        for svc in SERVICES:
            stack.start(svc)
        yield stack
        codes = {svc: stack.stop(svc) for svc in reversed(SERVICES)}
        assert codes == dict.fromkeys(reversed(SERVICES), 0), f"unclean exits: {codes}"
    finally:
        for svc in stack.processes:
            stack.resume(svc)
            stack.stop(svc)
        asyncio.run(asyncio.wait_for(
            clean_up(mongo_url, amqp_url, databases.values(), prefix), CLEAN_UP_TIMEOUT))


async def clean_up(mongo_url: str, amqp_url: str, databases: Iterable[str], prefix: str
                   ) -> None:
    client = make_client(mongo_url)
    for name in databases:
        await client.drop_database(name)
    await client.close()
    connection = await aio_pika.connect(amqp_url, timeout=10)
    async with connection:
        channel = await connection.channel()
        for svc in SERVICES:
            for name in (f"{prefix}.{svc}", f"{prefix}.{svc}.dead"):
                await channel.queue_delete(name)
            await channel.exchange_delete(f"{prefix}.{svc}.dead")
        await channel.exchange_delete(f"{prefix}.events")
