"""The user service's settings: the shared ones (:mod:`runtime.settings`) and its own.

They live here rather than in :mod:`runtime.settings` because no other service needs them.
Every value has a safe default, so a bare ``python -m user`` works on a laptop.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr, field_validator

from runtime.settings import POSITIVE_WHOLE, ServiceName, ServiceSettings

MIN_BCRYPT_ROUNDS = 4  # bcrypt's own floor; tests use it to stay fast
MAX_BCRYPT_ROUNDS = 31


class UserSettings(ServiceSettings):
    service: ClassVar[ServiceName] = "user"

    bcrypt_rounds: int = Field(
        12, ge=MIN_BCRYPT_ROUNDS, le=MAX_BCRYPT_ROUNDS,
        description=f"a whole number from {MIN_BCRYPT_ROUNDS} to {MAX_BCRYPT_ROUNDS}")
    login_max_failures: int = Field(5, gt=0, description=POSITIVE_WHOLE)
    login_lockout_seconds: int = Field(900, gt=0, description=POSITIVE_WHOLE)
    reset_token_ttl_seconds: int = Field(1800, gt=0, description=POSITIVE_WHOLE)
    #: Where the file mailer writes; ``<data dir>/mail`` unless set.
    mail_dir_override: Path | None = Field(None, validation_alias="BOOKSTORE_MAIL_DIR")
    admin_email: str | None = None
    admin_name: str = "Administrator"
    # A password may legitimately start or end with spaces: read verbatim, never printed.
    admin_password: SecretStr | None = None

    @field_validator("admin_email", mode="after")
    @classmethod
    def _trimmed(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

    @property
    def mail_dir(self) -> Path:
        return self.mail_dir_override or self.data_dir / "mail"
