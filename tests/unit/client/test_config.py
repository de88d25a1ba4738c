"""The client's settings: the services' addresses and its patience, from the environment."""

from __future__ import annotations

import pytest

from client._config import ClientConfig
from client._errors import InvalidArgumentError


def test_addresses_and_timeout_come_from_the_environment() -> None:
    config = ClientConfig.from_env({"BOOKSTORE_ORDERS_ADDR": "10.0.0.9:7000",
                                    "BOOKSTORE_CLIENT_TIMEOUT": "2.5"})
    assert config.orders_addr == "10.0.0.9:7000"
    assert config.user_addr == "127.0.0.1:50051"
    assert config.timeout == 2.5


@pytest.mark.parametrize("raw", ["soon", "0", "-1"])
def test_a_bad_timeout_is_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(InvalidArgumentError, match="BOOKSTORE_CLIENT_TIMEOUT"):
        ClientConfig.from_env({"BOOKSTORE_CLIENT_TIMEOUT": raw})
