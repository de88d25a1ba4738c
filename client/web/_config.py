"""The storefront's settings: the client's own (where the services are), plus where to listen."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from client._config import ClientConfig

DEFAULT_WEB_ADDR = "127.0.0.1:8080"


class WebConfig(ClientConfig):
    """``BOOKSTORE_WEB_ADDR`` and the session limits, beside the client's settings."""

    #: host:port the storefront listens on.
    web_addr: str = Field(DEFAULT_WEB_ADDR, pattern=r"^\S+:\d{1,5}$",
                          description="HOST:PORT, e.g. 0.0.0.0:8080")
    #: Seconds a visitor's session lives without a request.
    web_session_idle_seconds: float = Field(
        3600.0, gt=0, description="a positive number of seconds")
    #: Sessions kept at most; the least recently used go first beyond that.
    web_max_sessions: int = Field(10_000, gt=0, description="a positive whole number")
    #: The services' own logging variables, read the same way.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="one of DEBUG, INFO, WARNING, ERROR")
    log_format: Literal["json", "text"] = Field("json", description="json or text")

    @property
    def host_and_port(self) -> tuple[str, int]:
        host, _, port = self.web_addr.rpartition(":")
        return host.strip("[]"), int(port)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebConfig:
        config = super().from_env(env)
        assert isinstance(config, WebConfig)
        return config
