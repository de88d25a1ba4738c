"""Prometheus metrics: each service's ``/metrics`` endpoint and the catalogue of what it counts.

Every metric the services record is defined here once, with its help text, in the process's
default registry (which also carries the client library's ``process_*`` and ``python_*``
metrics). Dashboards and alert rules in ``deploy/monitoring/`` may use only these names; a test
holds them to it. RPC metrics are recorded by the server runtime for every servicer method;
the saga's by :mod:`runtime.saga_metrics`, the observer each saga participant is given; the
business ones by ``orders/metrics.py`` and ``inventory/metrics.py``, after their transaction
commits.

The endpoint is a small HTTP server on its own daemon thread, bound to ``host:port`` from
``BOOKSTORE_METRICS_ADDR`` / ``BOOKSTORE_<SVC>_METRICS_ADDR`` (defaults: 127.0.0.1:9101 user,
:9102 inventory, :9103 orders), or not started for ``off``. Port 0 picks a free port, readable
afterwards, so several stacks can share one machine.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final
from wsgiref.simple_server import WSGIServer

import grpc
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.registry import CollectorRegistry

log = logging.getLogger(__name__)

DEFAULT_METRICS_ADDRS: Final = {
    "user": "127.0.0.1:9101",
    "inventory": "127.0.0.1:9102",
    "orders": "127.0.0.1:9103",
}

# Seconds. RPCs and event handlers mostly take under a millisecond to tens of milliseconds;
# an order settles in tens of milliseconds to seconds, and a slow one in minutes.
_FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                 5.0, 10.0)
_SETTLE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
                   900.0)

# --- RPCs: recorded by runtime.server for every servicer method ------------------------------
RPC_REQUESTS = Counter(
    "bookstore_rpc_requests_total",
    "gRPC calls this service answered, by full method name and gRPC status (OK, NOT_FOUND, ...).",
    ["method", "code"])
RPC_DURATION = Histogram(
    "bookstore_rpc_duration_seconds",
    "Time from a call reaching the servicer to its answer (a stream: to its end), by method.",
    ["method"], buckets=_FAST_BUCKETS)

# --- Orders -----------------------------------------------------------------------------------
ORDERS_PLACED = Counter(
    "bookstore_orders_placed_total", "Orders accepted by PlaceOrder (PENDING).")
ORDER_TRANSITIONS = Counter(
    "bookstore_order_transitions_total",
    "Order status changes, by status before and after (PENDING to CONFIRMED, ...).",
    ["from", "to"])
ORDER_SETTLE_SECONDS = Histogram(
    "bookstore_order_settle_seconds",
    "Time from PlaceOrder to the order's outcome (CONFIRMED, REJECTED or CANCELLED).",
    buckets=_SETTLE_BUCKETS)
ORDERS_PENDING_OVERDUE = Gauge(
    "bookstore_orders_pending_overdue",
    "Orders still PENDING longer than the order timeout; the timeout sweep should leave none.")
PAYMENTS = Counter(
    "bookstore_payments_total", "Payment attempts, by outcome (charged, declined, failed).",
    ["outcome"])

# --- Inventory --------------------------------------------------------------------------------
RESERVATIONS = Counter(
    "bookstore_reservations_total",
    "Stock reservations for an order, by outcome (reserved: every line held; rejected: none).",
    ["outcome"])
HOLDS_RELEASED = Counter(
    "bookstore_holds_released_total",
    "Held stock returned to sale, by reason (cancelled, expired).", ["reason"])

# --- The saga: events, outbox, broker -----------------------------------------------------------
EVENTS_CONSUMED = Counter(
    "bookstore_events_consumed_total",
    "Events taken from the broker, by event name and final outcome (handled, duplicate, "
    "dead_lettered); retried counts each failed attempt that was tried again.",
    ["event", "outcome"])
EVENT_HANDLER_SECONDS = Histogram(
    "bookstore_event_handler_seconds", "Time a handler took for one event, by event name.",
    ["event"], buckets=_FAST_BUCKETS)
EVENTS_PUBLISHED = Counter(
    "bookstore_events_published_total",
    "Outbox events the broker confirmed, by event name.", ["event"])
EVENT_PUBLISH_SECONDS = Histogram(
    "bookstore_event_publish_seconds",
    "Time to publish one outbox event and have the broker confirm it.", buckets=_FAST_BUCKETS)
OUTBOX_PENDING = Gauge(
    "bookstore_outbox_pending_events", "Outbox events written but not yet published.")
OUTBOX_OLDEST_AGE = Gauge(
    "bookstore_outbox_oldest_pending_age_seconds",
    "Age of the oldest unpublished outbox event; 0 when none is pending.")
DEAD_LETTERS = Gauge(
    "bookstore_dead_letters",
    "Dead letters a service keeps (drained from its dead-letter queue into its database, until "
    "replayed or purged), by dead-letter queue.", ["queue"])
BROKER_CONNECTED = Gauge(
    "bookstore_broker_connected", "1 while the connection to RabbitMQ is open, else 0.")

# --- Health: recorded by runtime.health every probe round -------------------------------------
DEPENDENCY_UP = Gauge(
    "bookstore_dependency_up",
    "1 while the dependency (mongodb, broker) passed its last health probe, else 0; the "
    "service reports NOT_SERVING while any is 0.", ["dependency"])


class RpcMetrics:
    """One method's RPC metrics, label children resolved once, when the method is registered.

    Resolving a child costs a dict lookup under a lock; done per call it would be the larger
    part of the cost. Only error codes, rare by nature, are resolved as they happen.
    """

    __slots__ = ("_duration", "_method", "_ok")

    def __init__(self, method: str) -> None:
        self._method = method
        self._ok = RPC_REQUESTS.labels(method, grpc.StatusCode.OK.name)
        self._duration = RPC_DURATION.labels(method)

    def observe(self, code: grpc.StatusCode | None, seconds: float) -> None:
        """Count one call ending with ``code`` (``None``: no status was set, which is OK)."""
        if code is None or code is grpc.StatusCode.OK:
            self._ok.inc()
        else:
            RPC_REQUESTS.labels(self._method, code.name).inc()
        self._duration.observe(seconds)


@dataclass(frozen=True, slots=True)
class MetricsAddress:
    host: str
    port: int


class MetricsAddressError(ValueError):
    """A metrics address that is neither ``off`` nor ``host:port``."""


def parse_metrics_addr(value: str) -> MetricsAddress | None:
    """``off`` as ``None``, else ``host:port`` (``[::1]:9101`` for IPv6; port 0 = any free)."""
    text = value.strip()
    if text.lower() == "off":
        return None
    host, sep, port_text = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise MetricsAddressError(
            f"a metrics address is 'off' or 'host:port' (port 0 to 65535), not {value!r}")
    return MetricsAddress(host, int(port_text))


class MetricsListenError(OSError):
    """The metrics address cannot be bound (taken, or not an address of this machine)."""


class MetricsServer:
    """``/metrics`` over HTTP on a daemon thread; :meth:`stop` closes the socket."""

    def __init__(self, address: MetricsAddress, registry: CollectorRegistry = REGISTRY) -> None:
        try:
            server, thread = start_http_server(address.port, address.host, registry)
        except OSError as exc:
            raise MetricsListenError(
                f"cannot serve metrics on {address.host}:{address.port}: "
                f"{exc.strerror or exc}") from None
        self._server: WSGIServer = server
        self._thread: threading.Thread = thread
        self.host = address.host
        self.port: int = server.server_port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def serve_metrics(address: MetricsAddress | None) -> MetricsServer | None:
    """Start the endpoint at ``address``; nothing for ``None`` (``off``)."""
    return None if address is None else MetricsServer(address)


@contextlib.contextmanager
def metrics_endpoint(address: MetricsAddress | None) -> Iterator[MetricsServer | None]:
    """The endpoint at ``address`` (logged with the port it bound) until the block ends."""
    server = serve_metrics(address)
    if server is None:
        log.info("metrics endpoint off")
        yield None
        return
    log.info("serving metrics", extra={"url": server.url})
    try:
        yield server
    finally:
        server.stop()
