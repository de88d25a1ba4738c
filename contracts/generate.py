"""Regenerate the Python code for every .proto under contracts/, or check it is current.

    python -m contracts.generate          # rewrite the generated files
    python -m contracts.generate --check  # exit 1 if any committed file is stale

Protos are compiled with the repository root as include path, so generated imports read
``from contracts.bookstore.events.v1 import events_pb2`` and resolve as they are, with no
rewriting. Output goes to a scratch directory first, so a failed run leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

CONTRACTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = CONTRACTS_DIR.parent
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def proto_files() -> list[Path]:
    return sorted(CONTRACTS_DIR.rglob("*.proto"))


def generate_into(out_dir: Path) -> None:
    """Compile every proto into ``out_dir``, mirroring the repository layout."""
    well_known = resources.files("grpc_tools") / "_proto"
    plugins = Path(sys.executable).parent
    args = [
        "grpc_tools.protoc",
        f"--plugin=protoc-gen-mypy={plugins / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={plugins / 'protoc-gen-mypy_grpc'}",
        f"-I{REPO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *(str(p.relative_to(REPO_ROOT)) for p in proto_files()),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for module in (out_dir / "contracts").rglob("*_pb2.py"):
        package_dir = module.parent
        while package_dir != out_dir / "contracts":
            (package_dir / "__init__.py").touch()
            package_dir = package_dir.parent


def generated_files(root: Path) -> set[Path]:
    """Generated files and their package markers under ``root``/contracts, relative to root."""
    base = root / "contracts" / "bookstore"
    if not base.exists():
        return set()
    return {
        p.relative_to(root)
        for p in base.rglob("*")
        if p.is_file() and (p.name.endswith(GENERATED_SUFFIXES) or p.name == "__init__.py")
    }


def stale_files(fresh_root: Path) -> list[str]:
    """Paths whose committed content differs from a fresh generation (or that are missing/extra)."""
    fresh, committed = generated_files(fresh_root), generated_files(REPO_ROOT)
    differing = {
        path
        for path in fresh & committed
        if not filecmp.cmp(fresh_root / path, REPO_ROOT / path, shallow=False)
    }
    return sorted(str(p) for p in differing | (fresh ^ committed))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    check = parser.parse_args(argv).check
    with tempfile.TemporaryDirectory() as scratch:
        fresh_root = Path(scratch)
        generate_into(fresh_root)
        stale = stale_files(fresh_root)
        if check:
            for name in stale:
                print(f"stale: {name}", file=sys.stderr)
            return 1 if stale else 0
        for leftover in generated_files(REPO_ROOT) - generated_files(fresh_root):
            (REPO_ROOT / leftover).unlink()
        for fresh in generated_files(fresh_root):
            (REPO_ROOT / fresh).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fresh_root / fresh, REPO_ROOT / fresh)
        print(f"generated code for {len(proto_files())} protos ({len(stale)} files changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
