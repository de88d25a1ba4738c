"""The inventory service's settings: the shared ones (:mod:`runtime.settings`) and its own.

``BOOKSTORE_HOLD_TIMEOUT_SECONDS`` (300): how long copies stay held for an order that is
neither confirmed nor cancelled before inventory releases them (:mod:`inventory.holds`). Keep
it longer than orders' ``BOOKSTORE_ORDER_TIMEOUT_SECONDS`` (60), so orders times its own
orders out first; inventory cannot see that setting, so the relation is documented, not checked.
``BOOKSTORE_HOLD_SWEEP_SECONDS`` (5, never more than half the timeout): how often to look.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from runtime.settings import POSITIVE_SECONDS, ServiceName, ServiceSettings


class InventorySettings(ServiceSettings):
    service: ClassVar[ServiceName] = "inventory"

    hold_timeout_seconds: float = Field(300.0, gt=0, description=POSITIVE_SECONDS)
    hold_sweep_seconds: float = Field(5.0, gt=0, description=POSITIVE_SECONDS)

    @property
    def hold_sweep_interval(self) -> float:
        """How often to look for expired holds: never less often than twice a timeout."""
        return min(self.hold_sweep_seconds, self.hold_timeout_seconds / 2)
