"""The run command's stack runner: starts everything, seeds, and leaves nothing behind however
it is stopped: Ctrl-C through a pipe to ``tee``, SIGTERM, or SIGHUP with its reader gone."""

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

from tests.stack import REPO_ROOT, SERVICES, clean_up_broker, free_port
from tests.waiting import blocking_until

pytestmark = pytest.mark.integration

READY_LINE = "Ctrl-C stops everything"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0


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
    """The output lines ``process`` prints up to ``marker``; fails at its end or too late."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if marker in line:
            return lines
    pytest.fail("stack did not come up:\n" + "\n".join(lines[-60:]), pytrace=False)


def wait_until_gone(tag: str, seconds: float) -> None:
    """Poll until no process carries ``tag``; fails at the deadline."""
    blocking_until(lambda: not processes_tagged(tag), seconds, interval=0.1,
                   what=f"every process tagged {tag} gone")


@pytest.fixture
def stack_env(amqp_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """No BOOKSTORE_MONGO_URL: the runner starts its own database, which must stop too."""
    run = uuid.uuid4().hex[:8]
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOOKSTORE_")}
    env |= {"BOOKSTORE_AMQP_URL": amqp_url,
            "BOOKSTORE_SAGA_PREFIX": f"stackcmd.{run}", "BOOKSTORE_DATA_DIR": str(tmp_path),
            "BOOKSTORE_BCRYPT_ROUNDS": "4", "BOOKSTORE_ADMIN_EMAIL": "admin@stack.example",
            "BOOKSTORE_ADMIN_PASSWORD": "stack-admin-password",
            "BOOKSTORE_METRICS_ADDR": "127.0.0.1:0"}
    for svc in SERVICES:
        env[f"BOOKSTORE_{svc.upper()}_ADDR"] = f"127.0.0.1:{free_port()}"
    env["BOOKSTORE_WEB_ADDR"] = f"127.0.0.1:{free_port()}"
    yield env
    asyncio.run(clean_up_broker(amqp_url, env["BOOKSTORE_SAGA_PREFIX"]))


@pytest.mark.parametrize("ending", ["ctrl-c through tee", "sigterm", "sighup, reader gone"])
def test_stack_starts_seeds_and_stops_everything(stack_env: dict[str, str], tmp_path: Path,
                                                 ending: str) -> None:
    tag = stack_env["BOOKSTORE_SAGA_PREFIX"]
    through_tee = ending == "ctrl-c through tee"
    runner = subprocess.Popen(
        [sys.executable, "scripts/stack.py", "--mongo-port", str(free_port()),
         "--mongo-storage", ":memory:"],
        cwd=REPO_ROOT, env=stack_env, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, process_group=0)
    reader = runner
    try:
        if through_tee:  # scripts/run.sh | tee log: one process group, as a shell makes it
            assert runner.stdout is not None
            reader = subprocess.Popen(["tee", str(tmp_path / "run.log")], stdin=runner.stdout,
                                      stdout=subprocess.PIPE, text=True,
                                      process_group=runner.pid)
            runner.stdout.close()
        output = "\n".join(read_until(reader, READY_LINE, START_TIMEOUT))
        for svc in SERVICES:
            assert f"{svc} is healthy on {stack_env[f'BOOKSTORE_{svc.upper()}_ADDR']}" in output
        assert "catalogue seeded: 60 books added" in output
        assert f"the storefront is up on http://{stack_env['BOOKSTORE_WEB_ADDR']}" in output
        # the runner, the database (its launcher and server) and each service
        assert len(processes_tagged(tag)) >= len(SERVICES) + 3

        if through_tee:  # the terminal's Ctrl-C: SIGINT to the whole foreground group
            os.killpg(runner.pid, signal.SIGINT)
        elif ending == "sigterm":
            runner.send_signal(signal.SIGTERM)
            rest, _ = runner.communicate(timeout=STOP_TIMEOUT)
            assert runner.returncode == 0, rest
            for name in (*SERVICES, "web", "mongo"):
                assert f"{name} stopped (exit 0)" in rest
        else:  # the terminal closed: nobody reads the output any more, then SIGHUP
            assert runner.stdout is not None
            runner.stdout.close()
            runner.send_signal(signal.SIGHUP)
        wait_until_gone(tag, STOP_TIMEOUT)
    finally:  # a failed test must not leave a stack behind either
        for process in (runner, reader):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()
