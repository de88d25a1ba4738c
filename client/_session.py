"""The login kept between ``bookstore`` commands: a small JSON file only its owner can read.

It holds a bearer token, which is as good as the password until it expires, so it is written
with mode 0600 (in a 0700 directory) and replaced atomically: never world-readable, not even
for the instant between creating and chmod-ing it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from client._errors import AuthenticationError

FILE_NAME = "session.json"


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$BOOKSTORE_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/bookstore``, else ~/.config/bookstore."""
    env = os.environ if env is None else env
    if override := env.get("BOOKSTORE_CONFIG_DIR", "").strip():
        return Path(override).expanduser()
    base = env.get("XDG_CONFIG_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".config") / "bookstore"


@dataclass(frozen=True, slots=True)
class StoredSession:
    token: str
    user_id: str
    email: str
    name: str
    role: str
    expires_at: str


class SessionStore:
    """Reads, writes and forgets the stored session in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SessionStore:
        return cls(config_dir(env))

    @property
    def path(self) -> Path:
        return self.directory / FILE_NAME

    def save(self, session: StoredSession) -> Path:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".session-", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(asdict(session), file, indent=2)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self.path

    def load(self) -> StoredSession | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return StoredSession(**{key: str(data[key]) for key in StoredSession.__slots__})
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def require(self) -> StoredSession:
        """The stored session, or an error telling the user to log in."""
        session = self.load()
        if session is None:
            raise AuthenticationError("not logged in: run `bookstore login EMAIL` first")
        return session

    def clear(self) -> bool:
        """Forget the session; False if there was none."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True
