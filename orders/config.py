"""The order service's settings: the shared ones (:mod:`runtime.settings`) and its own.

``BOOKSTORE_ORDER_TIMEOUT_SECONDS`` (60): how long an order may stay PENDING.
``BOOKSTORE_ORDER_SWEEP_SECONDS`` (5, never more than half the timeout): how often to look.
``BOOKSTORE_PAYMENT_LIMIT_CENTS`` (10000000): the simulated gateway declines larger charges.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from orders.payments import DEFAULT_LIMIT_CENTS
from runtime.settings import POSITIVE_SECONDS, ServiceName, ServiceSettings


class OrdersSettings(ServiceSettings):
    service: ClassVar[ServiceName] = "orders"

    order_timeout_seconds: float = Field(60.0, gt=0, description=POSITIVE_SECONDS)
    order_sweep_seconds: float = Field(5.0, gt=0, description=POSITIVE_SECONDS)
    payment_limit_cents: int = Field(DEFAULT_LIMIT_CENTS, gt=0,
                                     description="a positive whole number of cents")

    @property
    def sweep_interval(self) -> float:
        """How often to look for timed-out orders: never less often than twice a timeout."""
        return min(self.order_sweep_seconds, self.order_timeout_seconds / 2)
