"""The run command's stack runner: starts everything, seeds, leaves nothing behind on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import REPO_ROOT, SERVICES, clean_up, free_port

pytestmark = pytest.mark.integration

READY_LINE = "Ctrl-C stops everything"
START_TIMEOUT = 120.0


def processes_tagged(tag: str) -> list[int]:
    """Pids of live processes whose environment carries ``tag`` (children started detached)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if tag.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone already, or not ours to read
            continue
    return found


def read_until(process: subprocess.Popen[str], marker: str, seconds: float) -> list[str]:
    """The runner's output lines up to ``marker``; fails if it exits or takes too long."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line.rstrip())
        if marker in line:
            return lines
    pytest.fail("stack did not come up:\n" + "\n".join(lines[-60:]), pytrace=False)


@pytest.fixture
def stack_env(mongo_url: str, amqp_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    run = uuid.uuid4().hex[:8]
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOOKSTORE_")}
    env |= {"BOOKSTORE_MONGO_URL": mongo_url, "BOOKSTORE_AMQP_URL": amqp_url,
            "BOOKSTORE_SAGA_PREFIX": f"stackcmd.{run}", "BOOKSTORE_DATA_DIR": str(tmp_path),
            "BOOKSTORE_BCRYPT_ROUNDS": "4", "BOOKSTORE_ADMIN_EMAIL": "admin@stack.example",
            "BOOKSTORE_ADMIN_PASSWORD": "stack-admin-password"}
    for svc in SERVICES:
        env[f"BOOKSTORE_{svc.upper()}_ADDR"] = f"127.0.0.1:{free_port()}"
        env[f"BOOKSTORE_{svc.upper()}_MONGO_DB"] = f"stackcmd_{run}_{svc}"
    yield env
    asyncio.run(clean_up(mongo_url, amqp_url,
                         [env[f"BOOKSTORE_{s.upper()}_MONGO_DB"] for s in SERVICES],
                         env["BOOKSTORE_SAGA_PREFIX"]))


def test_stack_starts_seeds_and_stops_cleanly(stack_env: dict[str, str]) -> None:
    tag = stack_env["BOOKSTORE_SAGA_PREFIX"]
    runner = subprocess.Popen(
        [sys.executable, "scripts/stack.py"], cwd=REPO_ROOT, env=stack_env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output = "\n".join(read_until(runner, READY_LINE, START_TIMEOUT))
        for svc in SERVICES:
            assert f"{svc} is healthy on {stack_env[f'BOOKSTORE_{svc.upper()}_ADDR']}" in output
        assert "catalogue seeded: 60 books added" in output
        assert len(processes_tagged(tag)) >= len(SERVICES) + 1  # the runner and each service

        runner.send_signal(signal.SIGTERM)
        rest, _ = runner.communicate(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    assert runner.returncode == 0, rest
    for svc in SERVICES:
        assert f"{svc} stopped (exit 0)" in rest
    assert processes_tagged(tag) == []
