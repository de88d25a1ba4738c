"""Latency samples with their completion times, so one record feeds the table and the plot."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass, field


def percentile(samples: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100), inclusive method; 0 for no samples."""
    if not samples:
        return 0.0
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[max(1, min(99, int(q))) - 1]


@dataclass
class Series:
    """Latencies in seconds, each with the moment (``time.perf_counter``) it ended."""

    name: str
    ends: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    cpu_seconds: float | None = None  # this process's CPU over the run, when measured

    def add(self, started: float, ended: float | None = None) -> None:
        ended = time.perf_counter() if ended is None else ended
        self.ends.append(ended)
        self.latencies.append(ended - started)

    def summary(self, seconds: float) -> dict[str, float]:
        """Count, rate over ``seconds`` and p50/p95/p99 in milliseconds."""
        ms = [x * 1000 for x in self.latencies]
        figures = {"count": len(ms), "per_s": round(len(ms) / seconds, 1) if seconds else 0.0,
                   "p50_ms": round(percentile(ms, 50), 2),
                   "p95_ms": round(percentile(ms, 95), 2),
                   "p99_ms": round(percentile(ms, 99), 2)}
        if self.cpu_seconds is not None and ms:
            figures["cpu_ms"] = round(self.cpu_seconds * 1000 / len(ms), 4)
        return figures


@dataclass
class Recorder:
    """Everything one load phase measures."""

    place: Series = field(default_factory=lambda: Series("PlaceOrder"))
    confirm: Series = field(default_factory=lambda: Series("PlaceOrder→CONFIRMED"))
    get_book: Series = field(default_factory=lambda: Series("GetBookDetails"))
    list_books: Series = field(default_factory=lambda: Series("ListBooks"))
    lag: Series = field(default_factory=lambda: Series("arrival lag"))
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
