"""The order service's own settings, next to the shared ones in :mod:`runtime.settings`.

``BOOKSTORE_ORDER_TIMEOUT_SECONDS`` (60): how long an order may stay PENDING.
``BOOKSTORE_ORDER_SWEEP_SECONDS`` (5, never more than half the timeout): how often to look.
``BOOKSTORE_PAYMENT_LIMIT_CENTS`` (10000000): the simulated gateway declines larger charges.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from orders.payments import DEFAULT_LIMIT_CENTS
from runtime.settings import SettingsError, positive_number


@dataclass(frozen=True, slots=True)
class OrdersConfig:
    timeout_seconds: float = 60.0
    sweep_seconds: float = 5.0
    payment_limit_cents: int = DEFAULT_LIMIT_CENTS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OrdersConfig:
        env = os.environ if env is None else env

        def get(name: str) -> str:
            return env.get(f"BOOKSTORE_{name}", "").strip()

        timeout = positive_number(get("ORDER_TIMEOUT_SECONDS") or "60", "ORDER_TIMEOUT_SECONDS")
        sweep = positive_number(get("ORDER_SWEEP_SECONDS") or "5", "ORDER_SWEEP_SECONDS")
        limit = positive_number(get("PAYMENT_LIMIT_CENTS") or str(DEFAULT_LIMIT_CENTS),
                          "PAYMENT_LIMIT_CENTS")
        if limit != int(limit):
            raise SettingsError("BOOKSTORE_PAYMENT_LIMIT_CENTS must be a whole number of cents")
        return cls(timeout_seconds=timeout, sweep_seconds=min(sweep, timeout / 2),
                   payment_limit_cents=int(limit))

