"""What ``bookstore-client`` ships: client/ renamed bookstore_client with the contracts it needs,
reaching nothing else. Guards the sources first, so a new import cannot break the build
quietly."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.packaging.conftest import CLIENT_DIST, ROOT, copy_sources

# Third-party modules the client may import → the distribution that provides them.
THIRD_PARTY = {"grpc": "grpcio", "google.protobuf": "protobuf", "pydantic": "pydantic-settings",
               "pydantic_settings": "pydantic-settings", "typer": "typer", "rich": "rich"}


def project(path: Path) -> dict[str, Any]:
    with (path / "pyproject.toml").open("rb") as f:
        table: dict[str, Any] = tomllib.load(f)["project"]
    return table


def requirement_name(spec: str) -> str:
    return spec.split(";")[0].split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip()


def provider(module: str) -> str | None:
    """The distribution a third-party import comes from, if the client may use it."""
    for prefix, dist in THIRD_PARTY.items():
        if module == prefix or module.startswith(prefix + "."):
            return dist
    return None


def client_sources() -> list[Path]:
    return [p for p in sorted((ROOT / "client").rglob("*.py"))
            if p.relative_to(ROOT / "client").parts[0] != "web"]


def test_client_imports_only_itself_generated_contracts_and_declared_dependencies(
        stage: ModuleType) -> None:
    declared = {requirement_name(s) for s in project(CLIENT_DIST)["dependencies"]}
    problems = []
    for path in client_sources():
        for line, module, bound in stage.imported_modules(path):
            root = module.split(".")[0]
            where = f"{path.relative_to(ROOT)}:{line} {module}"
            if root in ("client", "contracts"):
                if bound:
                    problems.append(f"{where}: a plain import binds a name the build renames")
                if root == "contracts" and not module.startswith("contracts.bookstore."):
                    problems.append(f"{where}: only generated code in contracts/bookstore/")
            elif root not in sys.stdlib_module_names and provider(module) not in declared:
                problems.append(f"{where}: not a dependency of packaging/client/pyproject.toml")
    assert problems == []


def test_client_distribution_agrees_with_the_root_project() -> None:
    root, client = project(ROOT), project(CLIENT_DIST)
    assert client["name"] == "bookstore-client"
    assert root["name"] == "bookstore-services"
    assert client["version"] == root["version"]
    assert client["requires-python"] == root["requires-python"]
    ranges = {requirement_name(spec): spec for spec in root["dependencies"]}
    for spec in client["dependencies"]:
        assert ranges[requirement_name(spec)] == spec  # one range per dependency, kept in step
    assert set(THIRD_PARTY.values()) == {requirement_name(s) for s in client["dependencies"]}
    assert client["scripts"] == {"bookstore": "bookstore_client.cli:app"}


@pytest.fixture(scope="module")
def staged(stage: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    package: Path = stage.stage(ROOT, tmp_path_factory.mktemp("staged"))
    return package


def absolute_imports(stage: ModuleType, package: Path, suffix: str) -> set[str]:
    return {module for path in package.rglob(f"*{suffix}")
            for _, module, _ in stage.imported_modules(path)}


def outside(modules: set[str]) -> set[str]:
    return {m for m in modules
            if m.split(".")[0] not in (*sys.stdlib_module_names, "bookstore_client")
            and provider(m) is None}


def test_staged_package_imports_only_itself_and_the_client_dependencies(
        stage: ModuleType, staged: Path) -> None:
    assert outside(absolute_imports(stage, staged, ".py")) == set()
    # The generated stubs, read by type checkers only, also use typing_extensions.
    assert outside(absolute_imports(stage, staged, ".pyi")) <= {"typing_extensions"}
    assert "bookstore_client._contracts.bookstore.user.v1" in absolute_imports(
        stage, staged, ".py")


def test_staged_package_holds_the_client_and_only_the_contracts_it_calls(staged: Path) -> None:
    assert staged.name == "bookstore_client"
    assert (staged / "py.typed").is_file()
    assert (staged / "cli" / "__init__.py").is_file()
    shipped = json.loads((staged / "data" / "catalogue.json").read_text())
    assert shipped == json.loads((ROOT / "client" / "data" / "catalogue.json").read_text())
    services = sorted(p.name for p in (staged / "_contracts" / "bookstore").iterdir()
                      if p.is_dir())
    # No events: the client never sees them.
    assert services == ["inventory", "messaging", "orders", "timeline", "user"]
    assert not (staged / "web").exists()
    assert not list(staged.rglob("__pycache__"))


def test_generated_code_moves_but_the_wire_names_stay(staged: Path) -> None:
    module = (staged / "_contracts/bookstore/user/v1/user_pb2.py").read_text()
    original = (ROOT / "contracts/bookstore/user/v1/user_pb2.py").read_text()
    assert "'bookstore_client._contracts.bookstore.user.v1.user_pb2'" in module
    # The serialized descriptor (proto file name, package bookstore.user.v1) is untouched, so
    # the server's contracts and these can share one process and one descriptor pool.
    descriptor = next(line for line in original.splitlines() if "AddSerializedFile" in line)
    assert descriptor in module.splitlines()
    stub = (staged / "_contracts/bookstore/user/v1/user_pb2_grpc.py").read_text()
    assert "from bookstore_client._contracts.bookstore.user.v1 import user_pb2 as" in stub


@pytest.mark.parametrize(("source", "expected"), [
    ("from client import BookstoreClient\n", "from bookstore_client import BookstoreClient\n"),
    ("from client.cli import app\n", "from bookstore_client.cli import app\n"),
    ("    from client._seed import seed\n", "    from bookstore_client._seed import seed\n"),
    ("import client.cli as cli\n", "import bookstore_client.cli as cli\n"),
    ("from contracts.bookstore.user.v1 import user_pb2\n",
     "from bookstore_client._contracts.bookstore.user.v1 import user_pb2\n"),
    ("_builder.Build(DESCRIPTOR, 'contracts.bookstore.user.v1.user_pb2', _globals)\n",
     "_builder.Build(DESCRIPTOR, 'bookstore_client._contracts.bookstore.user.v1.user_pb2', "
     "_globals)\n"),
    ("from clientele import x\nimport contracts_extra\n",
     "from clientele import x\nimport contracts_extra\n"),
    ("b'\\n&contracts/bookstore/user/v1/user.proto'\n",
     "b'\\n&contracts/bookstore/user/v1/user.proto'\n"),
    ("# the client. from client side\n", "# the client. from client side\n"),
])
def test_rewrite(stage: ModuleType, source: str, expected: str) -> None:
    assert stage.rewrite(source) == expected


def test_staging_refuses_a_client_that_reaches_server_code(
        stage: ModuleType, tmp_path: Path) -> None:
    repo = copy_sources(tmp_path / "repo")
    (repo / "client" / "_leak.py").write_text("from runtime.settings import ServiceSettings\n")
    with pytest.raises(stage.StageError, match=r"bookstore_client/_leak.py:1 imports runtime"):
        stage.stage(repo, tmp_path / "out")


def test_staging_leaves_the_storefront_out(stage: ModuleType, tmp_path: Path) -> None:
    repo = copy_sources(tmp_path / "repo")
    (repo / "client" / "web").mkdir(exist_ok=True)
    (repo / "client" / "web" / "__init__.py").write_text("import starlette\n")
    package = stage.stage(repo, tmp_path / "out")
    assert (package / "cli").is_dir()
    assert not (package / "web").exists()
