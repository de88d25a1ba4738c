"""The user service's own environment settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.settings import SettingsError
from user.config import UserSettings

SetEnv = Callable[..., None]


def settings(environ: SetEnv, **env: str) -> UserSettings:
    environ(BOOKSTORE_DATA_DIR="/srv/data", **env)
    return UserSettings.load()


def test_defaults(environ: SetEnv) -> None:
    cfg = settings(environ)
    assert (cfg.bcrypt_rounds, cfg.login_max_failures, cfg.login_lockout_seconds,
            cfg.reset_token_ttl_seconds) == (12, 5, 900, 1800)
    assert cfg.mail_dir == Path("/srv/data/mail")
    assert cfg.admin_email is None
    assert cfg.admin_password is None
    assert (cfg.login_email_max_failures, cfg.login_delay_seconds) == (100, 1.0)


def test_login_throttle_overrides(environ: SetEnv) -> None:
    cfg = settings(environ, BOOKSTORE_LOGIN_EMAIL_MAX_FAILURES="40",
                   BOOKSTORE_LOGIN_DELAY_SECONDS="0.5")
    assert (cfg.login_email_max_failures, cfg.login_delay_seconds) == (40, 0.5)
    assert settings(environ, BOOKSTORE_LOGIN_DELAY_SECONDS="0").login_delay_seconds == 0


def test_overrides(environ: SetEnv) -> None:
    cfg = settings(environ, BOOKSTORE_BCRYPT_ROUNDS="4", BOOKSTORE_LOGIN_MAX_FAILURES="3",
                   BOOKSTORE_MAIL_DIR="/tmp/mail", BOOKSTORE_ADMIN_EMAIL=" root@example.com ",
                   BOOKSTORE_ADMIN_PASSWORD=" secret with spaces ")
    assert (cfg.bcrypt_rounds, cfg.login_max_failures) == (4, 3)
    assert cfg.mail_dir == Path("/tmp/mail")
    assert cfg.admin_email == "root@example.com"
    assert cfg.admin_password is not None
    assert cfg.admin_password.get_secret_value() == " secret with spaces "


def test_admin_password_is_not_in_repr(environ: SetEnv) -> None:
    cfg = settings(environ, BOOKSTORE_ADMIN_PASSWORD="hunter22")
    assert "hunter22" not in repr(cfg)
    assert "hunter22" not in str(cfg.model_dump())


@pytest.mark.parametrize(("name", "value"), [
    ("BOOKSTORE_BCRYPT_ROUNDS", "3"), ("BOOKSTORE_BCRYPT_ROUNDS", "32"),
    ("BOOKSTORE_LOGIN_MAX_FAILURES", "0"), ("BOOKSTORE_RESET_TOKEN_TTL_SECONDS", "soon"),
    ("BOOKSTORE_LOGIN_EMAIL_MAX_FAILURES", "5"), ("BOOKSTORE_LOGIN_EMAIL_MAX_FAILURES", "x"),
    ("BOOKSTORE_LOGIN_DELAY_SECONDS", "-1"), ("BOOKSTORE_LOGIN_DELAY_SECONDS", "soon"),
])
def test_bad_values_are_refused(environ: SetEnv, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"{name} must be"):
        settings(environ, **{name: value})
