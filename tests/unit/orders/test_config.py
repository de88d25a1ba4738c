"""Order settings from the environment."""

from __future__ import annotations

import pytest

from orders.config import OrdersConfig
from runtime.settings import SettingsError


def test_defaults() -> None:
    config = OrdersConfig.from_env({})
    assert (config.timeout_seconds, config.sweep_seconds) == (60, 5)
    assert config.payment_limit_cents == 100_000_00


def test_sweep_never_slower_than_half_the_timeout() -> None:
    config = OrdersConfig.from_env({"BOOKSTORE_ORDER_TIMEOUT_SECONDS": "2"})
    assert (config.timeout_seconds, config.sweep_seconds) == (2, 1)


@pytest.mark.parametrize("env", [{"BOOKSTORE_ORDER_TIMEOUT_SECONDS": "0"},
                                 {"BOOKSTORE_PAYMENT_LIMIT_CENTS": "12.5"},
                                 {"BOOKSTORE_ORDER_SWEEP_SECONDS": "soon"}])
def test_bad_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        OrdersConfig.from_env(env)
