"""The whole stack as real processes: ``python -m user``, ``-m inventory`` and ``-m orders``.

Used by the end-to-end, client, chaos and scale-out suites. Each stack gets free loopback
ports, a fresh database per service, a private data dir (the shared dev key pair), a broker
prefix of its own (``BOOKSTORE_SAGA_PREFIX``) and an admin from ``BOOKSTORE_ADMIN_*``. Every
instance serves ``/metrics`` on a free port of its own (:meth:`Stack.metrics_url`). Each
service must answer its health check before tests start. Logs go to ``<workdir>/<service>.log``
(``<service>-<n>.log`` for instance ``n`` > 0), printed when a service fails to start.

``instances`` runs several processes of a service, as replicas of a deployment would: each
has its own gRPC port but they share the service's database, queue and prefix, so they are
competing consumers and their outbox relays share one outbox. Instance 0 is what the
single-instance API (``addresses[svc]``, ``processes[svc]``, ``start(svc)``) means; orders
instances reach every inventory instance through one round-robin target (:func:`grpc_target`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from runtime.mongo import make_client

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("user", "inventory", "orders")
ADMIN_EMAIL = "admin@e2e.example"
ADMIN_PASSWORD = "admin-password-e2e"
START_TIMEOUT = 45.0
# Long enough that a loaded machine never times out an order the saga is still working on.
ORDER_TIMEOUT_SECONDS = 60
CLEAN_UP_TIMEOUT = 30.0


# Below Linux's ephemeral range (32768-60999): a port the kernel hands out to outgoing
# connections could be taken by one between choosing it here and the service binding it,
# and a restarted instance binds its ports again later.
_OUR_PORTS = range(20000, 32768)
_given: set[int] = set()


def free_port() -> int:
    """A port nothing listens on now, never given out before by this process."""
    while True:
        port = random.choice(_OUR_PORTS)
        if port in _given:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port


def grpc_target(addresses: Sequence[str]) -> str:
    """One gRPC target naming every address: ``ipv4:a:1,b:2`` for several, else the one."""
    return addresses[0] if len(addresses) == 1 else "ipv4:" + ",".join(addresses)


@dataclass
class Stack:
    """The running services, their addresses, and a way to kill and restart any instance."""

    env: dict[str, str]
    workdir: Path
    addresses: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    """Instance 0 of each service; :meth:`process` reaches the others."""
    instance_addresses: dict[str, list[str]] = field(default_factory=dict)
    metrics_addresses: dict[str, list[str]] = field(default_factory=dict)
    """Each instance's ``/metrics`` address (``host:port``), instance 0 first."""
    _others: dict[tuple[str, int], subprocess.Popen[bytes]] = field(default_factory=dict)

    def addresses_of(self, service: str) -> list[str]:
        """Every instance's address, instance 0 first."""
        return self.instance_addresses.get(service) or [self.addresses[service]]

    def metrics_url(self, service: str, instance: int = 0) -> str:
        """Where one instance serves its Prometheus metrics."""
        return f"http://{self.metrics_addresses[service][instance]}/metrics"

    def instances(self, service: str) -> range:
        return range(len(self.addresses_of(service)))

    def process(self, service: str, instance: int = 0) -> subprocess.Popen[bytes]:
        return self.processes[service] if instance == 0 else self._others[(service, instance)]

    def instance_env(self, service: str, instance: int = 0) -> dict[str, str]:
        """The environment of one instance: its own listen port, and for orders every
        inventory instance behind one target."""
        env = self.env | {f"BOOKSTORE_{service.upper()}_ADDR": self.addresses_of(service)[instance]}
        if service in self.metrics_addresses:
            env[f"BOOKSTORE_{service.upper()}_METRICS_ADDR"] = (
                self.metrics_addresses[service][instance])
        if service == "orders":
            env["BOOKSTORE_INVENTORY_ADDR"] = grpc_target(self.addresses_of("inventory"))
        return env

    def start(self, service: str, instance: int = 0, **overrides: str) -> None:
        """Start ``service``; ``overrides`` replace environment variables for this run only."""
        self.launch(service, instance, **overrides)
        self.wait_healthy(service, instance)

    def launch(self, service: str, instance: int = 0, **overrides: str) -> None:
        """Start the process without waiting for it to serve (start several at once)."""
        log = self.log_path(service, instance).open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", service], env=self.instance_env(service, instance) | overrides,
            stdout=log, stderr=log, cwd=REPO_ROOT)
        log.close()
        if instance == 0:
            self.processes[service] = process
        else:
            self._others[(service, instance)] = process

    def wait_healthy(self, service: str, instance: int = 0) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        with grpc.insecure_channel(self.addresses_of(service)[instance]) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if self.process(service, instance).poll() is not None:
                    break
                try:
                    reply = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.1)
        log = self.log_path(service, instance).read_text(errors="replace")[-4000:]
        pytest.fail(f"{service}[{instance}] did not become healthy:\n{log}", pytrace=False)

    def kill(self, service: str, instance: int = 0) -> None:
        """SIGKILL: no graceful shutdown, as when a machine dies."""
        process = self.process(service, instance)
        process.kill()
        process.wait(timeout=10)

    def pause(self, service: str, instance: int = 0) -> None:
        """SIGSTOP: the process holds its connections but does nothing, like a stalled VM."""
        self.process(service, instance).send_signal(signal.SIGSTOP)

    def resume(self, service: str, instance: int = 0) -> None:
        self.process(service, instance).send_signal(signal.SIGCONT)

    def stop(self, service: str, instance: int = 0) -> int:
        process = self.process(service, instance)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def started(self) -> list[tuple[str, int]]:
        """Every (service, instance) launched so far, in start order per service."""
        return [(svc, i) for svc in SERVICES for i in self.instances(svc)
                if (svc in self.processes if i == 0 else (svc, i) in self._others)]

    def log_path(self, service: str, instance: int = 0) -> Path:
        return self.workdir / (f"{service}.log" if instance == 0 else f"{service}-{instance}.log")


