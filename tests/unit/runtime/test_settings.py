"""Shared settings from the environment: defaults, per-service overrides, refusals, secrets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from inventory.config import InventorySettings
from orders.config import OrdersSettings
from runtime.settings import DEFAULT_ADDRESSES, SettingsError, redact_url
from user.config import UserSettings

SetEnv = Callable[..., None]


def test_local_defaults(environ: SetEnv) -> None:
    settings = UserSettings.load()
    assert settings.listen_addr == DEFAULT_ADDRESSES["user"]
    assert settings.mongo_db == "bookstore_user"
    assert settings.mongo_url.get_secret_value() == "mongodb://127.0.0.1:27017"
    assert settings.data_dir == Path("var")
    assert settings.token_ttl_seconds == 3600
    assert settings.log_format == "json"
    assert settings.saga_prefix == "bookstore"
    assert settings.saga_prefetch == 4


def test_saga_prefix_is_shared_by_every_service(environ: SetEnv) -> None:
    environ(BOOKSTORE_SAGA_PREFIX="e2e.x")
    assert {cls.load().saga_prefix for cls in (InventorySettings, OrdersSettings)} == {"e2e.x"}


def test_service_specific_mongo_overrides_the_shared_one(environ: SetEnv) -> None:
    environ(BOOKSTORE_MONGO_URL="mongodb://shared", BOOKSTORE_USER_MONGO_URL="mongodb://own",
            BOOKSTORE_USER_MONGO_DB="users_x", BOOKSTORE_USER_ADDR="0.0.0.0:9000")
    settings = UserSettings.load()
    assert (settings.mongo_url.get_secret_value(), settings.mongo_db) == (
        "mongodb://own", "users_x")
    assert settings.listen_addr == "0.0.0.0:9000"
    orders = OrdersSettings.load()
    assert (orders.mongo_url.get_secret_value(), orders.mongo_db) == (
        "mongodb://shared", "bookstore_orders")


def test_an_empty_variable_counts_as_unset(environ: SetEnv) -> None:
    environ(BOOKSTORE_SAGA_PREFETCH="", BOOKSTORE_USER_MONGO_URL=" ")
    settings = UserSettings.load()
    assert settings.saga_prefetch == 4
    assert settings.mongo_url.get_secret_value() == "mongodb://127.0.0.1:27017"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("BOOKSTORE_SAGA_PREFETCH", "x",
     "BOOKSTORE_SAGA_PREFETCH must be a positive whole number, not 'x'"),
    ("BOOKSTORE_TOKEN_TTL_SECONDS", "0",
     "BOOKSTORE_TOKEN_TTL_SECONDS must be a positive whole number, not '0'"),
    ("BOOKSTORE_SHUTDOWN_GRACE_SECONDS", "soon",
     "BOOKSTORE_SHUTDOWN_GRACE_SECONDS must be a positive number of seconds, not 'soon'"),
    ("BOOKSTORE_LOG_FORMAT", "xml", "BOOKSTORE_LOG_FORMAT must be 'json' or 'text', not 'xml'"),
    ("BOOKSTORE_LOG_LEVEL", "loud", "BOOKSTORE_LOG_LEVEL must be one of DEBUG"),
])
def test_bad_values_are_refused_naming_the_variable(
        environ: SetEnv, name: str, value: str, message: str) -> None:
    environ(**{name: value})
    with pytest.raises(SettingsError) as refused:
        InventorySettings.load()
    assert str(refused.value).startswith(message)


def test_passwords_in_urls_stay_out_of_reprs(environ: SetEnv) -> None:
    environ(BOOKSTORE_MONGO_URL="mongodb://app:s3cret-m@db:27017/",
            BOOKSTORE_AMQP_URL="amqp://app:s3cret-a@mq:5672/")
    text = repr(OrdersSettings.load()) + str(OrdersSettings.load())
    assert "s3cret" not in text


@pytest.mark.parametrize(("url", "shown"), [
    ("mongodb://app:s3cret@db:27017/?authSource=admin", "mongodb://app:***@db:27017/?authSource=admin"),
    ("amqp://guest:guest@127.0.0.1:5672/", "amqp://guest:***@127.0.0.1:5672/"),
    ("mongodb://db:27017", "mongodb://db:27017"),
])
def test_redacted_urls_keep_everything_but_the_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown
