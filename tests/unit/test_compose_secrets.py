"""The compose stack's first-start secrets (compose/init_secrets.py) and the services'
entrypoint that reads them (compose/entrypoint.sh), run here against a temporary directory."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

COMPOSE = Path(__file__).resolve().parents[2] / "compose"


def chown_checking_mode(path: Path, uid: int, gid: int) -> None:
    """Stands in for os.chown: the step keeps only CAP_CHOWN, not CAP_FOWNER, so a file's
    mode must be final before it changes hands."""
    assert Path(path).stat().st_mode & 0o777 == 0o400, path


@pytest.fixture
def init_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("init_secrets", COMPOSE / "init_secrets.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(os, "chown", chown_checking_mode)  # the container runs it as root
    monkeypatch.delenv("BOOKSTORE_ADMIN_PASSWORD", raising=False)
    return module


def files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text()
            for p in sorted(root.rglob("*")) if p.is_file() and p.parent.name != "rabbitmq"}


def test_first_start_generates_and_prints_the_admin_password_once(
    init_secrets: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    init_secrets.main()
    first = capsys.readouterr().out
    password = (tmp_path / "user" / "BOOKSTORE_ADMIN_PASSWORD").read_text()
    assert f"Bookstore admin password (shown once): {password}" in first
    assert len(password) >= 32
    before = files(tmp_path)
    init_secrets.main()
    assert password not in capsys.readouterr().out
    assert files(tmp_path) == before, "a restart must change no secret"


def test_admin_password_from_the_environment_is_used_and_not_printed(
    init_secrets: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOOKSTORE_ADMIN_PASSWORD", "chosen-by-the-operator")
    init_secrets.main()
    assert "chosen-by-the-operator" not in capsys.readouterr().out
    for reader in ("user", "seed"):
        assert (tmp_path / reader / "BOOKSTORE_ADMIN_PASSWORD").read_text() == (
            "chosen-by-the-operator")


def test_each_container_gets_only_its_own_secrets(
    init_secrets: ModuleType, tmp_path: Path,
) -> None:
    init_secrets.main()
    assert {p.name for p in (tmp_path / "user").iterdir()} == {
        "BOOKSTORE_MONGO_URL", "BOOKSTORE_ADMIN_PASSWORD"}
    for svc in ("inventory", "orders"):
        assert {p.name for p in (tmp_path / svc).iterdir()} == {
            "BOOKSTORE_MONGO_URL", "BOOKSTORE_AMQP_URL"}
        amqp = (tmp_path / svc / "BOOKSTORE_AMQP_URL").read_text()
        assert re.fullmatch(rf"amqp://{svc}:[0-9a-f]{{48}}@rabbitmq:5672/", amqp)
    for svc in ("user", "inventory", "orders"):
        url = (tmp_path / svc / "BOOKSTORE_MONGO_URL").read_text()
        password = (tmp_path / f"mongo-{svc}" / "service-password").read_text()
        assert url == (f"mongodb://{svc}:{password}@mongo-{svc}:27017/"
                       "?directConnection=true&authSource=admin")
        keyfile = (tmp_path / f"mongo-{svc}" / "keyfile").read_text()
        assert re.fullmatch(r"[A-Za-z0-9+/=]{6,1024}", keyfile)
        assert (tmp_path / f"mongo-{svc}" / "keyfile").stat().st_mode & 0o777 == 0o400
    passwords = [(tmp_path / f"mongo-{s}" / "service-password").read_text()
                 for s in ("user", "inventory", "orders")]
    assert len(set(passwords)) == 3


def test_broker_definitions_hash_each_password_and_confine_each_user(
    init_secrets: ModuleType, tmp_path: Path,
) -> None:
    init_secrets.main()
    definitions = json.loads((tmp_path / "rabbitmq" / "definitions.json").read_text())
    users = {u["name"]: u for u in definitions["users"]}
    assert set(users) == {"admin", "inventory", "orders"}
    for svc in ("inventory", "orders"):
        password = (tmp_path / svc / "BOOKSTORE_AMQP_URL").read_text().split(":")[2].split("@")[0]
        raw = base64.b64decode(users[svc]["password_hash"])
        assert raw[4:] == hashlib.sha256(raw[:4] + password.encode()).digest()
        assert users[svc]["tags"] == []
    permissions = {p["user"]: p for p in definitions["permissions"]}
    allowed = re.compile(permissions["inventory"]["configure"])
    assert allowed.fullmatch("bookstore.inventory.dead")
    assert allowed.fullmatch("bookstore.events")
    assert not allowed.fullmatch("bookstore.orders")
    assert not allowed.fullmatch("amq.default")


def test_entrypoint_exports_each_secret_file_then_runs_the_command(tmp_path: Path) -> None:
    (tmp_path / "BOOKSTORE_MONGO_URL").write_text("mongodb://u:p@db:27017/")
    (tmp_path / "BOOKSTORE_bad-name").write_text("ignored")
    (tmp_path / "OTHER").write_text("ignored")
    done = subprocess.run(
        ["sh", str(COMPOSE / "entrypoint.sh"), "env"], capture_output=True, text=True,
        env={"PATH": os.environ["PATH"], "BOOKSTORE_SECRETS_DIR": str(tmp_path)}, check=True)
    exported = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert exported["BOOKSTORE_MONGO_URL"] == "mongodb://u:p@db:27017/"
    assert "OTHER" not in exported
    assert not any(name.startswith("BOOKSTORE_bad") for name in exported)
