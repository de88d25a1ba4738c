"""The stored session: only its owner may read it, and it lands where the user expects."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from client import AuthenticationError, SessionStore, StoredSession, config_dir

SESSION = StoredSession(token="eyJ.token.sig", user_id="u1", email="ada@example.com",
                        name="Ada", role="customer", expires_at="2030-01-01T00:00:00Z")


def test_session_file_is_private(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "bookstore")
    path = store.save(SESSION)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.load() == SESSION


def test_saving_again_keeps_the_mode_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.save(SESSION)
    store.path.chmod(0o644)  # even a loosened file is replaced by a private one
    store.save(SESSION)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["session.json"]


def test_missing_or_corrupt_session_means_logged_out(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    assert store.load() is None
    store.path.write_text("{not json")
    assert store.load() is None
    with pytest.raises(AuthenticationError, match="not logged in"):
        store.require()
    assert store.clear() is True
    assert store.clear() is False


def test_config_dir_precedence(tmp_path: Path) -> None:
    assert config_dir({"BOOKSTORE_CONFIG_DIR": str(tmp_path / "c"),
                       "XDG_CONFIG_HOME": "/x"}) == tmp_path / "c"
    assert config_dir({"XDG_CONFIG_HOME": "/x"}) == Path("/x/bookstore")
    assert config_dir({}) == Path.home() / ".config" / "bookstore"
