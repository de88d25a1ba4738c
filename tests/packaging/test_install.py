"""The client installed on its own: a wheel built from packaging/client, installed into a fresh
virtual environment with nothing else of the repository, runs ``bookstore`` and talks to a
real user service."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from runtime.mongo import Document
from runtime.server import GrpcServer
from tests.packaging.conftest import ROOT, copy_sources
from user.app import build
from user.config import UserSettings

pytestmark = pytest.mark.timeout(900)  # a venv and its dependencies, on a busy machine

# Top-level names the repository uses; none may reach an installed client's site-packages.
REPOSITORY_NAMES = ("client", "contracts", "runtime", "saga", "user", "orders", "inventory")
SERVER_SIDE = ("pymongo", "aio_pika", "jwt", "cryptography", "opentelemetry", "runtime")
CALL_TIMEOUT = 120


@dataclass(frozen=True)
class Venv:
    path: Path
    site_packages: Path
    workdir: Path  # an empty working directory, so nothing of the checkout is importable

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def bookstore(self) -> Path:
        return self.path / "bin" / "bookstore"

    def env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items()
                if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
                and not k.startswith("BOOKSTORE_")}
        return {**base, "COLUMNS": "200", **extra}

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                              check=False, cwd=self.workdir, env=self.env(),
                              timeout=CALL_TIMEOUT)


def pip(*args: str | Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check",
                           *map(str, args)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the three folders the build reads, offline, with this
    environment's setuptools: what ``pip install ./packaging/client`` builds."""
    sources = copy_sources(tmp_path_factory.mktemp("checkout"))
    dist = tmp_path_factory.mktemp("dist")
    pip("wheel", "--quiet", "--no-deps", "--no-index", "--no-build-isolation",
        "--wheel-dir", dist, sources / "packaging" / "client")
    [built] = dist.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh virtual environment holding the wheel and its dependencies only (no pip either:
    this environment's pip installs into it)."""
    path = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(path)],
                   check=True, timeout=CALL_TIMEOUT)
    pip("--python", path / "bin" / "python", "install", "--quiet", "--no-compile", wheel)
    site = subprocess.run([path / "bin" / "python", "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    return Venv(path, Path(site), tmp_path_factory.mktemp("workdir"))


def test_the_wheel_is_named_for_its_package(wheel: Path) -> None:
    assert wheel.name == "bookstore_client-0.1.0-py3-none-any.whl"


def test_the_sdist_carries_the_staged_package_and_builds_the_same_wheel(
        wheel: Path, tmp_path: Path) -> None:
    sources = copy_sources(tmp_path / "checkout") / "packaging" / "client"
    hook = "import backend, sys; print(backend.build_sdist(sys.argv[1]))"
    done = subprocess.run([sys.executable, "-c", hook, str(tmp_path)], cwd=sources,
                          env={**os.environ, "PYTHONPATH": str(sources)},  # as backend-path
                          capture_output=True, text=True, check=False, timeout=CALL_TIMEOUT)
    assert done.returncode == 0, done.stderr
    with tarfile.open(tmp_path / done.stdout.strip().splitlines()[-1]) as sdist:
        sdist.extractall(tmp_path / "unpacked", filter="data")
    [unpacked] = (tmp_path / "unpacked").iterdir()  # no checkout around it: staged/ is used
    pip("wheel", "--quiet", "--no-deps", "--no-index", "--no-build-isolation",
        "--wheel-dir", tmp_path / "dist", unpacked)
    [rebuilt] = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as first, zipfile.ZipFile(rebuilt) as second:
        assert sorted(first.namelist()) == sorted(second.namelist())


def test_bookstore_help_works(venv: Venv) -> None:
    done = venv.run(venv.bookstore, "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage: bookstore" in done.stdout
    for command in ("register", "login", "books", "order", "admin"):
        assert command in done.stdout


def test_site_packages_holds_no_generic_name_of_the_repository(venv: Venv) -> None:
    top_level = {entry.name.split(".")[0] for entry in venv.site_packages.iterdir()
                 if not entry.name.endswith((".dist-info", ".pth")) and entry.name != "__pycache__"}
    assert "bookstore_client" in top_level
    assert top_level.isdisjoint(REPOSITORY_NAMES)
    [record] = venv.site_packages.glob("bookstore_client-*.dist-info/RECORD")
    installed = {line.split(",")[0].split("/")[0] for line in record.read_text().splitlines()}
    assert installed == {"bookstore_client", record.parent.name, ".."}  # ../../../bin/bookstore


def test_library_imports_under_its_own_name_without_server_code(venv: Venv) -> None:
    probe = f"""
import importlib.util, json, sys
import bookstore_client, bookstore_client.cli
from bookstore_client._contracts.bookstore.user.v1 import user_pb2
print(json.dumps({{
    "books": len(bookstore_client.sample_catalogue()),
    "client": bookstore_client.BookstoreClient.__module__,
    "message": user_pb2.User.__module__,
    "server_side_loaded": sorted(m for m in {SERVER_SIDE!r} if m in sys.modules),
    "repository_importable": [n for n in {REPOSITORY_NAMES!r} if importlib.util.find_spec(n)],
}}))
"""
    done = venv.run(venv.python, "-c", probe)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["books"] == len(json.loads((ROOT / "client/data/catalogue.json").read_text()))
    assert seen["client"] == "bookstore_client._client"
    assert seen["message"] == "bookstore_client._contracts.bookstore.user.v1.user_pb2"
    assert seen["server_side_loaded"] == []
    assert seen["repository_importable"] == []


@pytest.fixture
async def user_address(mongo_db: AsyncDatabase[Document], tmp_path: Path,
                       environ: Callable[..., None]) -> AsyncIterator[str]:
    """A real user service, served in this process on a free port."""
    settings = UserSettings.load(data_dir=tmp_path, bcrypt_rounds=4)
    server = GrpcServer("127.0.0.1:0", [(await build(mongo_db, settings)).binding()])
    await server.start()
    try:
        yield server.address
    finally:
        await server.stop(0)


async def bookstore(venv: Venv, env: dict[str, str], *args: str, stdin: str = ""
                    ) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        venv.bookstore, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=venv.workdir, env=env)
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), CALL_TIMEOUT)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.integration
async def test_installed_command_registers_logs_in_and_reads_the_account(
        venv: Venv, user_address: str, tmp_path: Path) -> None:
    env = venv.env(BOOKSTORE_USER_ADDR=user_address,
                   BOOKSTORE_CONFIG_DIR=str(tmp_path / "config"))
    steps = [(("register", "ada@example.com", "--name", "Ada Lovelace", "--password-stdin"),
              "correct horse battery\n"),
             (("login", "ada@example.com", "--password-stdin"), "correct horse battery\n")]
    for args, stdin in steps:
        code, out, err = await bookstore(venv, env, *args, stdin=stdin)
        assert code == 0, f"bookstore {' '.join(args)}: {out}{err}"
    code, out, err = await bookstore(venv, env, "whoami", "--json")
    assert code == 0, err
    me = json.loads(out)
    assert (me["email"], me["name"], me["role"]) == ("ada@example.com", "Ada Lovelace",
                                                     "customer")
