"""Settings every service reads from the environment once, at start, typed and checked.

One name per setting, shared by all services: ``BOOKSTORE_<NAME>``. A service may override
its MongoDB URL and database with ``BOOKSTORE_<SERVICE>_MONGO_URL`` / ``..._MONGO_DB``.
``BOOKSTORE_SAGA_PREFIX`` names the event exchange and queues, so separate stacks (tests,
benchmarks) can share one broker. A service binds ``BOOKSTORE_LISTEN_ADDR`` when set
(``0.0.0.0:50052`` in a pod), else its own ``BOOKSTORE_<SVC>_ADDR``: that one says how the
others reach it, and may list several instances or be a ``dns:///`` name (:mod:`runtime.channels`).
The ``/metrics`` endpoint follows the same pattern: ``BOOKSTORE_METRICS_ADDR`` when set (a pod, a
container), else ``BOOKSTORE_<SVC>_METRICS_ADDR`` (defaults :mod:`runtime.metrics`), ``off`` for
none.

Each service subclasses :class:`ServiceSettings` with its own fields (``user/config.py``,
``orders/config.py``, ``inventory/config.py``); the entry point (:mod:`runtime.entry`) loads
it once and hands it down. A value that does not fit is refused with a :class:`SettingsError`
naming the variable. URLs and passwords are :class:`~pydantic.SecretStr`: no repr or log line
shows them; :func:`redact_url` gives a URL fit to print.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal, Self
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from runtime.metrics import DEFAULT_METRICS_ADDRS, MetricsAddress, parse_metrics_addr

ServiceName = Literal["user", "inventory", "orders"]

DEFAULT_ADDRESSES: dict[ServiceName, str] = {
    "user": "127.0.0.1:50051",
    "inventory": "127.0.0.1:50052",
    "orders": "127.0.0.1:50053",
}

POSITIVE_WHOLE = "a positive whole number"
POSITIVE_SECONDS = "a positive number of seconds"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
METRICS_ADDR = "'off' or host:port (port 0: any free port)"


class StartupError(Exception):
    """The process cannot start: the message names the setting, file or address to fix."""


class SettingsError(StartupError, ValueError):
    """An environment variable holds a value the service cannot use."""


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class _Bookstore(BaseSettings):
    """Read ``BOOKSTORE_<FIELD>``; an empty variable counts as unset."""

    model_config = SettingsConfigDict(
        env_prefix="BOOKSTORE_", env_ignore_empty=True, extra="ignore", frozen=True,
        populate_by_name=True)

    @classmethod
    def load(cls, **values: Any) -> Self:
        """The settings from the environment (``values`` win), or a :class:`SettingsError`
        naming the first variable that does not fit."""
        try:
            return cls(**values)
        except ValidationError as exc:
            raise SettingsError(_describe(cls, exc)) from None


class LogSettings(_Bookstore):
    """What logging needs: read first, so even a bad setting is reported in the right format."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="one of " + ", ".join(LOG_LEVELS))
    log_format: Literal["json", "text"] = Field("json", description="'json' or 'text'")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


