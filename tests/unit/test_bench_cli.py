"""``python -m bench`` explains itself, and what it needs, without the bench extra."""

from __future__ import annotations

import subprocess
import sys

from tests.stack import REPO_ROOT

# Runs the bench's entry point as if psutil and matplotlib were not installed.
WITHOUT_EXTRAS = ("import runpy, sys; sys.modules['psutil'] = sys.modules['matplotlib'] = None; "
                  "sys.argv[0] = 'bench'; runpy.run_module('bench', run_name='__main__')")


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_EXTRAS, *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


def test_help_and_a_missing_extra_without_psutil_or_matplotlib() -> None:
    helped = bench("--help")
    assert helped.returncode == 0, helped.stderr
    assert "usage: python -m bench" in helped.stdout

    refused = bench("--seconds", "1")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "python -m bench needs psutil and matplotlib: pip install -e '.[bench]'")
