"""The user service's settings: the shared ones (:mod:`runtime.settings`) and its own.

They live here rather than in :mod:`runtime.settings` because no other service needs them.
Every value has a safe default, so a bare ``python -m user`` works on a laptop.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import NoDecode

from runtime.settings import POSITIVE_WHOLE, ServiceName, ServiceSettings
from user.mailer import SENDER
from user.smtp import SmtpServer, parse_smtp_url

MIN_BCRYPT_ROUNDS = 4  # bcrypt's own floor; tests use it to stay fast
MAX_BCRYPT_ROUNDS = 31


class UserSettings(ServiceSettings):
    service: ClassVar[ServiceName] = "user"

    bcrypt_rounds: int = Field(
        12, ge=MIN_BCRYPT_ROUNDS, le=MAX_BCRYPT_ROUNDS,
        description=f"a whole number from {MIN_BCRYPT_ROUNDS} to {MAX_BCRYPT_ROUNDS}")
    login_max_failures: int = Field(5, gt=0, description=POSITIVE_WHOLE)
    login_lockout_seconds: int = Field(900, gt=0, description=POSITIVE_WHOLE)
    # From every address together (see user.lockout): far above what one address may try.
    login_email_max_failures: int = Field(
        100, gt=0, description="a whole number above BOOKSTORE_LOGIN_MAX_FAILURES")
    # The first wait after a failure, doubling with each one; 0 turns the waits off.
    login_delay_seconds: float = Field(1.0, ge=0, description="a number of seconds, 0 or more")
    # Callers trusted to name the end client in x-forwarded-for (user.lockout): networks,
    # comma-separated, e.g. the storefront's "10.0.0.0/8"; none by default.
    trusted_proxies: Annotated[list[ipaddress.IPv4Network | ipaddress.IPv6Network], NoDecode] = (
        Field(default_factory=list, description="comma-separated networks such as 10.0.0.0/8"))
    reset_token_ttl_seconds: int = Field(1800, gt=0, description=POSITIVE_WHOLE)
    #: Where the file mailer writes; ``<data dir>/mail`` unless set.
    mail_dir_override: Path | None = Field(None, validation_alias="BOOKSTORE_MAIL_DIR")
    admin_email: str | None = None
    admin_name: str = "Administrator"
    # A password may legitimately start or end with spaces: read verbatim, never printed.
    admin_password: SecretStr | None = None
    # Unset: reset mail goes to the file drop in mail_dir. Holds a password: never printed.
    smtp_url: SecretStr | None = None
    mail_from: str = SENDER

    @field_validator("login_email_max_failures", mode="after")
    @classmethod
    def _above_the_per_address_limit(cls, value: int, info: ValidationInfo) -> int:
        per_address = info.data.get("login_max_failures")
        if per_address is not None and value <= per_address:
            raise ValueError(f"must be above BOOKSTORE_LOGIN_MAX_FAILURES ({per_address})")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if isinstance(value, str):
            return [ipaddress.ip_network(part.strip(), strict=False)
                    for part in value.split(",") if part.strip()]
        return value

    @field_validator("smtp_url", mode="after")
    @classmethod
    def _an_smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_smtp_url(value.get_secret_value())  # its SettingsError names the variable
        return value

    @field_validator("admin_email", mode="after")
    @classmethod
    def _trimmed(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

    @property
    def mail_dir(self) -> Path:
        return self.mail_dir_override or self.data_dir / "mail"

    @property
    def smtp(self) -> SmtpServer | None:
        """Where reset mail goes over SMTP, or ``None`` for the file drop."""
        return None if self.smtp_url is None else parse_smtp_url(self.smtp_url.get_secret_value())
