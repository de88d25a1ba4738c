"""Order settings from the environment."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from orders.config import OrdersSettings
from runtime.settings import SettingsError

SetEnv = Callable[..., None]


def test_defaults(environ: SetEnv) -> None:
    settings = OrdersSettings.load()
    assert (settings.order_timeout_seconds, settings.sweep_interval) == (60, 5)
    assert settings.payment_limit_cents == 100_000_00
    assert settings.mongo_db == "bookstore_orders"


def test_sweep_never_slower_than_half_the_timeout(environ: SetEnv) -> None:
    environ(BOOKSTORE_ORDER_TIMEOUT_SECONDS="2")
    settings = OrdersSettings.load()
    assert (settings.order_timeout_seconds, settings.sweep_interval) == (2, 1)


@pytest.mark.parametrize(("name", "value"), [("BOOKSTORE_ORDER_TIMEOUT_SECONDS", "0"),
                                             ("BOOKSTORE_PAYMENT_LIMIT_CENTS", "12.5"),
                                             ("BOOKSTORE_ORDER_SWEEP_SECONDS", "soon")])
def test_bad_values_are_refused(environ: SetEnv, name: str, value: str) -> None:
    environ(**{name: value})
    with pytest.raises(SettingsError, match=f"{name} must be"):
        OrdersSettings.load()
