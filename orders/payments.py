"""Taking payment: the gateway interface and a simulated gateway that behaves like a real one.

The simulated gateway keeps its charges in its own ``payments`` collection, one per order id,
so charging an order twice (a redelivered event, a retried transaction, a crash and restart)
returns the first result and never charges twice. Test inputs, all deterministic:

=========================  ==================================================================
payment token / amount     outcome
=========================  ==================================================================
``tok_declined``           declined: "card declined"
``tok_insufficient_funds`` declined: "insufficient funds"
amount above the limit     declined: "amount exceeds the card limit" (``BOOKSTORE_PAYMENT_
                           LIMIT_CENTS``, default 10000000 = 100,000.00)
``tok_transient``          the first attempt per order fails as if the gateway timed out
                           (:class:`PaymentUnavailable`); the next one is approved
anything else (or empty)   approved, with a reference like ``pay_3f9c...``
=========================  ==================================================================
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from orders.model import utc_now

log = logging.getLogger(__name__)

DEFAULT_LIMIT_CENTS = 100_000_00
DECLINING_TOKENS = {"tok_declined": "card declined", "tok_insufficient_funds": "insufficient funds"}
TRANSIENT_TOKEN = "tok_transient"


class PaymentUnavailable(Exception):  # noqa: N818 - reads as what happened
    """The gateway could not be reached or did not answer; trying again may succeed."""


@dataclass(frozen=True, slots=True)
class PaymentResult:
    approved: bool
    reference: str = ""
    decline_reason: str = ""


class PaymentGateway(Protocol):
    async def charge(self, order_id: str, amount_cents: int, payment_token: str) -> PaymentResult:
        """Charge once per order: a repeat for the same order returns the first result."""

    async def refund(self, order_id: str) -> None:
        """Give back an approved charge; nothing to do if there is none or it was refunded."""


class SimulatedGateway:
    """A gateway in MongoDB: idempotent per order, deterministic declines for test tokens."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], *,
                 limit_cents: int = DEFAULT_LIMIT_CENTS) -> None:
        self._charges = db["payments"]
        self._limit = limit_cents

    async def charge(self, order_id: str, amount_cents: int, payment_token: str) -> PaymentResult:
        # Insert first: the usual first charge is one write, and only a repeat (or a race)
        # pays for reading what the first attempt stored.
        if payment_token == TRANSIENT_TOKEN:
            if await self._record(order_id, {"state": "unanswered",
                                             "amount_cents": amount_cents}):
                raise PaymentUnavailable("payment gateway timed out")
        else:
            outcome = _decide(amount_cents, payment_token, self._limit)
            if await self._record(order_id, outcome):
                return _result(outcome)
        stored = await self._charges.find_one({"_id": order_id})
        assert stored is not None, "a charge that collided on its order id exists"
        if stored["state"] != "unanswered":
            return _result(stored)
        await self._charges.update_one(
            {"_id": order_id, "state": "unanswered"},
            {"$set": {**_decide(amount_cents, payment_token, self._limit),
                      "charged_at": utc_now()}})
        final = await self._charges.find_one({"_id": order_id})  # whoever won a race
        assert final is not None
        return _result(final)

    async def refund(self, order_id: str) -> None:
        await self._charges.update_one(
            {"_id": order_id, "state": "approved"},
            {"$set": {"state": "refunded", "refunded_at": utc_now()}})

    async def state_of(self, order_id: str) -> str | None:
        """``approved``, ``declined``, ``refunded``, ``unanswered``, or ``None``: for tests."""
        stored = await self._charges.find_one({"_id": order_id}, {"state": 1})
        return None if stored is None else str(stored["state"])

    async def _record(self, order_id: str, fields: dict[str, Any]) -> bool:
        """Store the first answer for the order; ``False`` if a concurrent charge got there first
        (its result stands)."""
        try:
            await self._charges.insert_one({"_id": order_id, **fields, "charged_at": utc_now()})
        except DuplicateKeyError:
            return False
        return True


def decline_reason(amount_cents: int, payment_token: str, limit_cents: int) -> str:
    """Why the simulated gateway declines this charge; empty if it approves it."""
    if payment_token in DECLINING_TOKENS:
        return DECLINING_TOKENS[payment_token]
    if amount_cents > limit_cents:
        return "amount exceeds the card limit"
    return ""


def _decide(amount_cents: int, payment_token: str, limit_cents: int) -> dict[str, Any]:
    decline = decline_reason(amount_cents, payment_token, limit_cents)
    return {
        "state": "declined" if decline else "approved",
        "amount_cents": amount_cents,
        "reference": "" if decline else f"pay_{uuid.uuid4().hex[:24]}",
        "decline_reason": decline,
    }


def _result(stored: dict[str, Any]) -> PaymentResult:
    # A refunded charge was approved once; the order keeps its reference.
    approved = stored["state"] in ("approved", "refunded")
    return PaymentResult(approved=approved, reference=stored.get("reference", ""),
                         decline_reason=stored.get("decline_reason", ""))


async def charge_with_retry(
    gateway: PaymentGateway, order_id: str, amount_cents: int, payment_token: str,
    *, attempts: int = 4, initial_wait: float = 0.05,
) -> PaymentResult:
    """Charge, retrying with backoff while the gateway is unavailable; re-raise at the end."""
    retrying = AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=initial_wait, max=2.0),
        retry=retry_if_exception_type(PaymentUnavailable),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await gateway.charge(order_id, amount_cents, payment_token)
    raise AssertionError("unreachable: tenacity re-raises the last failure")
