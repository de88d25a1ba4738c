"""The user service's own settings, read from the environment next to the shared ones.

They live here rather than in :mod:`runtime.settings` because no other service needs them.
Every value has a safe default, so a bare ``python -m user`` works on a laptop.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runtime.settings import Settings, SettingsError, positive_int, positive_number
from user.mailer import SENDER
from user.smtp import SmtpServer, parse_smtp_url

MIN_BCRYPT_ROUNDS = 4  # bcrypt's own floor; tests use it to stay fast
MAX_BCRYPT_ROUNDS = 31


@dataclass(frozen=True, slots=True)
class UserConfig:
    bcrypt_rounds: int
    login_max_failures: int
    login_lockout_seconds: int
    reset_token_ttl_seconds: int
    mail_dir: Path
    admin_email: str | None
    admin_name: str
    admin_password: str | None = field(default=None, repr=False)  # never printed
    login_email_max_failures: int = 100  # from every address together; see user.lockout
    login_delay_seconds: float = 1.0  # first wait after a failure, doubling; 0 turns it off
    smtp: SmtpServer | None = None  # None: the file mail drop in mail_dir
    mail_from: str = SENDER

    @classmethod
    def from_env(cls, settings: Settings, env: Mapping[str, str] | None = None) -> UserConfig:
        env = os.environ if env is None else env

        def get(name: str) -> str:
            return env.get(f"BOOKSTORE_{name}", "").strip()

        rounds = positive_int(get("BCRYPT_ROUNDS") or "12", "BCRYPT_ROUNDS")
        if not MIN_BCRYPT_ROUNDS <= rounds <= MAX_BCRYPT_ROUNDS:
            raise SettingsError(
                f"BOOKSTORE_BCRYPT_ROUNDS must be {MIN_BCRYPT_ROUNDS}..{MAX_BCRYPT_ROUNDS}, "
                f"not {rounds}")
        mail_dir = get("MAIL_DIR")
        max_failures = positive_int(get("LOGIN_MAX_FAILURES") or "5", "LOGIN_MAX_FAILURES")
        email_max = positive_int(get("LOGIN_EMAIL_MAX_FAILURES") or "100",
                                 "LOGIN_EMAIL_MAX_FAILURES")
        if email_max <= max_failures:
            raise SettingsError("BOOKSTORE_LOGIN_EMAIL_MAX_FAILURES must be above "
                                f"BOOKSTORE_LOGIN_MAX_FAILURES ({max_failures}), not {email_max}")
        delay = get("LOGIN_DELAY_SECONDS") or "1"
        return cls(
            bcrypt_rounds=rounds,
            login_max_failures=max_failures,
            login_lockout_seconds=positive_int(
                get("LOGIN_LOCKOUT_SECONDS") or "900", "LOGIN_LOCKOUT_SECONDS"),
            reset_token_ttl_seconds=positive_int(
                get("RESET_TOKEN_TTL_SECONDS") or "1800", "RESET_TOKEN_TTL_SECONDS"),
            mail_dir=Path(mail_dir) if mail_dir else settings.data_dir / "mail",
            admin_email=get("ADMIN_EMAIL") or None,
            admin_name=get("ADMIN_NAME") or "Administrator",
            # A password may legitimately start or end with spaces: read it verbatim.
            admin_password=env.get("BOOKSTORE_ADMIN_PASSWORD") or None,
            login_email_max_failures=email_max,
            login_delay_seconds=0.0 if delay == "0" else positive_number(
                delay, "LOGIN_DELAY_SECONDS"),
            smtp=parse_smtp_url(get("SMTP_URL")) if get("SMTP_URL") else None,
            mail_from=get("MAIL_FROM") or SENDER,
        )

