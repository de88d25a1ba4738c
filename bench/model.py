"""The performance model: what the saga would cost if it were nothing but its raw parts.

An order of ``L`` lines makes these database round trips (``r`` reads, ``w`` writes, ``c``
transaction commits), counted from the code:

===============================  ===============  ==========================================
step                             round trips      what
===============================  ===============  ==========================================
PlaceOrder (orders)              2r + 2w + 1c     order read by its key-derived id; every
                                                  line's book from orders' own catalogue
                                                  (one read, no call to inventory); order
                                                  + outbox insert, commit
relay (each service)             0 on the path    events go from the committing process to
                                                  the broker from memory; marking them
                                                  published (1w a batch) follows the confirm
OrderPlaced (inventory)          (3+L)w + 1c      reservation upsert, L stock updates,
                                                  processed-event insert, outbox insert
StockReserved (orders)           1r + 4w + 1c     order read, payment insert (outside the
                                                  transaction), order update,
                                                  processed-event insert, outbox insert
OrderConfirmed (inventory)       1r + (2+L)w+1c   reservation read + update, L stock moves,
                                                  processed-event insert (off the path)
WatchOrder                       2r               the first read, and one read when the
                                                  shared change stream names the order
===============================  ===============  ==========================================

**Minimum PlaceOrder→CONFIRMED** (idle, one line): the critical path is PlaceOrder (one unary
call, the client's: orders prices from its own catalogue), hop 1 (OrderPlaced), inventory's
transaction, hop 2 (StockReserved), orders' transaction, and the watch's read. Hop 3
(OrderConfirmed) is off that path. So::

    min = unary_p50 + 2·hop_p50 + R·read_p50 + W·write_p50 + C·commit_p50

with R, W and C the reads, writes and commits on that path, each at its idle (concurrency 1)
latency. ``commit_p50`` is what a transaction adds to its one write: the ``mongo_txn`` ceiling
(one insert, committed) minus the ``mongo_write`` ceiling.

**Throughput limit**: every shared resource caps confirmed orders per second at its ceiling
rate divided by what one order takes of it; the model is the lowest cap. The database does
the reads, writes and commits of one order (relay marks excluded: one write per batch, spread
over many events under load); the broker carries 3 messages; gRPC serves 2 + L unary calls
(the browse's ListBooks and L GetBookDetails, and PlaceOrder). Catalogue events come from
admin writes only, so an order carries none. Ratios under 1 are the share of the raw parts'
speed the saga gets.

**What an order's parts cost in CPU**: the client's side of every operation one visit needs,
each at its loaded ceiling's ``cpu_ms``: the visit's 4 gRPC calls (ListBooks, GetBookDetails,
PlaceOrder, WatchOrder), 3 broker hops (a publish and a consume each) and the database round
trips above, a commit at what ``mongo_txn`` adds to ``mongo_write``. The orders and inventory
processes' CPU per confirmed order over that is ``services_cpu_per_order_over_parts``: 1.0
would be services that add nothing to the libraries they call.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Trips:
    reads: float
    writes: float
    commits: float = 0

    def __add__(self, other: Trips) -> Trips:
        return Trips(self.reads + other.reads, self.writes + other.writes,
                     self.commits + other.commits)


NOTHING = Trips(0, 0)


def steps(lines: float) -> dict[str, Trips]:
    """Round trips of each saga step for an order of ``lines`` lines."""
    return {
        "PlaceOrder": Trips(2, 2, 1),
        "relay": NOTHING,
        "OrderPlaced": Trips(0, 3 + lines, 1),
        "StockReserved": Trips(1, 4, 1),
        "OrderConfirmed": Trips(1, 2 + lines, 1),
        "WatchOrder": Trips(2, 0),
    }


def critical_path(lines: float) -> Trips:
    s = steps(lines)
    watch_after_change = Trips(1, 0)
    return sum((s["PlaceOrder"], s["relay"], s["OrderPlaced"], s["relay"], s["StockReserved"],
                watch_after_change), NOTHING)


def per_order(lines: float) -> Trips:
    s = steps(lines)
    return sum((s["PlaceOrder"], s["OrderPlaced"], s["StockReserved"], s["OrderConfirmed"],
                s["WatchOrder"]), NOTHING)


Figures = dict[str, dict[str, float]]


def commit_ms(figures: Figures) -> float:
    return max(0.0, figures["mongo_txn"]["p50_ms"] - figures["mongo_write"]["p50_ms"])


def minimum_latency_ms(idle: Figures, lines: float = 1) -> float:
    path = critical_path(lines)
    return (idle["grpc_unary"]["p50_ms"] + 2 * idle["amqp_hop"]["p50_ms"]
            + path.reads * idle["mongo_read"]["p50_ms"]
            + path.writes * idle["mongo_write"]["p50_ms"]
            + path.commits * commit_ms(idle))


CALLS_PER_VISIT = 4  # ListBooks, GetBookDetails, PlaceOrder, WatchOrder
MESSAGES_PER_ORDER = 3  # OrderPlaced, StockReserved, OrderConfirmed


def parts_cpu_ms(loaded: Figures, lines: float) -> float:
    """Client-side CPU (ms) of the operations one order needs, at the loaded ceilings."""
    work = per_order(lines)
    write = loaded["mongo_write"]["cpu_ms"]
    commit = max(0.0, loaded["mongo_txn"]["cpu_ms"] - write)
    return (CALLS_PER_VISIT * loaded["grpc_unary"]["cpu_ms"]
            + MESSAGES_PER_ORDER * loaded["amqp_hop"]["cpu_ms"]
            + work.reads * loaded["mongo_read"]["cpu_ms"] + work.writes * write
            + work.commits * commit)


def throughput_limits(loaded: Figures, lines: float) -> dict[str, float]:
    """Confirmed orders/s each resource allows at the measured ceilings; ``model`` is the min."""
    work = per_order(lines)
    write_s = 1 / loaded["mongo_write"]["per_s"]
    commit_s = max(0.0, 1 / loaded["mongo_txn"]["per_s"] - write_s)
    db_seconds = (work.reads / loaded["mongo_read"]["per_s"] + work.writes * write_s
                  + work.commits * commit_s)
    limits = {
        "database": 1 / db_seconds,
        "broker": loaded["amqp_hop"]["per_s"] / 3,
        "grpc": loaded["grpc_unary"]["per_s"] / (2 + lines),
    }
    limits["model"] = min(limits.values())
    return {k: round(v, 1) for k, v in limits.items()}


def ratios(results: dict[str, object], idle: Figures, loaded: Figures,
           lines: float) -> dict[str, float]:
    """The saga's figures divided by what the model allows (1.0 = as fast as the parts)."""
    closed = results["closed_loop"]
    idle_run = results["idle"]
    reads = results["reads"]
    cpu = results["cpu_per_confirmed_order"]
    assert isinstance(closed, dict)
    assert isinstance(idle_run, dict)
    assert isinstance(reads, dict)
    assert isinstance(cpu, dict)
    services_ms = 1000 * (cpu.get("orders", 0.0) + cpu.get("inventory", 0.0))
    limits = throughput_limits(loaded, lines)
    minimum = minimum_latency_ms(idle)
    unary = loaded["grpc_unary"]["per_s"]
    return {
        "idle_confirm_p50_over_minimum": round(idle_run["confirm"]["p50_ms"] / minimum, 2),
        "confirmed_per_s_over_model": round(closed["confirmed_per_s"] / limits["model"], 3),
        "get_book_qps_over_unary": round(reads["get_book"]["per_s"] / unary, 3),
        "list_books_qps_over_unary": round(reads["list_books"]["per_s"] / unary, 3),
        "services_cpu_per_order_over_parts": round(services_ms / parts_cpu_ms(loaded, lines), 2),
    }
