"""The simulated gateway's ledger: one charge document per order in ``payments``.

A store module like :mod:`orders.store`: the only place the gateway's MongoDB code lives.
Inserting first makes the usual first charge one write; only a repeat (or a race) pays for
reading what the first attempt stored.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from orders.model import utc_now

Document = dict[str, Any]


class PaymentRecords:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._charges = db["payments"]

    async def record_first(self, order_id: str, fields: Document) -> bool:
        """Store the first answer for the order; ``False`` if one is stored already (a repeat,
        or a concurrent charge that got there first: its result stands)."""
        try:
            await self._charges.insert_one({"_id": order_id, **fields, "charged_at": utc_now()})
        except DuplicateKeyError:
            return False
        return True

    async def get(self, order_id: str) -> Document | None:
        return await self._charges.find_one({"_id": order_id})

    async def answer(self, order_id: str, fields: Document) -> Document | None:
        """Give an unanswered charge its answer (if no one did), and return what stands."""
        await self._charges.update_one(
            {"_id": order_id, "state": "unanswered"},
            {"$set": {**fields, "charged_at": utc_now()}})
        return await self.get(order_id)

    async def refund(self, order_id: str) -> None:
        await self._charges.update_one(
            {"_id": order_id, "state": "approved"},
            {"$set": {"state": "refunded", "refunded_at": utc_now()}})

    async def state_of(self, order_id: str) -> str | None:
        stored = await self._charges.find_one({"_id": order_id}, {"state": 1})
        return None if stored is None else str(stored["state"])
