"""Taking payment: the gateway interface and a simulated gateway that behaves like a real one.

The simulated gateway keeps its charges in its own ledger (:mod:`orders.payment_store`), one
per order id, so charging an order twice (a redelivered event, a retried transaction, a crash
and restart) returns the first result and never charges twice. Test inputs, all deterministic:

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

from orders.payment_store import PaymentRecords
from saga import Backoff

log = logging.getLogger(__name__)

DEFAULT_LIMIT_CENTS = 100_000_00
DECLINING_TOKENS = {"tok_declined": "card declined", "tok_insufficient_funds": "insufficient funds"}
TRANSIENT_TOKEN = "tok_transient"


# The gateway's retries: 50 ms, 100 ms, 200 ms between four tries.
CHARGE_BACKOFF = Backoff(initial=0.05, maximum=2.0)


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
    """A gateway over its own ledger: idempotent per order, deterministic test declines."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], *,
                 limit_cents: int = DEFAULT_LIMIT_CENTS) -> None:
        self._ledger = PaymentRecords(db)
        self._limit = limit_cents

    async def charge(self, order_id: str, amount_cents: int, payment_token: str) -> PaymentResult:
        if payment_token == TRANSIENT_TOKEN:
            if await self._ledger.record_first(
                    order_id, {"state": "unanswered", "amount_cents": amount_cents}):
                raise PaymentUnavailable("payment gateway timed out")
        else:
            outcome = _decide(amount_cents, payment_token, self._limit)
            if await self._ledger.record_first(order_id, outcome):
                return _result(outcome)
        stored = await self._ledger.get(order_id)
        assert stored is not None, "a charge that collided on its order id exists"
        if stored["state"] != "unanswered":
            return _result(stored)
        final = await self._ledger.answer(  # whoever won a race
            order_id, _decide(amount_cents, payment_token, self._limit))
        assert final is not None
        return _result(final)

    async def refund(self, order_id: str) -> None:
        await self._ledger.refund(order_id)

    async def state_of(self, order_id: str) -> str | None:
        """``approved``, ``declined``, ``refunded``, ``unanswered``, or ``None``: for tests."""
        return await self._ledger.state_of(order_id)


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
    *, attempts: int = 4, backoff: Backoff = CHARGE_BACKOFF,
) -> PaymentResult:
    """Charge, retrying with backoff while the gateway is unavailable; re-raise at the end."""
    retrying = backoff.retrying(attempts, retry_if=lambda e: isinstance(e, PaymentUnavailable))
    async for attempt in retrying:
        with attempt:
            return await gateway.charge(order_id, amount_cents, payment_token)
    raise AssertionError("unreachable: tenacity re-raises the last failure")
