"""The three services as real processes on free ports, and the CLI driven against them.

One stack for the whole client suite (the machine is shared, starting services is the slow
part): fresh databases per service, a private data dir and saga prefix, a fast bcrypt cost
and the development admin. Each test gets its own config dir, hence its own session.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from client.cli import app
from runtime.healthcheck import is_serving
from runtime.mongo import make_client

REPO_ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("user", "inventory", "orders")
ADMIN_EMAIL = "admin@bookstore.local"
ADMIN_PASSWORD = "change-me-admin"
START_SECONDS = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Stack:
    addresses: dict[str, str]
    databases: dict[str, str]
    data_dir: Path
    logs: dict[str, Path] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {f"BOOKSTORE_{name.upper()}_ADDR": addr for name, addr in self.addresses.items()}


def _wait_healthy(name: str, address: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n"
                               f"{log.read_text(errors='replace')[-3000:]}")
        if asyncio.run(is_serving(address, deadline_seconds=1)):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{name} not healthy on {address} in {START_SECONDS} s:\n"
                       f"{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="session")
def stack(mongo_url: str, amqp_url: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    missing = [s for s in SERVICES if not (REPO_ROOT / s / "__main__.py").exists()]
    if missing:
        pytest.fail(f"service packages missing: {', '.join(missing)}")
    run_id = uuid.uuid4().hex[:8]
    data_dir = tmp_path_factory.mktemp("stack")
    addresses = {name: f"127.0.0.1:{free_port()}" for name in SERVICES}
    databases = {name: f"test_client_{name}_{run_id}" for name in SERVICES}
    env = {**os.environ, "BOOKSTORE_MONGO_URL": mongo_url, "BOOKSTORE_AMQP_URL": amqp_url,
           "BOOKSTORE_DATA_DIR": str(data_dir), "BOOKSTORE_BCRYPT_ROUNDS": "4",
           "BOOKSTORE_ADMIN_EMAIL": ADMIN_EMAIL, "BOOKSTORE_ADMIN_PASSWORD": ADMIN_PASSWORD,
           "BOOKSTORE_SAGA_PREFIX": f"test_client_{run_id}", "BOOKSTORE_LOG_FORMAT": "text",
           "BOOKSTORE_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    env.pop("BOOKSTORE_CONFIG_DIR", None)
    for name in SERVICES:
        env[f"BOOKSTORE_{name.upper()}_ADDR"] = addresses[name]
        env[f"BOOKSTORE_{name.upper()}_MONGO_DB"] = databases[name]
    result = Stack(addresses, databases, data_dir)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in SERVICES:
            log = data_dir / f"{name}.log"
            result.logs[name] = log
            with log.open("wb") as sink:
                processes[name] = subprocess.Popen(
                    [sys.executable, "-m", name], cwd=REPO_ROOT, env=env, stdout=sink,
                    stderr=subprocess.STDOUT, start_new_session=True)
        for name in SERVICES:
            _wait_healthy(name, addresses[name], processes[name], result.logs[name])
        yield result
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        asyncio.run(_drop(mongo_url, list(databases.values())))


async def _drop(url: str, names: list[str]) -> None:
    client = make_client(url)
    try:
        for name in names:
            await client.drop_database(name)
    finally:
        await client.close()


class Cli:
    """Runs ``bookstore`` in-process through the real entry point, with its own session."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None,
                 env: dict[str, str] | None = None) -> Result:
        return self.runner.invoke(app, list(args), input=input, env={**self.env, **(env or {})})

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, (
            f"bookstore {shlex.join(args)} exited {result.exit_code}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}")
        return result


@pytest.fixture
def cli(stack: Stack, tmp_path: Path) -> Cli:
    return Cli({**stack.env(), "BOOKSTORE_CONFIG_DIR": str(tmp_path / "config"),
                "BOOKSTORE_ADMIN_EMAIL": ADMIN_EMAIL, "BOOKSTORE_ADMIN_PASSWORD": ADMIN_PASSWORD,
                "COLUMNS": "200"})


@pytest.fixture(scope="session")
def seeded(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    """The sample catalogue loaded once, through ``bookstore seed``."""
    runner = Cli({**stack.env(), "BOOKSTORE_ADMIN_EMAIL": ADMIN_EMAIL,
                  "BOOKSTORE_ADMIN_PASSWORD": ADMIN_PASSWORD,
                  "BOOKSTORE_CONFIG_DIR": str(tmp_path_factory.mktemp("seed-config"))})
    runner.ok("seed")
    return stack
