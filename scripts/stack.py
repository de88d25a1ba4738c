"""Run the whole Bookstore locally: infrastructure plus every service, logs prefixed by service.

Starts a MongoDB-compatible server (SecantusDB, data kept in var/mongo) unless one already
answers on :27017, makes sure RabbitMQ runs, starts each service as its own process, waits
until all report SERVING through the gRPC health service, seeds the development admin's
catalogue through the client library (idempotent: books already there are skipped), and then
runs until Ctrl-C or SIGTERM, when it stops every process it started.

    .venv/bin/python scripts/stack.py            # normally via scripts/run.sh

However it ends (Ctrl-C, also through a pipe such as ``run.sh | tee log``; SIGTERM; SIGHUP
when its terminal closes; a child exiting; an error while starting) it stops every process it
started. Its children run in sessions of their own, so only the runner hears the terminal's
signals and the shutdown order stays its own; and its output tolerates a reader that has gone
(the pipe's ``tee`` died with the same Ctrl-C, or the terminal closed), because a failed
write must never skip the shutdown.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from client import BookstoreClient, BookstoreClientError, Outcome, seed
from runtime.healthcheck import is_serving
from runtime.metrics import DEFAULT_METRICS_ADDRS, MetricsAddressError, parse_metrics_addr
from runtime.settings import DEFAULT_ADDRESSES, ServiceName

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES: tuple[ServiceName, ...] = ("user", "inventory", "orders")
MONGO_PORT = 27017
COLOURS = {"mongo": 90, "user": 36, "inventory": 33, "orders": 35, "web": 32}
WEB_ADDR = "127.0.0.1:8080"
DEV_ADMIN = {"BOOKSTORE_ADMIN_EMAIL": "admin@bookstore.local",
             "BOOKSTORE_ADMIN_PASSWORD": "change-me-admin"}


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def write(text: str) -> None:
    """Write to stdout; once its reader is gone, send this and later output to /dev/null.

    A closed pipe raises BrokenPipeError, a closed terminal EIO: either way nobody reads any
    more, and pointing the descriptor at /dev/null also keeps the interpreter's final flush
    quiet.
    """
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def say(message: str) -> None:
    write(f"\033[1m[stack]\033[0m {message}\n")


async def relay_output(name: str, stream: asyncio.StreamReader) -> None:
    """Print a child's output line by line, prefixed with its name (read to the end, so a
    child never blocks on a full pipe even when nobody reads the runner's output)."""
    prefix = f"\033[{COLOURS.get(name, 37)}m{name:<9}|\033[0m "
    while line := await stream.readline():
        write(prefix + line.decode(errors="replace"))


class Stack:
    def __init__(self) -> None:
        self.children: dict[str, asyncio.subprocess.Process] = {}
        self.relays: list[asyncio.Task[None]] = []

    async def spawn(self, name: str, *argv: str, env: dict[str, str]) -> None:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True)
        assert process.stdout is not None
        self.children[name] = process
        self.relays.append(asyncio.create_task(relay_output(name, process.stdout)))

    async def start_mongo(self, env: dict[str, str], port: int, storage: str) -> str:
        if url := os.environ.get("BOOKSTORE_MONGO_URL"):
            return url
        url = f"mongodb://127.0.0.1:{port}/?retryWrites=false"
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            say(f"a MongoDB-compatible server already answers on :{port}; using it")
            return url
        except OSError:
            pass
        say(f"starting SecantusDB on :{port} (data in {storage})")
        await self.spawn("mongo", sys.executable, "scripts/infra.py", "mongo", "--port",
                         str(port), "--storage", storage, env=env)
        await wait_for_port(port, seconds=300, what="SecantusDB")
        return url

    async def stop(self) -> None:
        """SIGTERM every child (services first, database last); SIGKILL what lingers."""
        for name in reversed(list(self.children)):
            process = self.children[name]
            if process.returncode is None:
                # Each child leads its own process group: signal the group, helpers included.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), timeout=15)
                except TimeoutError:
                    say(f"{name} did not stop in 15 s; killing it")
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    await process.wait()
            say(f"{name} stopped (exit {process.returncode})")
        await asyncio.gather(*self.relays, return_exceptions=True)


