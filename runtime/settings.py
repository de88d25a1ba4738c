"""Settings every service and the client read from the environment, with local defaults.

One name per setting, shared by all services: ``BOOKSTORE_<NAME>``. A service may override
its MongoDB URL and database with ``BOOKSTORE_<SERVICE>_MONGO_URL`` / ``..._MONGO_DB``.
``BOOKSTORE_SAGA_PREFIX`` names the event exchange and queues, so separate stacks (tests,
benchmarks) can share one broker. A service binds ``BOOKSTORE_LISTEN_ADDR`` when set
(``0.0.0.0:50052`` in a pod), else its own ``BOOKSTORE_<SVC>_ADDR``: that one says how the
others reach it, and may list several instances or be a ``dns:///`` name (:mod:`runtime.channels`).
``BOOKSTORE_HEALTH_PROBE_SECONDS`` is how often health probes the database and the broker
(:mod:`runtime.health`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ServiceName = Literal["user", "inventory", "orders"]

DEFAULT_ADDRESSES: dict[ServiceName, str] = {
    "user": "127.0.0.1:50051",
    "inventory": "127.0.0.1:50052",
    "orders": "127.0.0.1:50053",
}


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True, slots=True)
class Settings:
    service: ServiceName
    amqp_url: str
    saga_prefix: str
    mongo_url: str
    mongo_db: str
    user_addr: str
    inventory_addr: str
    orders_addr: str
    data_dir: Path
    jwt_private_key_file: Path | None
    jwt_public_key_file: Path | None
    token_ttl_seconds: int
    log_level: str
    log_format: Literal["json", "text"]
    shutdown_grace_seconds: float
    bind_addr: str = ""
    saga_prefetch: int = 4
    health_probe_seconds: float = 2.0

    @property
    def listen_addr(self) -> str:
        """The address this service's gRPC server binds: ``BOOKSTORE_LISTEN_ADDR``, else its
        own ``BOOKSTORE_<SVC>_ADDR``."""
        return self.bind_addr or self.address_of(self.service)

    def address_of(self, service: ServiceName) -> str:
        return {"user": self.user_addr, "inventory": self.inventory_addr,
                "orders": self.orders_addr}[service]

    @classmethod
    def from_env(cls, service: ServiceName, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        prefix = f"BOOKSTORE_{service.upper()}_"

        def get(name: str, default: str) -> str:
            value = env.get(f"BOOKSTORE_{name}", "").strip()
            return value or default

        def optional_path(name: str) -> Path | None:
            value = env.get(f"BOOKSTORE_{name}", "").strip()
            return Path(value) if value else None

        log_format = get("LOG_FORMAT", "json")
        if log_format not in ("json", "text"):
            raise SettingsError(
                f"BOOKSTORE_LOG_FORMAT must be 'json' or 'text', not {log_format!r}")
        return cls(
            service=service,
            amqp_url=get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
            saga_prefix=get("SAGA_PREFIX", "bookstore"),
            mongo_url=env.get(f"{prefix}MONGO_URL") or get("MONGO_URL", "mongodb://127.0.0.1:27017"),
            mongo_db=env.get(f"{prefix}MONGO_DB") or f"bookstore_{service}",
            user_addr=get("USER_ADDR", DEFAULT_ADDRESSES["user"]),
            inventory_addr=get("INVENTORY_ADDR", DEFAULT_ADDRESSES["inventory"]),
            orders_addr=get("ORDERS_ADDR", DEFAULT_ADDRESSES["orders"]),
            data_dir=Path(get("DATA_DIR", "var")),
            jwt_private_key_file=optional_path("JWT_PRIVATE_KEY_FILE"),
            jwt_public_key_file=optional_path("JWT_PUBLIC_KEY_FILE"),
            token_ttl_seconds=positive_int(get("TOKEN_TTL_SECONDS", "3600"), "TOKEN_TTL_SECONDS"),
            log_level=get("LOG_LEVEL", "INFO").upper(),
            log_format=log_format,  # type: ignore[arg-type]  # checked above
            shutdown_grace_seconds=positive_number(
                get("SHUTDOWN_GRACE_SECONDS", "5"), "SHUTDOWN_GRACE_SECONDS"),
            bind_addr=get("LISTEN_ADDR", ""),
            saga_prefetch=positive_int(get("SAGA_PREFETCH", "4"), "SAGA_PREFETCH"),
            health_probe_seconds=positive_number(
                get("HEALTH_PROBE_SECONDS", "2"), "HEALTH_PROBE_SECONDS"),
        )


def positive_int(raw: str, name: str) -> int:
    """``raw`` as a whole number above zero, or a :class:`SettingsError` naming the variable."""
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"BOOKSTORE_{name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"BOOKSTORE_{name} must be positive, not {value}")
    return value


def positive_number(raw: str, name: str) -> float:
    """``raw`` as a number above zero (seconds, say), or a :class:`SettingsError`."""
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"BOOKSTORE_{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"BOOKSTORE_{name} must be positive, not {raw}")
    return value
