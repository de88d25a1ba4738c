"""Writing a run down: JSON for machines, a table for people, a plot for the shape over time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt

from bench.stats import Recorder, Series, percentile


def write_json(path: Path, results: dict[str, Any]) -> None:
    path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")


def table(results: dict[str, Any]) -> str:
    """The figures that matter, one per line, ratios last."""
    rows: list[tuple[str, str]] = []

    def add(label: str, figures: dict[str, float], rate: str = "per_s") -> None:
        rows.append((label, f"{figures.get(rate, 0):>8.1f}/s  p50 {figures['p50_ms']:7.1f}  "
                            f"p95 {figures.get('p95_ms', 0):7.1f}  "
                            f"p99 {figures['p99_ms']:7.1f} ms"))

    for phase in ("idle", "closed_loop", "open_loop"):
        run = results[phase]
        rows.append((f"[{phase}] {run['label']}",
                     f"confirmed {run['confirmed_per_s']:.1f}/s, outcomes {run['outcomes']}, "
                     f"errors {run['errors']}"))
        add("  PlaceOrder", run["place"])
        add("  PlaceOrder→CONFIRMED", run["confirm"])
    burst = results["burst"]
    rows.append((f"[burst] {burst['customers']} customers, {burst['copies']} copies",
                 f"PlaceOrder p50 {burst['burst_place_order_p50_ms']:.1f} ms, "
                 f"p99 {burst['burst_place_order_p99_ms']:.1f} ms; all settled in "
                 f"{burst['burst_settle_seconds']:.2f} s; outcomes {burst['outcomes']}, "
                 f"errors {burst['errors']}"))
    rows.append(("[reads] closed loop", f"concurrency {results['reads']['concurrency']}"))
    add("  GetBookDetails", results["reads"]["get_book"])
    add("  ListBooks", results["reads"]["list_books"])
    for level in ("idle", "loaded") if "ceilings" in results else ():
        rows.append((f"[ceilings, {level}]", ""))
        for name, figures in results["ceilings"][level].items():
            add(f"  {name}", figures)
    if "model" in results:
        rows.append(("[model]", f"min confirm {results['model']['minimum_confirm_ms']:.1f} ms; "
                                f"limits {results['model']['limits']}"))
    rows.append(("[cpu s / confirmed order]", str(results["cpu_per_confirmed_order"])))
    rows.append(("[cpu s / confirmed order, open loop]",
                 str(results["cpu_per_confirmed_order_open_loop"])))
    if "spans_received" in results:
        rows.append(("[spans received]", str(results["spans_received"])))
    if "model" in results:
        rows.append(("[parts' client cpu ms / order]",
                     str(results["model"]["parts_cpu_ms_per_order"])))
    rows.append(("[database ops / confirmed order]",
                 str(results["database_ops_per_confirmed_order"])))
    for name, value in results.get("ratios", {}).items():
        rows.append((f"  {name}", f"{value:.3f}"))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {text}" for label, text in rows)


def _buckets(series: Series, start: float, end: float) -> tuple[list[float], list[float],
                                                                  list[float], list[float]]:
    """Per one-second bucket: time, count per second, p50 and p99 in milliseconds."""
    times, rates, p50s, p99s = [], [], [], []
    second = start
    while second < end:
        inside = [lat * 1000 for t, lat in zip(series.ends, series.latencies, strict=True)
                  if second <= t < second + 1]
        times.append(second - start)
        rates.append(float(len(inside)))
        p50s.append(percentile(inside, 50) if inside else float("nan"))
        p99s.append(percentile(inside, 99) if inside else float("nan"))
        second += 1
    return times, rates, p50s, p99s


def plot(path: Path, phases: list[tuple[str, Recorder, float, float]]) -> None:
    """Confirmed orders/s and PlaceOrder→CONFIRMED p50/p99, phase after phase on one axis."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
    offset = 0.0
    for i, (label, rec, start, end) in enumerate(phases):
        times, rates, p50s, p99s = _buckets(rec.confirm, start, end)
        shifted = [t + offset for t in times]
        colour = f"C{i}"
        top.plot(shifted, rates, color=colour, marker=".", label=f"{label}: confirmed/s")
        bottom.plot(shifted, p50s, color=colour, marker=".", label=f"{label}: p50")
        bottom.plot(shifted, p99s, color=colour, marker=".", linestyle="--",
                    label=f"{label}: p99")
        top.axvspan(offset, offset + (end - start), color=colour, alpha=0.06)
        offset += end - start
    top.set_ylabel("confirmed orders / s")
    top.set_title("Order saga under load: throughput (top), PlaceOrder→CONFIRMED latency "
                  "(bottom)")
    bottom.set_ylabel("latency, ms (log)")
    bottom.set_yscale("log")
    bottom.set_xlabel("seconds into the load phases")
    for axis in (top, bottom):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