async def wait_for_port(port: int, *, seconds: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if loop.time() > deadline:
                raise SystemExit(f"{what} did not answer on :{port} in {seconds:.0f} s") from None
            await asyncio.sleep(0.2)


async def wait_healthy(name: str, address: str, process: asyncio.subprocess.Process) -> None:
    """Poll the standard health service until it answers SERVING (or the process dies)."""
    for _ in range(300):
        if process.returncode is not None:
            raise SystemExit(f"{name} exited with {process.returncode} before it was healthy")
        if await is_serving(address, deadline_seconds=1):
            return
        await asyncio.sleep(0.2)
    raise SystemExit(f"{name} did not become healthy on {address}")


async def seed_catalogue(env: dict[str, str]) -> None:
    """Import the sample catalogue as the admin; a failure is reported, not fatal."""
    try:
        async with BookstoreClient.from_env(env) as client:
            report = await seed(client, env["BOOKSTORE_ADMIN_EMAIL"],
                                env["BOOKSTORE_ADMIN_PASSWORD"])
    except BookstoreClientError as exc:
        say(f"could not seed the catalogue: {exc.message}")
        return
    say(f"catalogue seeded: {report.count(Outcome.ADDED)} books added, "
        f"{report.count(Outcome.SKIPPED)} already there, {report.count(Outcome.FAILED)} failed")
    for result in report.failed:
        say(f"  row {result.row} ({result.label}): {result.message}")


async def start_storefront(stack: Stack, env: dict[str, str]) -> None:
    """``python -m client.web`` beside the services, once they answer."""
    address = env.get("BOOKSTORE_WEB_ADDR") or WEB_ADDR
    await stack.spawn("web", sys.executable, "-m", "client.web", env=env)
    port = int(address.rpartition(":")[2])
    await wait_for_port(port, seconds=60, what="the storefront")
    say(f"the storefront is up on http://{address}")


def next_steps(services: Sequence[str], admin_email: str, user_addr: str) -> list[str]:
    """Commands worth trying against the services that are running."""
    steps = [f"grpcurl -plaintext {user_addr} list"]
    if "inventory" in services:
        steps += ["bookstore books list --in-stock --sort price",
                  "bookstore books search tolkien"]
    if "user" in services:
        steps += ["bookstore register you@example.com --name 'Your Name'",
                  "bookstore login you@example.com", "bookstore whoami"]
    if {"user", "inventory", "orders"} <= set(services):
        steps += ["bookstore order place BOOK_ID:2     (follows the saga live)",
                  "bookstore order history", "bookstore demo     (the whole journey, narrated)"]
    if {"user", "inventory"} <= set(services):
        steps.append(f"bookstore login {admin_email}   then   bookstore admin --help")
    return steps


def metrics_url(env: dict[str, str], service: ServiceName) -> str | None:
    """Where ``service`` serves /metrics, when known ahead (not ``off``, not port 0)."""
    value = (env.get("BOOKSTORE_METRICS_ADDR")
             or env.get(f"BOOKSTORE_{service.upper()}_METRICS_ADDR")
             or DEFAULT_METRICS_ADDRS[service])
    try:
        address = parse_metrics_addr(value)
    except MetricsAddressError:
        return None  # the service itself says what is wrong
    if address is None or address.port == 0:
        return None
    host = f"[{address.host}]" if ":" in address.host else address.host
    return f"http://{host}:{address.port}/metrics"


def available_services() -> list[ServiceName]:
    return [s for s in SERVICES if (REPO_ROOT / s / "__main__.py").exists()]


async def serve(stack: Stack, env: dict[str, str], args: argparse.Namespace) -> int:
    """Start everything and wait; returns 1 if a child exits by itself (cancelled to stop)."""
    if "BOOKSTORE_AMQP_URL" not in os.environ:  # the local broker: start it if stopped
        rabbit = await asyncio.create_subprocess_exec(
            sys.executable, "scripts/infra.py", "rabbitmq", cwd=REPO_ROOT)
        if await rabbit.wait() != 0:
            return 1
    env["BOOKSTORE_MONGO_URL"] = await stack.start_mongo(env, args.mongo_port,
                                                         args.mongo_storage)
    services = available_services()
    for name in services:
        await stack.spawn(name, sys.executable, "-m", name, env=env)
    for name in services:
        address = env.get(f"BOOKSTORE_{name.upper()}_ADDR") or DEFAULT_ADDRESSES[name]
        await wait_healthy(name, address, stack.children[name])
        say(f"{name} is healthy on {address}")
        if url := metrics_url(env, name):
            say(f"{name} metrics: {url}")
    say("the stack is up: " + ", ".join(services))
    if {"user", "inventory"} <= set(services):
        await seed_catalogue(env)
    if {"user", "inventory", "orders"} <= set(services):
        await start_storefront(stack, env)
    say(f"admin account: {env['BOOKSTORE_ADMIN_EMAIL']} / {env['BOOKSTORE_ADMIN_PASSWORD']}")
    say("try (in another terminal, with .venv/bin on PATH):")
    user_addr = env.get("BOOKSTORE_USER_ADDR") or DEFAULT_ADDRESSES["user"]
    for step in next_steps(services, env["BOOKSTORE_ADMIN_EMAIL"], user_addr):
        say(f"  {step}")
    say("Ctrl-C stops everything")
    await asyncio.wait([asyncio.create_task(p.wait()) for p in stack.children.values()],
                       return_when=asyncio.FIRST_COMPLETED)
    say("a process exited on its own; stopping the stack")
    return 1


async def main(args: argparse.Namespace) -> int:
    """Run :func:`serve` until a stop signal cancels it, then stop what it started.

    A signal may come at any point, also while starting; the shutdown itself is never
    cancelled, so a second Ctrl-C does not leave half of the stack behind.
    """
    stack = Stack()
    env = {**DEV_ADMIN, **os.environ, "BOOKSTORE_LOG_FORMAT": "text",
           "PYTHONUNBUFFERED": "1"}
    loop = asyncio.get_running_loop()
    this = asyncio.current_task()
    assert this is not None
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, this.cancel)
    try:
        return await serve(stack, env, args)
    except asyncio.CancelledError:
        return 0
    finally:
        for sig in STOP_SIGNALS:  # from here on a signal changes nothing: stop() finishes
            loop.add_signal_handler(sig, lambda: None)
        say("stopping")
        await stack.stop()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mongo-port", type=int, default=MONGO_PORT,
                        help="where to find or start the database (default %(default)s)")
    parser.add_argument("--mongo-storage", default=str(REPO_ROOT / "var" / "mongo"),
                        help="a directory for the database it starts, or :memory:")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
