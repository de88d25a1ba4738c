"""Shared settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.settings import DEFAULT_ADDRESSES, Settings, SettingsError


def test_local_defaults() -> None:
    settings = Settings.from_env("user", {})
    assert settings.listen_addr == DEFAULT_ADDRESSES["user"]
    assert settings.mongo_db == "bookstore_user"
    assert settings.data_dir == Path("var")
    assert settings.token_ttl_seconds == 3600
    assert settings.log_format == "json"
    assert settings.saga_prefix == "bookstore"


def test_saga_prefix_is_shared_by_every_service() -> None:
    env = {"BOOKSTORE_SAGA_PREFIX": "e2e.x"}
    assert {Settings.from_env(s, env).saga_prefix for s in ("inventory", "orders")} == {"e2e.x"}


def test_service_specific_mongo_overrides_the_shared_one() -> None:
    env = {"BOOKSTORE_MONGO_URL": "mongodb://shared", "BOOKSTORE_USER_MONGO_URL": "mongodb://own",
           "BOOKSTORE_USER_MONGO_DB": "users_x", "BOOKSTORE_USER_ADDR": "0.0.0.0:9000"}
    settings = Settings.from_env("user", env)
    assert (settings.mongo_url, settings.mongo_db) == ("mongodb://own", "users_x")
    assert settings.listen_addr == "0.0.0.0:9000"
    assert Settings.from_env("orders", env).mongo_url == "mongodb://shared"


@pytest.mark.parametrize(("name", "value"), [
    ("BOOKSTORE_TOKEN_TTL_SECONDS", "0"), ("BOOKSTORE_TOKEN_TTL_SECONDS", "hour"),
    ("BOOKSTORE_LOG_FORMAT", "xml"),
])
def test_bad_values_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env("user", {name: value})
