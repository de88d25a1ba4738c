"""The performance model: what the saga would cost if it were nothing but its raw parts.

An order of ``L`` lines makes these database round trips (``r`` reads, ``w`` writes; a
transaction's commit is a write) and these messages, counted from the code:

===============================  ===============  ==========================================
step                             round trips      what
===============================  ===============  ==========================================
PlaceOrder (orders)              2r + 3w          idempotency-key lookup; GetBookDetails per
                                                  line (1r each in inventory, run in
                                                  parallel); order + outbox insert, commit
relay round (each service)       ``RELAY``        claim (find, update, find), mark published
OrderPlaced (inventory)          (4+L)w           dedup insert, reservation upsert, L stock
                                                  updates, outbox insert, commit
StockReserved (orders)           2r + 5w          dedup insert, order read, payment read +
                                                  insert, order update, outbox insert, commit
OrderConfirmed (inventory)       1r + (3+L)w      dedup insert, reservation read + update,
                                                  L stock moves, commit (off the critical path)
WatchOrder sees CONFIRMED        1r               change-stream event with the full document
===============================  ===============  ==========================================

**Minimum PlaceOrder→CONFIRMED** (idle, one line): the critical path is PlaceOrder (two unary
calls: the client's and orders→inventory), the orders relay, hop 1 (OrderPlaced), inventory's
transaction, the inventory relay, hop 2 (StockReserved), orders' transaction, and the watch.
Hop 3 (OrderConfirmed) is off that path. So::

    min = 2·unary_p50 + 2·hop_p50 + R·read_p50 + W·write_p50

with R and W the reads and writes on that path, each at its idle (concurrency 1) latency.

**Throughput limit**: every shared resource caps confirmed orders per second at its ceiling
rate divided by what one order takes of it; the model is the lowest cap. The database does
``reads_per_order`` and ``writes_per_order`` (relay rounds excluded: batching spreads them over
many events under load); the broker carries 3 messages; gRPC serves 2 + 2L unary calls
(browse and order). Ratios under 1 are the share of the raw parts' speed the saga gets.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Reads and writes of one relay round (claim: find, update_many, find; mark: update_many).
RELAY = (2, 2)


@dataclass(frozen=True)
class Trips:
    reads: float
    writes: float


def steps(lines: float) -> dict[str, Trips]:
    """Round trips of each saga step for an order of ``lines`` lines."""
    return {
        "PlaceOrder": Trips(2, 3),
        "relay round": Trips(*RELAY),
        "OrderPlaced": Trips(0, 4 + lines),
        "StockReserved": Trips(2, 5),
        "OrderConfirmed": Trips(1, 3 + lines),
        "WatchOrder": Trips(1, 0),
    }


def critical_path(lines: float) -> Trips:
    s = steps(lines)
    path = [s["PlaceOrder"], s["relay round"], s["OrderPlaced"], s["relay round"],
            s["StockReserved"], s["WatchOrder"]]
    return Trips(sum(t.reads for t in path), sum(t.writes for t in path))


def per_order(lines: float) -> Trips:
    s = steps(lines)
    work = [s["PlaceOrder"], s["OrderPlaced"], s["StockReserved"], s["OrderConfirmed"],
            s["WatchOrder"]]
    return Trips(sum(t.reads for t in work), sum(t.writes for t in work))


Figures = dict[str, dict[str, float]]


def minimum_latency_ms(idle: Figures, lines: float = 1) -> float:
    path = critical_path(lines)
    return (2 * idle["grpc_unary"]["p50_ms"] + 2 * idle["amqp_hop"]["p50_ms"]
            + path.reads * idle["mongo_read"]["p50_ms"]
            + path.writes * idle["mongo_write"]["p50_ms"])


def throughput_limits(loaded: Figures, lines: float) -> dict[str, float]:
    """Confirmed orders/s each resource allows at the measured ceilings; ``model`` is the min."""
    work = per_order(lines)
    db_seconds = (work.reads / loaded["mongo_read"]["per_s"]
                  + work.writes / loaded["mongo_write"]["per_s"])
    limits = {
        "database": 1 / db_seconds,
        "broker": loaded["amqp_hop"]["per_s"] / 3,
        "grpc": loaded["grpc_unary"]["per_s"] / (2 + 2 * lines),
    }
    limits["model"] = min(limits.values())
    return {k: round(v, 1) for k, v in limits.items()}


def ratios(results: dict[str, object], idle: Figures, loaded: Figures,
           lines: float) -> dict[str, float]:
    """The saga's figures divided by what the model allows (1.0 = as fast as the parts)."""
    closed = results["closed_loop"]
    idle_run = results["idle"]
    reads = results["reads"]
    assert isinstance(closed, dict)
    assert isinstance(idle_run, dict)
    assert isinstance(reads, dict)
    limits = throughput_limits(loaded, lines)
    minimum = minimum_latency_ms(idle)
    unary = loaded["grpc_unary"]["per_s"]
    return {
        "idle_confirm_p50_over_minimum": round(idle_run["confirm"]["p50_ms"] / minimum, 2),
        "confirmed_per_s_over_model": round(closed["confirmed_per_s"] / limits["model"], 3),
        "get_book_qps_over_unary": round(reads["get_book"]["per_s"] / unary, 3),
        "list_books_qps_over_unary": round(reads["list_books"]["per_s"] / unary, 3),
    }
