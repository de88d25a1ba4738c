"""The one way a service process runs: every ``python -m <service>`` is ``main(<its app>)``.

    settings ─▶ logging ─▶ tracing ─▶ database ─▶ the service's parts ─▶ gRPC server ─▶ SIGTERM

A service describes itself once, as a :class:`ServiceApp`: its settings class and
``assemble``, an async context manager that builds its parts on the open database (saga
participant, caches, background tasks) and yields the gRPC services to serve. The tests build a
service through the same ``assemble``. Extra commands (``python -m user create-admin``) run
through here too, with the same settings, logging and database.

Whatever stops a start (a bad setting, a key file, the database or broker out of reach, a taken
port) ends the process with ONE log line naming what to fix, and exit status 1. The signal
handlers are in place before anything starts and stay until the end, so SIGTERM or SIGINT at any
moment means a graceful stop: health reports NOT_SERVING, calls get the grace period, the parts
stop in reverse order, and the process exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Generic, NoReturn, TypeVar

from aio_pika.exceptions import AMQPConnectionError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError, ServerSelectionTimeoutError

from runtime.broker import BrokerProbe
from runtime.health import Dependency
from runtime.logs import configure_logging
from runtime.metrics import MetricsListenError, metrics_endpoint
from runtime.mongo import Document, open_database, ping_probe
from runtime.server import GrpcServer, ListenError, ServiceBinding
from runtime.settings import (
    LogSettings,
    ServiceSettings,
    SettingsError,
    StartupError,
    redact_url,
)
from runtime.telemetry import Telemetry, TelemetryError, configure_telemetry

log = logging.getLogger(__name__)

S = TypeVar("S", bound=ServiceSettings)


@dataclass(frozen=True, slots=True)
class Command(Generic[S]):
    """A one-off task run instead of the server, e.g. ``python -m user create-admin``."""

    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[S, AsyncDatabase[Document], argparse.Namespace], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class ServiceApp(Generic[S]):
    """A service as the entry point sees it: its settings and how to build its parts."""

    settings: type[S]
    assemble: Callable[[S, AsyncDatabase[Document]],
                       AbstractAsyncContextManager[Sequence[ServiceBinding]]]
    commands: Mapping[str, Command[S]] = field(default_factory=dict)
    uses_broker: bool = False  # health then probes the broker as well as the database


def main(app: ServiceApp[S], argv: Sequence[str] | None = None) -> NoReturn:
    """Parse the command line and settings, set up logging, run, and exit with the status."""
    args = _arguments(app, argv)
    settings = _settings_or_exit(app.settings)
    command = app.commands.get(args.command or "")
    try:
        code = asyncio.run(_run_command(command, settings, args) if command
                           else serve(app, settings))
    except StartupError as exc:
        log.error("cannot start: %s", exc)
        code = 1
    logging.shutdown()
    sys.exit(code)


async def serve(app: ServiceApp[S], settings: S) -> int:
    """Start every part, serve until SIGTERM/SIGINT, stop gracefully; ``0`` once stopped.

    A part that fails while stopping is logged with its traceback, and the parts after it
    still stop: the process was asked to stop and has, so its status stays 0.
    """
    stop = _stop_on_signals()
    log.info("starting", extra={"address": settings.listen_addr})
    try:
        async with contextlib.AsyncExitStack() as parts:
            with startup_errors(settings):
                parts.enter_context(metrics_endpoint(settings.metrics_address))
                telemetry = tracing(settings, parts)
                db = await parts.enter_async_context(
                    open_database(settings.mongo_url.get_secret_value(), settings.mongo_db,
                                  timeout_ms=int(settings.mongo_timeout_seconds * 1000)))
                bindings = await parts.enter_async_context(app.assemble(settings, db))
                server = GrpcServer(settings.listen_addr, bindings,
                                    interceptors=telemetry.server_interceptors,
                                    dependencies=await dependencies(app, settings, db, parts),
                                    probe_interval=settings.health_probe_seconds)
                await server.start()
            log.info("serving", extra={"address": server.address})
            await stop.wait()
            log.info("shutting down", extra={"grace_seconds": settings.shutdown_grace_seconds})
            await server.stop(settings.shutdown_grace_seconds)
    except Exception:
        if not stop.is_set():
            raise
        log.exception("a part failed while stopping")
    log.info("stopped")
    return 0


def tracing(settings: ServiceSettings, parts: contextlib.AsyncExitStack) -> Telemetry:
    """Tracing as the ``OTEL_*`` variables ask (``OTEL_SERVICE_NAME`` defaults to the
    service's name), before any MongoDB client so PyMongo's commands are traced; what is
    still queued is exported after every other part has stopped."""
    telemetry = configure_telemetry(settings.service)
    parts.callback(telemetry.shutdown)
    return telemetry


async def dependencies(app: ServiceApp[S], settings: S, db: AsyncDatabase[Document],
                       parts: contextlib.AsyncExitStack) -> list[Dependency]:
    """What health probes: the service's database and, if it uses one, the broker."""
    probes = [Dependency("mongodb", ping_probe(db.client))]
    if app.uses_broker:
        broker = await parts.enter_async_context(
            BrokerProbe(settings.amqp_url.get_secret_value(), name=settings.service))
        probes.append(Dependency("broker", broker))
    return probes


async def _run_command(command: Command[S], settings: S, args: argparse.Namespace) -> int:
    with startup_errors(settings):
        async with open_database(settings.mongo_url.get_secret_value(), settings.mongo_db,
                                 timeout_ms=int(settings.mongo_timeout_seconds * 1000)) as db:
            return await command.run(settings, db, args)


@contextlib.contextmanager
def startup_errors(settings: ServiceSettings) -> Iterator[None]:
    """Turn what keeps a process from starting into a :class:`StartupError` naming the
    setting to fix, the URL without its password."""
    service = settings.service.upper()
    mongo = (f"the database at {redact_url(settings.mongo_url.get_secret_value())} "
             f"(BOOKSTORE_{service}_MONGO_URL or BOOKSTORE_MONGO_URL)")
    try:
        yield
    except ServerSelectionTimeoutError:
        raise StartupError(f"cannot reach {mongo} within "
                           f"{settings.mongo_timeout_seconds:g} s") from None
    except PyMongoError as exc:
        raise StartupError(f"{mongo} refused: {_first_line(exc)}") from None
    except AMQPConnectionError as exc:
        url = settings.amqp_url.get_secret_value()
        raise StartupError(f"cannot reach the broker at {redact_url(url)} (BOOKSTORE_AMQP_URL): "
                           f"{_first_line(exc).replace(url, redact_url(url))}") from None
    except TelemetryError as exc:
        raise StartupError(str(exc)) from None
    except ListenError as exc:
        raise StartupError(f"{exc} (BOOKSTORE_LISTEN_ADDR or BOOKSTORE_{service}_ADDR)") from None
    except MetricsListenError as exc:
        raise StartupError(f"{exc} ({settings.metrics_variable})") from None


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT, from now until the loop closes."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _settings_or_exit(settings_class: type[S]) -> S:
    """The settings; on a bad value, one log line (in the configured format if that much is
    readable) and exit status 1."""
    try:
        logs = LogSettings.load()
    except SettingsError:
        logs = LogSettings.model_construct()  # defaults, to report the error itself
    configure_logging(settings_class.service, logs.log_level, logs.log_format)
    try:
        return settings_class.load()
    except SettingsError as exc:
        log.error("cannot start: %s", exc)
        logging.shutdown()
        sys.exit(1)


def _arguments(app: ServiceApp[S], argv: Sequence[str] | None) -> argparse.Namespace:
    name = app.settings.service
    parser = argparse.ArgumentParser(
        prog=f"python -m {name}",
        description=f"Run the {name} service; settings come from BOOKSTORE_* variables.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the gRPC server (the default)")
    for command_name, command in app.commands.items():
        command.arguments(commands.add_parser(command_name, help=command.help))
    return parser.parse_args(argv)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
