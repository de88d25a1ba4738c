"""``python -m bench``: the whole stack under a customer load, next to its raw ceilings.

Starts its own user, inventory and orders services (``tests.stack.running_stack``) against
``BOOKSTORE_BENCH_MONGO_URL`` / ``BOOKSTORE_BENCH_AMQP_URL`` (else ``BOOKSTORE_TEST_*``), on
loopback only, seeds books and customers, then runs, in order: the raw ceilings (idle and at
``--concurrency``), an idle saga (one order at a time), GetBookDetails and ListBooks alone,
the closed loop, the open loop and a burst (``--burst-customers`` people at once ordering
the last ``--burst-copies`` copies of one book); ``--phases`` picks some of them. Every phase
is bounded in time and count; the run stops by itself and removes its databases and queues.
``--tracing`` runs the services with every span sampled and exported over OTLP to a receiver
in this process (``tests.otlp_receiver``), so CPU per confirmed order compares with a run
without it. Without it the services know the receiver's endpoint but no exporter, and
``spans_received`` shows that nothing is exported. Results: ``bench/results/<timestamp>.json``
and ``.png``, and a table on stdout. See ``bench.model`` for how the ratios are computed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import ipaddress
import os
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import ceilings, dbops, load, model
from bench.stats import Recorder
from client import ClientConfig
from tests.otlp_receiver import OtlpReceiver
from tests.stack import ADMIN_EMAIL, ADMIN_PASSWORD, Stack, running_stack

RESULTS = Path(__file__).resolve().parent / "results"
MEAN_LINES = 2.0  # orders have 1 to 3 lines, uniformly
PHASES = ("ceilings", "idle", "reads", "closed", "open", "burst")


def env_url(kind: str, default: str) -> str:
    url = (os.environ.get(f"BOOKSTORE_BENCH_{kind}_URL")
           or os.environ.get(f"BOOKSTORE_TEST_{kind}_URL") or default)
    host = urlsplit(url).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"refusing to load {host}: the benchmark runs on loopback only")
    return url


def phase(label: str, rec: Recorder, seconds: float) -> dict[str, Any]:
    return {"label": label, "seconds": round(seconds, 2),
            "confirmed_per_s": round(len(rec.confirm.latencies) / seconds, 2),
            "place": rec.place.summary(seconds), "confirm": rec.confirm.summary(seconds),
            "get_book": rec.get_book.summary(seconds),
            "list_books": rec.list_books.summary(seconds),
            "arrival_lag": rec.lag.summary(seconds),
            "outcomes": dict(rec.outcomes), "errors": dict(rec.errors)}


async def run(args: argparse.Namespace, stack: Stack, mongo_url: str,
              amqp_url: str) -> tuple[dict[str, Any], list[tuple[str, Recorder, float, float]]]:
    c = args.concurrency
    wanted = set(args.phases)
    if "ceilings" in wanted:
        idle_ceilings = await ceilings.measure(mongo_url, amqp_url, 1, args.ceiling_seconds)
        loaded_ceilings = await ceilings.measure(mongo_url, amqp_url, c, args.ceiling_seconds)
    configs = [ClientConfig(user_addr=stack.addresses_of("user")[i],
                            inventory_addr=stack.addresses_of("inventory")[i],
                            orders_addr=stack.addresses_of("orders")[i],
                            timeout=30.0, watch_timeout=args.watch_timeout)
               for i in range(args.instances)]
    shop = await load.open_shop(configs, (ADMIN_EMAIL, ADMIN_PASSWORD), books=args.books,
                                customers=args.customers, stock=10**7)
    from bench.cpu import CpuMeter  # psutil: the bench extra, checked in main()

    cpu = CpuMeter({svc: [stack.process(svc, i).pid for i in stack.instances(svc)]
                    for svc in stack.processes}, mongo_url)
    phases: list[tuple[str, Recorder, float, float]] = []
    results: dict[str, Any] = {}
    try:
        idle = Recorder()
        start = time.perf_counter()
        seconds = await load.closed_loop(shop, idle, concurrency=1, seconds=args.seconds,
                                         max_orders=args.idle_orders if "idle" in wanted else 0,
                                         watch_timeout=args.watch_timeout, browsing=False)
        results["idle"] = phase("1 customer, orders only", idle, seconds)
        phases.append(("idle", idle, start, start + seconds))

        reads = Recorder()
        read_seconds = args.read_seconds if "reads" in wanted else 0.0
        get_s = await load.reads_only(reads, shop, concurrency=c, seconds=read_seconds,
                                      call=lambda who, rng: who.get_book(rng.choice(shop.books)),
                                      into="get_book")
        list_s = await load.reads_only(reads, shop, concurrency=c, seconds=read_seconds,
                                       call=lambda who, rng: who.list_books(page_size=20),
                                       into="list_books")
        results["reads"] = {"concurrency": c, "get_book": reads.get_book.summary(get_s),
                            "list_books": reads.list_books.summary(list_s)}

        closed = Recorder()
        ops_before = await dbops.opcounters(mongo_url)
        cpu.mark()
        start = time.perf_counter()
        seconds = await load.closed_loop(shop, closed, concurrency=c, seconds=args.seconds,
                                         max_orders=args.max_orders if "closed" in wanted else 0,
                                         watch_timeout=args.watch_timeout)
        spent = cpu.delta()
        ops_after = await dbops.opcounters(mongo_url)
        results["closed_loop"] = phase(f"{c} customers back to back", closed, seconds)
        phases.append(("closed loop", closed, start, start + seconds))
        confirmed = max(1, len(closed.confirm.latencies))
        results["cpu_seconds_closed_loop"] = spent
        results["cpu_per_confirmed_order"] = {k: round(v / confirmed, 4)
                                              for k, v in spent.items()}
        results["database_ops_per_confirmed_order"] = dbops.per_order(
            ops_before, ops_after, confirmed)

        opened = Recorder()
        cpu.mark()
        start = time.perf_counter()
        seconds = await load.open_loop(shop, opened, rate=args.rate,
                                       seconds=args.seconds if "open" in wanted else 0.0,
                                       max_in_flight=4 * c, watch_timeout=args.watch_timeout)
        spent = cpu.delta()
        results["open_loop"] = phase(f"{args.rate:g} visits/s offered", opened, seconds)
        # The same offered rate in every run: the services' fixed costs per second (polls,
        # probes, change streams) weigh the same per order, whatever the closed loop reached.
        results["cpu_per_confirmed_order_open_loop"] = {
            k: round(v / max(1, len(opened.confirm.latencies)), 4) for k, v in spent.items()}
        phases.append(("open loop", opened, start, start + seconds))

        if "burst" in wanted:
            rush = Recorder()
            results["burst"] = await load.burst(
                configs, (ADMIN_EMAIL, ADMIN_PASSWORD), rush, customers=args.burst_customers,
                copies=args.burst_copies, watch_timeout=args.watch_timeout)
            results["burst"] |= {"outcomes": dict(rush.outcomes), "errors": dict(rush.errors)}
            results.update({k: v for k, v in results["burst"].items()
                            if k.startswith("burst_")})
    finally:
        await shop.close()
    if "ceilings" not in wanted:
        return results, phases
    results["ceilings"] = {"idle": idle_ceilings, "loaded": loaded_ceilings}
    results["model"] = {
        "minimum_confirm_ms": round(model.minimum_latency_ms(idle_ceilings), 2),
        "critical_path_round_trips": vars(model.critical_path(1)),
        "round_trips_per_order": vars(model.per_order(MEAN_LINES)),
        "parts_cpu_ms_per_order": round(model.parts_cpu_ms(loaded_ceilings, MEAN_LINES), 3),
        "limits": model.throughput_limits(loaded_ceilings, MEAN_LINES)}
    results["ratios"] = model.ratios(results, idle_ceilings, loaded_ceilings, MEAN_LINES)
    return results, phases


def require_extras() -> None:
    """Stop with the install command, before any work, if the bench extra is missing."""
    missing = []
    for module in ("psutil", "matplotlib"):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise SystemExit(f"python -m bench needs {' and '.join(missing)}: "
                         "pip install -e '.[bench]'")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop customers")
    parser.add_argument("--customers", type=int, default=16, help="accounts to create")
    parser.add_argument("--rate", type=float, default=10.0, help="open-loop visits per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each load phase")
    parser.add_argument("--read-seconds", type=float, default=5.0)
    parser.add_argument("--ceiling-seconds", type=float, default=3.0)
    parser.add_argument("--max-orders", type=int, default=5000, help="closed-loop order cap")
    parser.add_argument("--idle-orders", type=int, default=30)
    parser.add_argument("--books", type=int, default=20)
    parser.add_argument("--burst-customers", type=int, default=300,
                        help="customers ordering the last copies of one book at once")
    parser.add_argument("--burst-copies", type=int, default=7)
    parser.add_argument("--watch-timeout", type=float, default=60.0)
    parser.add_argument("--instances", type=int, default=1,
                        help="instances of every service; customers are spread over them")
    parser.add_argument("--prefetch", type=int, default=4,
                        help="unacknowledged messages each service's consumer may hold")
    parser.add_argument("--logs", type=Path, help="keep the services' logs in this directory")
    parser.add_argument("--tracing", action="store_true",
                        help="sample every span and export it over OTLP to a local receiver")
    parser.add_argument("--phases", type=lambda text: text.split(","), default=list(PHASES),
                        help=f"comma-separated phases to run, of {','.join(PHASES)}; the "
                             "model's ratios need all of them")
    args = parser.parse_args()
    require_extras()
    from bench import report  # matplotlib
    if not (1 <= args.concurrency <= 128 and 1 <= args.customers <= 256
            and 0 < args.rate <= 500 and 0 < args.seconds <= 300 and 1 <= args.books <= 200
            and 1 <= args.instances <= 4 and 1 <= args.prefetch <= 1000
            and 1 <= args.burst_customers <= 1000 and 0 <= args.burst_copies <= 10**6
            and args.phases and set(args.phases) <= set(PHASES)):
        raise SystemExit("--concurrency 1..128, --customers 1..256, --rate up to 500, "
                         "--seconds up to 300, --books 1..200, --instances 1..4, "
                         "--prefetch 1..1000, --burst-customers 1..1000, "
                         f"--phases of {','.join(PHASES)}")
    mongo_url = env_url("MONGO", "mongodb://127.0.0.1:27017/?retryWrites=false")
    amqp_url = env_url("AMQP", "amqp://guest:guest@127.0.0.1:5672/")
    RESULTS.mkdir(exist_ok=True)
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with contextlib.ExitStack() as running:
        tmp = running.enter_context(tempfile.TemporaryDirectory(prefix="bench-"))
        receiver = running.enter_context(OtlpReceiver(keep_spans=False))
        tracing = receiver.environment(schedule_delay_ms=5000)
        if not args.tracing:  # where an SDK's default exporter would send, and no exporter
            tracing = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}
        stack = running.enter_context(running_stack(
            mongo_url, amqp_url, args.logs or Path(tmp), order_timeout_seconds=300,
            instances=args.instances, BOOKSTORE_HOLD_TIMEOUT_SECONDS="600",  # > the order's
            BOOKSTORE_SAGA_PREFETCH=str(args.prefetch), **tracing))
        results, phases = asyncio.run(run(args, stack, mongo_url, amqp_url))
        results["spans_received"] = receiver.received
    results["settings"] = vars(args) | {"logs": str(args.logs or ""),
                                        "load_average": os.getloadavg(), "timestamp": stamp}
    report.write_json(RESULTS / f"{stamp}.json", results)
    report.plot(RESULTS / f"{stamp}.png", phases)
    print(report.table(results))
    print(f"\nwritten: {RESULTS / stamp}.json and .png")


if __name__ == "__main__":
    main()
