"""Inventory settings from the environment: the hold timeout."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from inventory.config import InventorySettings
from orders.config import OrdersSettings
from runtime.settings import SettingsError

SetEnv = Callable[..., None]


def test_defaults_hold_longer_than_orders_wait(environ: SetEnv) -> None:
    settings = InventorySettings.load()
    assert (settings.hold_timeout_seconds, settings.hold_sweep_interval) == (300, 5)
    assert settings.hold_timeout_seconds > OrdersSettings.load().order_timeout_seconds


def test_sweep_never_slower_than_half_the_hold_timeout(environ: SetEnv) -> None:
    environ(BOOKSTORE_HOLD_TIMEOUT_SECONDS="3")
    settings = InventorySettings.load()
    assert (settings.hold_timeout_seconds, settings.hold_sweep_interval) == (3, 1.5)


@pytest.mark.parametrize(("name", "value"), [("BOOKSTORE_HOLD_TIMEOUT_SECONDS", "0"),
                                             ("BOOKSTORE_HOLD_TIMEOUT_SECONDS", "later"),
                                             ("BOOKSTORE_HOLD_SWEEP_SECONDS", "-1")])
def test_bad_values_are_refused(environ: SetEnv, name: str, value: str) -> None:
    environ(**{name: value})
    with pytest.raises(SettingsError, match=f"{name} must be"):
        InventorySettings.load()
