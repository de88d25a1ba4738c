"""Inventory's part of an order's timeline: its reservation's states and saga's journal.

The reservation document keeps each state with its time (``history``) and the order's owner
(from ``OrderPlaced``), so the owner may read this part as they may read the order itself;
anyone else is told the order does not exist here, exactly as orders answers them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from inventory.reservations import State
from inventory.stock_store import StockStore
from runtime.auth import Principal
from runtime.errors import NotFound
from runtime.timeline import TimelineStep, in_time_order, journal_steps, step
from saga.journal import Journal

SERVICE = "inventory"
STEP_NAMES = {
    State.HELD: "stock held", State.SOLD: "stock sold", State.RELEASED: "stock released",
    State.REJECTED: "stock rejected", State.RETURNED: "stock returned",
    State.CANCELLED: "nothing to hold",
}
DETAILS = {
    State.HELD: "every line reserved", State.SOLD: "held copies sold",
    State.RELEASED: "held copies back on sale", State.REJECTED: "a line could not be met",
    State.RETURNED: "sold copies back on sale",
    State.CANCELLED: "the order was cancelled before it reached inventory",
}


def reservation_steps(reservation: Mapping[str, Any]) -> list[TimelineStep]:
    """One step per state the reservation passed through; a reservation stored before states
    were dated shows only its current one."""
    history: Iterable[Mapping[str, Any]] = reservation.get("history") or [
        {"state": reservation["state"], "at": reservation["updated_at"]}]
    steps = []
    for entry in history:
        state = State(entry["state"])
        steps.append(step(SERVICE, STEP_NAMES[state], entry["at"], detail=DETAILS[state]))
    return steps


class InventoryTimeline:
    def __init__(self, stock: StockStore, journal: Journal) -> None:
        self._stock = stock
        self._journal = journal

    async def steps(self, caller: Principal, order_id: str) -> list[TimelineStep]:
        """Inventory's steps for the order, oldest first: for its owner or an admin only."""
        reservation = await self._stock.timeline_of(order_id) if order_id else None
        owner = "" if reservation is None else str(reservation.get("user_id", ""))
        if not caller.is_admin and (not owner or owner != caller.user_id):
            raise NotFound(f"order {order_id} does not exist")
        found = [] if reservation is None else reservation_steps(reservation)
        return in_time_order([*found, *journal_steps(SERVICE, await self._journal.of(order_id))])