class ServiceSettings(LogSettings):
    """The settings every service shares; subclasses set :attr:`service` and add their own."""

    service: ClassVar[ServiceName]

    amqp_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    saga_prefix: str = "bookstore"
    saga_prefetch: int = Field(4, gt=0, description=POSITIVE_WHOLE)
    mongo_url: SecretStr = SecretStr("mongodb://127.0.0.1:27017")
    mongo_db: str = ""  # bookstore_<service> unless set
    mongo_timeout_seconds: float = Field(5.0, gt=0, description=POSITIVE_SECONDS)
    user_addr: str = DEFAULT_ADDRESSES["user"]
    inventory_addr: str = DEFAULT_ADDRESSES["inventory"]
    orders_addr: str = DEFAULT_ADDRESSES["orders"]
    bind_addr: str = Field("", validation_alias="BOOKSTORE_LISTEN_ADDR")
    data_dir: Path = Path("var")
    jwt_private_key_file: Path | None = None
    jwt_public_key_file: Path | None = None
    token_ttl_seconds: int = Field(3600, gt=0, description=POSITIVE_WHOLE)
    shutdown_grace_seconds: float = Field(5.0, gt=0, description=POSITIVE_SECONDS)
    # How often health probes the database and the broker (runtime.health).
    health_probe_seconds: float = Field(2.0, gt=0, description=POSITIVE_SECONDS)
    metrics_addr: str = Field("", description=METRICS_ADDR)
    user_metrics_addr: str = Field(DEFAULT_METRICS_ADDRS["user"], description=METRICS_ADDR)
    inventory_metrics_addr: str = Field(DEFAULT_METRICS_ADDRS["inventory"],
                                        description=METRICS_ADDR)
    orders_metrics_addr: str = Field(DEFAULT_METRICS_ADDRS["orders"], description=METRICS_ADDR)

    @field_validator("metrics_addr", "user_metrics_addr", "inventory_metrics_addr",
                     "orders_metrics_addr")
    @classmethod
    def _metrics_addr(cls, value: str) -> str:
        if value:
            parse_metrics_addr(value)  # its MetricsAddressError is a ValueError
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _ServiceOverrides(settings_cls), env_settings

    @model_validator(mode="after")
    def _own_database(self) -> Self:
        if not self.mongo_db:
            object.__setattr__(self, "mongo_db", f"bookstore_{self.service}")
        return self

    @property
    def listen_addr(self) -> str:
        """The address this service's gRPC server binds: ``BOOKSTORE_LISTEN_ADDR``, else its
        own ``BOOKSTORE_<SVC>_ADDR``."""
        return self.bind_addr or self.address_of(self.service)

    def address_of(self, service: ServiceName) -> str:
        return {"user": self.user_addr, "inventory": self.inventory_addr,
                "orders": self.orders_addr}[service]

    @property
    def metrics_variable(self) -> str:
        """The variable the metrics address comes from, for messages."""
        return ("BOOKSTORE_METRICS_ADDR" if self.metrics_addr
                else f"BOOKSTORE_{self.service.upper()}_METRICS_ADDR")

    @property
    def metrics_address(self) -> MetricsAddress | None:
        """Where this service serves ``/metrics``: ``BOOKSTORE_METRICS_ADDR`` when set, else
        its own ``BOOKSTORE_<SVC>_METRICS_ADDR``; ``None`` for ``off``."""
        own = {"user": self.user_metrics_addr, "inventory": self.inventory_metrics_addr,
               "orders": self.orders_metrics_addr}[self.service]
        return parse_metrics_addr(self.metrics_addr or own)


class _ServiceOverrides(PydanticBaseSettingsSource):
    """``BOOKSTORE_<SERVICE>_MONGO_URL`` / ``_MONGO_DB``: ahead of the shared variables, so
    services sharing one environment (a laptop, the test stack) keep their own databases."""

    FIELDS = ("mongo_url", "mongo_db")

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # all the work is in __call__

    def __call__(self) -> dict[str, Any]:
        service: str = getattr(self.settings_cls, "service", "")
        if not service:
            return {}
        values = {}
        for name in self.FIELDS:
            raw = os.environ.get(f"BOOKSTORE_{service.upper()}_{name.upper()}", "").strip()
            if raw:
                values[name] = raw
        return values


def variable_of(settings_cls: type[BaseSettings], field_name: str) -> str:
    """The environment variable a field is read from."""
    if field_name.startswith("BOOKSTORE_"):  # errors name an aliased field by its alias
        return field_name
    field = settings_cls.model_fields.get(field_name)
    if field is not None and isinstance(field.validation_alias, str):
        return field.validation_alias
    return f"BOOKSTORE_{field_name.upper()}"


def _describe(settings_cls: type[BaseSettings], exc: ValidationError) -> str:
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else ""
    field = settings_cls.model_fields.get(name)
    variable = variable_of(settings_cls, name)
    if field is not None and field.description:
        return f"{variable} must be {field.description}, not {error['input']!r}"
    return f"{variable}: {error['msg']}"
