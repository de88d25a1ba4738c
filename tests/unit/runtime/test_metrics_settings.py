"""Where each service serves /metrics: the shared variable, its own, the defaults, ``off``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from inventory.config import InventorySettings
from orders.config import OrdersSettings
from runtime.metrics import DEFAULT_METRICS_ADDRS, MetricsAddress
from runtime.settings import ServiceSettings, SettingsError
from user.config import UserSettings

SetEnv = Callable[..., None]
EVERY: list[type[ServiceSettings]] = [UserSettings, InventorySettings, OrdersSettings]


@pytest.mark.parametrize("settings", EVERY)
def test_each_service_has_a_port_of_its_own_by_default(
        environ: SetEnv, settings: type[ServiceSettings]) -> None:
    loaded = settings.load()
    host, port = DEFAULT_METRICS_ADDRS[settings.service].split(":")
    assert loaded.metrics_address == MetricsAddress(host, int(port))
    assert loaded.metrics_variable == f"BOOKSTORE_{settings.service.upper()}_METRICS_ADDR"
    assert sorted(DEFAULT_METRICS_ADDRS.values()) == [
        "127.0.0.1:9101", "127.0.0.1:9102", "127.0.0.1:9103"]


def test_a_service_reads_its_own_variable_and_not_the_others(environ: SetEnv) -> None:
    environ(BOOKSTORE_ORDERS_METRICS_ADDR="0.0.0.0:0", BOOKSTORE_USER_METRICS_ADDR="off")
    assert OrdersSettings.load().metrics_address == MetricsAddress("0.0.0.0", 0)
    assert UserSettings.load().metrics_address is None
    assert InventorySettings.load().metrics_address == MetricsAddress("127.0.0.1", 9102)


def test_the_shared_variable_wins_as_the_listen_address_does(environ: SetEnv) -> None:
    """A pod or container sets ``BOOKSTORE_METRICS_ADDR`` for the one service it runs."""
    environ(BOOKSTORE_METRICS_ADDR="[::]:9200", BOOKSTORE_INVENTORY_METRICS_ADDR="off")
    loaded = InventorySettings.load()
    assert loaded.metrics_address == MetricsAddress("::", 9200)
    assert loaded.metrics_variable == "BOOKSTORE_METRICS_ADDR"


def test_off_everywhere(environ: SetEnv) -> None:
    environ(BOOKSTORE_METRICS_ADDR="OFF")
    assert {cls.load().metrics_address for cls in EVERY} == {None}


@pytest.mark.parametrize("variable", ["BOOKSTORE_METRICS_ADDR", "BOOKSTORE_USER_METRICS_ADDR",
                                      "BOOKSTORE_ORDERS_METRICS_ADDR"])
def test_a_bad_address_is_refused_naming_the_variable(environ: SetEnv, variable: str) -> None:
    environ(**{variable: "9101"})
    with pytest.raises(SettingsError) as refused:
        UserSettings.load()
    assert str(refused.value) == (
        f"{variable} must be 'off' or host:port (port 0: any free port), not '9101'")
