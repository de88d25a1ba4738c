"""The order service's part of an order's timeline: its own history, then saga's journal.

The order document's ``history`` holds every status change and the saga steps recorded
between them (``step: payment_due``); :class:`saga.journal.Journal` adds the events orders
received and emitted for the order, with their times, attempts and outbox state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from orders.lifecycle import Status
from runtime.timeline import TimelineStep, in_time_order, journal_steps, step
from saga.journal import JournalEntry

SERVICE = "orders"


def step_name(entry: Mapping[str, Any], *, first: bool) -> str:
    """``placed``, a status (``confirmed``), or a saga step (``payment due``)."""
    if entry.get("step"):
        return str(entry["step"]).replace("_", " ")
    if first and entry["status"] == Status.PENDING.value:
        return "placed"
    return str(entry["status"]).lower()


def history_steps(history: Iterable[Mapping[str, Any]]) -> list[TimelineStep]:
    return [step(SERVICE, step_name(entry, first=i == 0), entry["at"],
                 detail=str(entry.get("reason", "")))
            for i, entry in enumerate(history)]


def order_timeline(history: Iterable[Mapping[str, Any]],
                   journal: Iterable[JournalEntry]) -> list[TimelineStep]:
    """Every step orders took for the order, oldest first."""
    return in_time_order([*history_steps(history), *journal_steps(SERVICE, journal)])
