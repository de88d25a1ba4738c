#!/usr/bin/env python3
"""Stages the client library as one self-contained package, ``bookstore_client``.

In the repository the client lives in ``client/`` and imports the generated code in
``contracts/``: names fit for a monorepo, not for someone's site-packages. This copies
``client/`` (without ``client/web``, a storefront with dependencies of its own) into
``bookstore_client/`` and the contract packages it imports into
``bookstore_client/_contracts/``, then rewrites the absolute imports between them, as pip
and setuptools do with the libraries they vendor. What the protos put on the wire (file
names, ``bookstore.<svc>.v1``) stays as it is. Standard library only: it runs inside the
build backend (backend.py).

    python packaging/client/stage.py DEST   # writes DEST/bookstore_client/
"""

from __future__ import annotations

import ast
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "bookstore_client"
# Repository package → where it lives in the installed library.
RENAMES = {"client": PACKAGE, "contracts": f"{PACKAGE}._contracts"}
# Server-side packages: the client must never reach them.
SERVER_SIDE = frozenset({"runtime", "saga", "user", "inventory", "orders"})
# Folders of client/ that are not part of the library.
EXCLUDED = frozenset({"web", "__pycache__"})
SOURCE_SUFFIXES = (".py", ".pyi")

_IMPORT = re.compile(r"^(\s*)(from|import)(\s+)(client|contracts)(?=[.\s,]|$)", re.MULTILINE)
# protobuf names each generated module by its dotted path (the classes' __module__).
_PROTO_MODULE = re.compile(r"""(['"])contracts\.bookstore\.""")

CONTRACTS_DOC = '''"""The wire contracts the client speaks: code generated from the Bookstore
protos, moved under this package. Never edit by hand.
"""
'''


class StageError(Exception):
    """The sources cannot be shipped as they are; the message says where and why."""


def rewrite(text: str) -> str:
    """``text`` with imports of ``client``/``contracts`` pointing into ``bookstore_client``."""
    text = _IMPORT.sub(lambda m: m[1] + m[2] + m[3] + RENAMES[m[4]], text)
    return _PROTO_MODULE.sub(lambda m: f"{m[1]}{RENAMES['contracts']}.bookstore.", text)


def imported_modules(path: Path) -> Iterator[tuple[int, str, bool]]:
    """``(line, module, bound)`` for each absolute import in a source file; ``bound`` when a
    plain ``import a.b`` binds the top-level name ``a`` in the module."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, alias.asname is None
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module, False


def _sources(root: Path) -> Iterator[Path]:
    return (p for p in sorted(root.rglob("*")) if p.suffix in SOURCE_SUFFIXES and p.is_file())


def contract_packages(repo: Path, client_sources: list[Path]) -> set[Path]:
    """The generated contract packages (directories) the client imports, and what they do."""
    found: set[Path] = set()
    pending = list(client_sources)
    while pending:
        for _, module, _ in imported_modules(pending.pop()):
            if module.split(".")[0] != "contracts":
                continue
            target = repo.joinpath(*module.split("."))
            package = target if target.is_dir() else target.parent
            if not (package / "__init__.py").is_file() or package == repo / "contracts":
                raise StageError(f"the client imports {module}, which is not generated code "
                                 "in a contracts/bookstore/ package")
            if package not in found:
                found.add(package)
                pending.extend(_sources(package))
    return found


def _copy_tree(source: Path, dest: Path) -> None:
    shutil.copytree(source, dest, ignore=lambda d, names: [
        n for n in names
        if n.endswith(".pyc") or n == "__pycache__" or (Path(d) == source and n in EXCLUDED)])


def check(package: Path) -> None:
    """Refuse a staged package that still reaches a repository-only or server-side module."""
    problems = []
    for path in _sources(package):
        for line, module, bound in imported_modules(path):
            root = module.split(".")[0]
            where = f"{path.relative_to(package.parent)}:{line}"
            if root in RENAMES or root in SERVER_SIDE:
                problems.append(f"{where} imports {module}")
            elif root == PACKAGE and bound:
                problems.append(f"{where}: write `from ... import`, not `import {module}`")
    if problems:
        raise StageError("the client cannot be shipped on its own:\n  " + "\n  ".join(problems))


def stage(repo: Path, dest: Path) -> Path:
    """Write ``dest/bookstore_client/`` from the repository at ``repo``; return its path."""
    package = dest / PACKAGE
    if package.exists():
        shutil.rmtree(package)
    _copy_tree(repo / "client", package)
    contracts = package / "_contracts"
    for source in sorted(contract_packages(repo, list(_sources(package)))):
        relative = source.relative_to(repo / "contracts")
        (contracts / relative).mkdir(parents=True, exist_ok=True)
        for file in source.iterdir():
            if file.suffix in (*SOURCE_SUFFIXES, ".proto"):
                shutil.copyfile(file, contracts / relative / file.name)
        for parent in relative.parents:  # every level must be a package
            if parent != Path("."):
                shutil.copyfile(repo / "contracts" / parent / "__init__.py",
                                contracts / parent / "__init__.py")
    (contracts / "__init__.py").write_text(CONTRACTS_DOC)
    (package / "py.typed").touch()
    for path in _sources(package):
        path.write_text(rewrite(path.read_text("utf-8")), "utf-8")
    check(package)
    return package


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        print(stage(Path(__file__).resolve().parents[2], Path(argv[1])))
    except StageError as exc:
        print(f"[stage] {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
