"""Where the services are and how patient to be with them, read from the environment.

The addresses use the same variables as the services themselves (``runtime.settings``), so a
client started next to a stack finds it without flags.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from client._errors import InvalidArgumentError
from runtime.settings import DEFAULT_ADDRESSES, SettingsError, positive_number

DEFAULT_TIMEOUT = 10.0
DEFAULT_WATCH_TIMEOUT = 300.0


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    """A positive number of seconds from ``env[name]``; the client's own error if it is not."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return positive_number(raw, name.removeprefix("BOOKSTORE_"))
    except SettingsError as exc:
        raise InvalidArgumentError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Addresses, the deadline of each call, and the retry budget for UNAVAILABLE."""

    user_addr: str = DEFAULT_ADDRESSES["user"]
    inventory_addr: str = DEFAULT_ADDRESSES["inventory"]
    orders_addr: str = DEFAULT_ADDRESSES["orders"]
    #: Seconds each unary call may take before it fails with DEADLINE_EXCEEDED.
    timeout: float = DEFAULT_TIMEOUT
    #: Seconds a WatchOrder stream may stay open.
    watch_timeout: float = DEFAULT_WATCH_TIMEOUT
    #: Attempts in all (first try included) for a call that may be repeated safely.
    retry_attempts: int = 4
    retry_initial_wait: float = 0.1
    retry_max_wait: float = 2.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ClientConfig:
        """``BOOKSTORE_{USER,INVENTORY,ORDERS}_ADDR`` and ``BOOKSTORE_CLIENT_TIMEOUT``."""
        env = os.environ if env is None else env

        def addr(service: str) -> str:
            return (env.get(f"BOOKSTORE_{service.upper()}_ADDR", "").strip()
                    or DEFAULT_ADDRESSES[service])  # type: ignore[index]

        return cls(user_addr=addr("user"), inventory_addr=addr("inventory"),
                   orders_addr=addr("orders"),
                   timeout=_float(env, "BOOKSTORE_CLIENT_TIMEOUT", DEFAULT_TIMEOUT),
                   watch_timeout=_float(env, "BOOKSTORE_CLIENT_WATCH_TIMEOUT",
                                        DEFAULT_WATCH_TIMEOUT))

    def address_of(self, service: str) -> str:
        return {"user": self.user_addr, "inventory": self.inventory_addr,
                "orders": self.orders_addr}[service]
