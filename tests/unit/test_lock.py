"""The hashed lock files in requirements/: fresh, complete, free of local paths, and what the
image and scripts/bootstrap.sh (hence CI) install from."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ("runtime", "dev", "deploy-lint")


PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+?)(?: ;.*)? \\$", re.MULTILINE)


def pins(lock: str) -> dict[str, str]:
    """Package name to pinned version (the last, where markers pin one per Python version)."""
    return dict(PIN.findall((ROOT / "requirements" / f"{lock}.txt").read_text()))


def lockcheck(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(root / "scripts" / "lockcheck.py")],
                          capture_output=True, text=True, check=False)


def test_locks_match_pyproject() -> None:
    done = lockcheck(ROOT)
    assert done.returncode == 0, done.stderr


def test_a_dependency_added_without_relocking_fails_saying_what_to_run(tmp_path: Path) -> None:
    for name in ("pyproject.toml", "scripts/lockcheck.py", *(f"requirements/{n}" for n in
                 ("runtime.txt", "dev.txt", "deploy-lint.txt", "deploy-lint.in"))):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    assert lockcheck(tmp_path).returncode == 0
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        "dependencies = [\n", 'dependencies = [\n    "left-pad>=1",\n', 1))
    done = lockcheck(tmp_path)
    assert done.returncode == 1
    assert "requirements/runtime.txt" in done.stderr
    assert "run scripts/lock.sh" in done.stderr


@pytest.mark.parametrize("lock", LOCKS)
def test_every_requirement_is_pinned_with_hashes_and_no_local_source(lock: str) -> None:
    text = (ROOT / "requirements" / f"{lock}.txt").read_text()
    requirements = [line for line in text.splitlines() if re.match(r"^[A-Za-z0-9]", line)]
    assert len(requirements) == len(PIN.findall(text)) > 5
    for block in re.split(r"\n(?=[A-Za-z0-9])", text)[1:]:
        assert "--hash=sha256:" in block, block.splitlines()[0]
    assert not re.search(r"file:|/opt/|--index-url|--extra-index-url|--find-links|-e ", text)


def test_runtime_lock_holds_no_dev_tools_and_dev_agrees_with_it() -> None:
    runtime, dev = pins("runtime"), pins("dev")
    assert {"pytest", "mypy", "ruff"}.isdisjoint(runtime)
    assert {"pytest", "mypy", "ruff", "grpcio"} <= set(dev)
    assert {name: dev[name] for name in runtime} == runtime


def test_image_and_bootstrap_install_from_the_locks() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY requirements/runtime.txt /tmp/requirements.txt" in dockerfile
    assert "pip install --no-cache-dir --require-hashes -r /tmp/requirements.txt" in dockerfile
    assert "pip install --no-cache-dir --no-deps ." in dockerfile
    bootstrap = (ROOT / "scripts" / "bootstrap.sh").read_text()
    assert "scripts/lockcheck.py" in bootstrap
    assert "--require-hashes -r" in bootstrap
    assert 'install .venv requirements/dev.txt "requirements/dev.txt pyproject.toml"' in bootstrap
    assert "--no-deps -e ." in bootstrap
    assert "install .venv-deploy-lint requirements/deploy-lint.txt" in bootstrap
