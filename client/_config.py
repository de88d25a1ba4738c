"""Where the services are and how patient to be with them, read from the environment.

The addresses use the same variables as the services themselves (``BOOKSTORE_<SVC>_ADDR``),
so a client started next to a stack finds it without flags. This is the client's own settings
class: the client imports nothing of the server runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from client._errors import InvalidArgumentError

DEFAULT_ADDRESSES = {
    "user": "127.0.0.1:50051",
    "inventory": "127.0.0.1:50052",
    "orders": "127.0.0.1:50053",
}
DEFAULT_TIMEOUT = 10.0
DEFAULT_WATCH_TIMEOUT = 300.0
SECONDS = "a positive number of seconds"


class ClientConfig(BaseSettings):
    """Addresses, the deadline of each call, and the retry policy for UNAVAILABLE."""

    model_config = SettingsConfigDict(
        env_prefix="BOOKSTORE_", env_ignore_empty=True, extra="ignore", frozen=True,
        populate_by_name=True)

    user_addr: str = DEFAULT_ADDRESSES["user"]
    inventory_addr: str = DEFAULT_ADDRESSES["inventory"]
    orders_addr: str = DEFAULT_ADDRESSES["orders"]
    #: Seconds each unary call may take, retries included, before DEADLINE_EXCEEDED.
    timeout: float = Field(DEFAULT_TIMEOUT, gt=0, description=SECONDS,
                           validation_alias="BOOKSTORE_CLIENT_TIMEOUT")
    #: Seconds a WatchOrder stream may stay open.
    watch_timeout: float = Field(DEFAULT_WATCH_TIMEOUT, gt=0, description=SECONDS,
                                 validation_alias="BOOKSTORE_CLIENT_WATCH_TIMEOUT")
    #: Attempts in all (first try included) for a call that may be repeated safely; gRPC
    #: makes at most 5. 1 turns retries off.
    retry_attempts: int = Field(4, gt=0, description="a positive whole number",
                                validation_alias="BOOKSTORE_CLIENT_RETRY_ATTEMPTS")
    #: gRPC waits a random time up to this before the first retry, ...
    retry_initial_wait: float = Field(0.1, gt=0, description=SECONDS,
                                      validation_alias="BOOKSTORE_CLIENT_RETRY_INITIAL_WAIT")
    #: ... doubling for each further one, up to this.
    retry_max_wait: float = Field(2.0, gt=0, description=SECONDS,
                                  validation_alias="BOOKSTORE_CLIENT_RETRY_MAX_WAIT")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ClientConfig:
        """From the process environment, or only from ``env`` when given; a value that does
        not fit raises :class:`InvalidArgumentError` naming the variable."""
        values: dict[str, Any] = {}
        if env is not None:  # every field given, so the process environment is not read
            values = {name: (env.get(_variable(name), "").strip() or field.default)
                      for name, field in cls.model_fields.items()}
        try:
            return cls(**values)
        except ValidationError as exc:
            error = exc.errors()[0]
            name = str(error["loc"][0])
            field = cls.model_fields.get(name)
            what = field.description if field is not None else None
            raise InvalidArgumentError(
                f"{_variable(name)} must be {what or 'valid'}, not {error['input']!r}") from None

    def address_of(self, service: str) -> str:
        return {"user": self.user_addr, "inventory": self.inventory_addr,
                "orders": self.orders_addr}[service]


def _variable(name: str) -> str:
    if name.startswith("BOOKSTORE_"):
        return name
    field = ClientConfig.model_fields.get(name)
    if field is not None and isinstance(field.validation_alias, str):
        return field.validation_alias
    return f"BOOKSTORE_{name.upper()}"
