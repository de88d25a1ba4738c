"""An order's saga timeline: both services' steps merged in time order, and what it awaits.

Orders and inventory each answer ``GetOrderTimeline`` with the steps they stored (status
changes, reservation states, events received, emitted and dead-lettered). Merged, they read
as one story; :func:`waiting_for` finds the first expected step that is missing, so a stuck
order says what it is stuck on. Pure: no IO, so every case is cheap to test.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from client._models import Order, status_name, to_dict
from contracts.bookstore.timeline.v1 import timeline_pb2

TimelineStep = timeline_pb2.TimelineStep

#: Which service consumes each saga event: an emitted event is expected to be received there.
CONSUMERS = {"OrderPlaced": "inventory", "OrderConfirmed": "inventory",
             "OrderCancelled": "inventory", "StockReserved": "orders",
             "StockRejected": "orders"}
RECEIVED, EMITTED, DEAD = "received ", "emitted ", "dead-lettered"
PAYMENT_DUE = "payment due"


@dataclass(frozen=True, slots=True)
class OrderTimeline:
    """Every step of one order's saga, oldest first, and where the order is now."""

    order: Order
    steps: list[TimelineStep] = field(default_factory=list)
    #: What the order awaits, if a step is missing; ``None`` when nothing is outstanding.
    waiting_for: str | None = None
    #: Services that did not answer: their steps are missing from ``steps``.
    unavailable: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return status_name(self.order.status)

    def to_json(self) -> dict[str, Any]:
        return {"order_id": self.order.id, "status": self.status,
                "waiting_for": self.waiting_for, "unavailable": self.unavailable,
                "steps": [to_dict(step) for step in self.steps]}


def _consumes(step: TimelineStep) -> bool:
    return step.step.startswith(RECEIVED) or step.step == DEAD


def merge(*parts: Iterable[TimelineStep]) -> list[TimelineStep]:
    """All services' steps in the order they began, each part (one service's, in its own
    order) kept in order, and no event received before it was emitted.

    Times alone cannot promise the last: MongoDB keeps milliseconds, in which one service
    emits and another receives, and two hosts' clocks may disagree by more. So this merges
    like a merge sort, but passes over a head that receives an event not yet emitted.
    """
    queues = [deque(part) for part in parts]
    unemitted = {s.event_id for q in queues for s in q if s.step.startswith(EMITTED)}
    merged: list[TimelineStep] = []
    while heads := [(i, q[0]) for i, q in enumerate(queues) if q]:
        ready = [(i, h) for i, h in heads if not (_consumes(h) and h.event_id in unemitted)]
        i, step = min(ready or heads, key=lambda h: (h[1].at.seconds, h[1].at.nanos, h[0]))
        queues[i].popleft()
        merged.append(step)
        if step.step.startswith(EMITTED):
            unemitted.discard(step.event_id)
    return merged


def _outbox_state(step: TimelineStep) -> str:
    return step.detail.split(":", 1)[0]


def waiting_for(status: str, steps: Sequence[TimelineStep],
                unavailable: Iterable[str] = ()) -> str | None:
    """The first thing the saga still waits for, from the steps seen; ``None`` if none.

    An event one service emitted is expected to be received by its consumer: until then the
    saga waits for it to be published, or delivered (or, dead-lettered, for a person). A
    PENDING order with every event accounted for waits for payment once it is due, else for
    inventory's answer to OrderPlaced.
    """
    missing = set(unavailable)
    if status == "PENDING" and any(
            s.service == "orders" and s.step == PAYMENT_DUE for s in steps):
        return "payment"
    received = {(s.service, s.event_id) for s in steps if s.step.startswith(RECEIVED)}
    dead = {s.event_id: s for s in steps if s.step == DEAD}
    for step in steps:
        consumer = CONSUMERS.get(step.event)
        if (not step.step.startswith(EMITTED) or consumer is None
                or (consumer, step.event_id) in received):
            continue
        if step.event_id in dead:
            letter = dead[step.event_id]
            return (f"a person: {letter.service} dead-lettered {step.event}"
                    + (f" ({letter.detail})" if letter.detail else ""))
        state = _outbox_state(step)
        if state == "failed":
            return f"a person: {step.service} could not publish {step.event} ({step.detail})"
        if state != "published":
            return f"{step.service} to publish {step.event} (still in its outbox)"
        if consumer in missing:
            return f"{consumer}, which did not answer, to handle {step.event}"
        return f"the broker to deliver {step.event} to {consumer}"
    if status == "PENDING":
        return "inventory's answer to OrderPlaced"
    return None


def _delivered_early(steps: list[TimelineStep]) -> list[TimelineStep]:
    """Steps as given, except that an emitted event its consumer has received already, while
    its outbox still says ``pending`` (the relay marks confirmed events in batches, a moment
    later), says so instead of looking stuck."""
    received = {(s.service, s.event_id) for s in steps if s.step.startswith(RECEIVED)}
    shown = []
    for step in steps:
        consumer = CONSUMERS.get(step.event)
        if (step.step.startswith(EMITTED) and (consumer, step.event_id) in received
                and _outbox_state(step) in ("pending", "in_progress")):
            copy = TimelineStep()
            copy.CopyFrom(step)
            copy.detail = "delivered; not yet marked published"
            step = copy
        shown.append(step)
    return shown


def timeline(order: Order, orders_steps: Iterable[TimelineStep],
             inventory_steps: Iterable[TimelineStep],
             unavailable: Sequence[str] = ()) -> OrderTimeline:
    """The merged timeline of ``order`` from each service's part."""
    steps = _delivered_early(merge(orders_steps, inventory_steps))
    status = status_name(order.status)
    return OrderTimeline(order, steps, waiting_for(status, steps, unavailable),
                         list(unavailable))
