"""The client's own distribution (packaging/client): its staging script, loaded from its file
as the build backend loads it (packaging/ is no Python package)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT_DIST = ROOT / "packaging" / "client"


@pytest.fixture(scope="session")
def stage() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stage", CLIENT_DIST / "stage.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_sources(into: Path) -> Path:
    """The folders the build reads, copied: client/, contracts/ and packaging/client/."""
    skip = shutil.ignore_patterns("__pycache__", "staged", "build", "*.egg-info")
    for folder in ("client", "contracts", "packaging/client"):
        shutil.copytree(ROOT / folder, into / folder, ignore=skip)
    return into