@contextlib.contextmanager
def running_stack(mongo_url: str, amqp_url: str, workdir: Path, *,
                  order_timeout_seconds: int = ORDER_TIMEOUT_SECONDS,
                  instances: int | Mapping[str, int] = 1,
                  **extra_env: str) -> Iterator[Stack]:
    """Start every service (``instances`` of each: one count, or a count per service), yield
    the stack, then stop it (asserting clean exits) and remove its databases, queues and
    exchanges."""
    counts = {svc: instances if isinstance(instances, int) else instances.get(svc, 1)
              for svc in SERVICES}
    run = uuid.uuid4().hex[:8]
    prefix = f"e2e.{run}"
    databases = {svc: f"e2e_{run}_{svc}" for svc in SERVICES}
    every = {svc: [f"127.0.0.1:{free_port()}" for _ in range(counts[svc])] for svc in SERVICES}
    addresses = {svc: every[svc][0] for svc in SERVICES}
    metrics = {svc: [f"127.0.0.1:{free_port()}" for _ in range(counts[svc])] for svc in SERVICES}
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOOKSTORE_")}
    env |= {
        "BOOKSTORE_MONGO_URL": mongo_url, "BOOKSTORE_AMQP_URL": amqp_url,
        "BOOKSTORE_DATA_DIR": str(workdir / "data"), "BOOKSTORE_SAGA_PREFIX": prefix,
        "BOOKSTORE_ADMIN_EMAIL": ADMIN_EMAIL, "BOOKSTORE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "BOOKSTORE_BCRYPT_ROUNDS": "4", "BOOKSTORE_LOG_FORMAT": "text",
        # Tests log in again right after a wrong password on purpose; the waits have their own.
        "BOOKSTORE_LOGIN_DELAY_SECONDS": "0",
        "BOOKSTORE_ORDER_TIMEOUT_SECONDS": str(order_timeout_seconds),
        "BOOKSTORE_SHUTDOWN_GRACE_SECONDS": "2",
    }
    for svc in SERVICES:
        env[f"BOOKSTORE_{svc.upper()}_ADDR"] = addresses[svc]
        env[f"BOOKSTORE_{svc.upper()}_MONGO_DB"] = databases[svc]
    env |= extra_env
    stack = Stack(env, workdir, addresses, instance_addresses=every, metrics_addresses=metrics)
    try:
        for svc in SERVICES:  # the instances of one service start together, as replicas do
            for i in range(counts[svc]):
                stack.launch(svc, i)
            for i in range(counts[svc]):
                stack.wait_healthy(svc, i)
        yield stack
        codes = {(svc, i): stack.stop(svc, i) for svc, i in reversed(stack.started())}
        unclean = {f"{svc}[{i}]": code for (svc, i), code in codes.items() if code != 0}
        logs = "".join(f"\n--- {svc}[{i}], the end of its log:\n" + stack.log_path(svc, i)
                       .read_text(errors="replace")[-3000:]
                       for (svc, i), code in codes.items() if code != 0)
        assert not unclean, f"unclean exits: {unclean}{logs}"
    finally:
        for svc, i in stack.started():
            stack.resume(svc, i)
            stack.stop(svc, i)
        asyncio.run(asyncio.wait_for(
            clean_up(mongo_url, amqp_url, databases.values(), prefix), CLEAN_UP_TIMEOUT))


async def clean_up(mongo_url: str, amqp_url: str, databases: Iterable[str], prefix: str
                   ) -> None:
    client = make_client(mongo_url)
    for name in databases:
        await client.drop_database(name)
    await client.close()
    await clean_up_broker(amqp_url, prefix)


async def clean_up_broker(amqp_url: str, prefix: str) -> None:
    """Delete the queues and exchanges of the services using broker ``prefix``."""
    connection = await aio_pika.connect(amqp_url, timeout=10)
    async with connection:
        channel = await connection.channel()
        for svc in SERVICES:
            for name in (f"{prefix}.{svc}", f"{prefix}.{svc}.dead"):
                await channel.queue_delete(name)
            await channel.exchange_delete(f"{prefix}.{svc}.dead")
        await channel.exchange_delete(f"{prefix}.events")
