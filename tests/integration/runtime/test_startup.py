"""A service that cannot start says why in one log line and exits 1; one asked to stop, 0.

Real processes, started the way production starts them (``python -m <service>``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import REPO_ROOT, free_port

pytestmark = pytest.mark.integration

SERVICES = ("user", "inventory", "orders")
PLACEHOLDER_PEM = "replace with: python -m runtime.keygen private.pem public.pem\n"


def environment(tmp_path: Path, **variables: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("BOOKSTORE_")}
    # Metrics on any free port: several of these processes (and stacks) share one machine.
    return env | {"BOOKSTORE_DATA_DIR": str(tmp_path / "data"),
                  "BOOKSTORE_METRICS_ADDR": "127.0.0.1:0", **variables}


def run(service: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", service], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


def the_one_line(result: subprocess.CompletedProcess[str], *,
                 grpc_core: bool = False) -> dict[str, str]:
    """The process's only log line at ERROR; ``grpc_core`` allows the line gRPC's C core
    writes to stderr itself (it logs a failed bind outside Python's logging)."""
    text = [line for line in result.stderr.splitlines() if line.strip()]
    if grpc_core:
        text = [line for line in text if not line.startswith("E")]
    lines: list[dict[str, str]] = [json.loads(line) for line in text]
    errors = [line for line in lines if line["level"] in ("ERROR", "CRITICAL")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return errors[0]


@pytest.mark.parametrize("service", SERVICES)
def test_a_bad_setting_is_named(tmp_path: Path, service: str) -> None:
    result = run(service, environment(tmp_path, BOOKSTORE_SAGA_PREFETCH="x"))
    assert result.returncode == 1
    assert the_one_line(result)["message"] == (
        "cannot start: BOOKSTORE_SAGA_PREFETCH must be a positive whole number, not 'x'")


def test_a_bad_setting_is_reported_in_the_configured_format(tmp_path: Path) -> None:
    result = run("orders", environment(tmp_path, BOOKSTORE_LOG_FORMAT="text",
                                       BOOKSTORE_ORDER_TIMEOUT_SECONDS="soon"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert ("ERROR   orders runtime.entry: cannot start: BOOKSTORE_ORDER_TIMEOUT_SECONDS must be "
            "a positive number of seconds, not 'soon'") in result.stderr


def test_a_tracing_exporter_that_is_not_installed_is_named(tmp_path: Path) -> None:
    # Tracing starts before the database, so a typo in OTEL_* stops the start at once.
    result = run("inventory", environment(tmp_path, OTEL_TRACES_EXPORTER="zipkin"))
    assert result.returncode == 1
    message = the_one_line(result)["message"]
    assert message.startswith(
        "cannot start: OTEL_TRACES_EXPORTER names 'zipkin', which is not installed; use one of ")
    assert "otlp" in message


@pytest.mark.parametrize(("variable", "content", "problem"), [
    ("BOOKSTORE_JWT_PUBLIC_KEY_FILE", None, "cannot read {path}: No such file or directory"),
    ("BOOKSTORE_JWT_PUBLIC_KEY_FILE", PLACEHOLDER_PEM,
     "{path} does not hold an Ed25519 public key in PEM"),
    ("BOOKSTORE_JWT_PRIVATE_KEY_FILE", PLACEHOLDER_PEM,
     "{path} does not hold an Ed25519 private key in PEM"),
])
def test_a_key_file_that_cannot_be_used_is_named(
        tmp_path: Path, mongo_url: str, variable: str, content: str | None, problem: str) -> None:
    path = tmp_path / "key.pem"
    if content is not None:
        path.write_text(content)
    service = "user" if "PRIVATE" in variable else "inventory"
    result = run(service, environment(tmp_path, BOOKSTORE_MONGO_URL=mongo_url,
                                      **{variable: str(path)}))
    assert result.returncode == 1
    assert the_one_line(result)["message"] == (
        f"cannot start: {variable}: {problem.format(path=path)}")


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    url = f"mongodb://app:s3cret@127.0.0.1:{free_port()}/"
    result = run("orders", environment(tmp_path, BOOKSTORE_MONGO_URL=url,
                                       BOOKSTORE_MONGO_TIMEOUT_SECONDS="0.3"))
    assert result.returncode == 1
    message = the_one_line(result)["message"]
    assert message.startswith(f"cannot start: cannot reach the database at "
                              f"{url.replace('s3cret', '***')} (BOOKSTORE_ORDERS_MONGO_URL")
    assert "s3cret" not in result.stderr


def test_an_unreachable_broker_is_named_without_its_password(
        tmp_path: Path, mongo_url: str) -> None:
    url = f"amqp://guest:s3cret@127.0.0.1:{free_port()}/"
    result = run("inventory", environment(
        tmp_path, BOOKSTORE_MONGO_URL=mongo_url, BOOKSTORE_AMQP_URL=url,
        BOOKSTORE_INVENTORY_MONGO_DB=f"startup_{free_port()}",
        BOOKSTORE_INVENTORY_ADDR=f"127.0.0.1:{free_port()}"))
    assert result.returncode == 1
    message = the_one_line(result)["message"]
    assert message.startswith(f"cannot start: cannot reach the broker at "
                              f"{url.replace('s3cret', '***')} (BOOKSTORE_AMQP_URL)")
    assert "s3cret" not in result.stderr


def test_a_taken_address_is_named(tmp_path: Path, mongo_url: str) -> None:
    with grpc_server_on_a_port() as address:
        result = run("user", environment(
            tmp_path, BOOKSTORE_MONGO_URL=mongo_url, BOOKSTORE_USER_ADDR=address,
            BOOKSTORE_USER_MONGO_DB=f"startup_{free_port()}", BOOKSTORE_BCRYPT_ROUNDS="4"))
    assert result.returncode == 1
    assert the_one_line(result, grpc_core=True)["message"] == (
        f"cannot start: cannot listen on {address} "
        f"(BOOKSTORE_LISTEN_ADDR or BOOKSTORE_USER_ADDR)")


def test_a_taken_metrics_address_is_named(tmp_path: Path, mongo_url: str) -> None:
    with grpc_server_on_a_port() as metrics:
        result = run("user", environment(
            tmp_path, BOOKSTORE_MONGO_URL=mongo_url, BOOKSTORE_METRICS_ADDR="",
            BOOKSTORE_USER_METRICS_ADDR=metrics, BOOKSTORE_USER_ADDR=f"127.0.0.1:{free_port()}",
            BOOKSTORE_USER_MONGO_DB=f"startup_{free_port()}", BOOKSTORE_BCRYPT_ROUNDS="4"))
    assert result.returncode == 1
    message = the_one_line(result)["message"]
    assert message.startswith(f"cannot start: cannot serve metrics on {metrics}: ")
    assert message.endswith("(BOOKSTORE_USER_METRICS_ADDR)")


def test_port_zero_serves_metrics_on_a_free_port_named_in_the_log(
        tmp_path: Path, mongo_url: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "user"], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True,
        env=environment(tmp_path, BOOKSTORE_MONGO_URL=mongo_url,
                        BOOKSTORE_USER_ADDR=f"127.0.0.1:{free_port()}",
                        BOOKSTORE_USER_MONGO_DB=f"startup_{free_port()}",
                        BOOKSTORE_BCRYPT_ROUNDS="4"))
    try:
        url = json.loads(wait_for_log(process, "serving metrics"))["url"]
        assert re.fullmatch(r"http://127\.0\.0\.1:[1-9]\d*/metrics", url), url
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        assert "bookstore_rpc_requests_total" in text
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr


@contextlib.contextmanager
def grpc_server_on_a_port() -> Iterator[str]:
    """An address some other program listens on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield f"127.0.0.1:{taken.getsockname()[1]}"


def test_a_signal_during_start_up_still_stops_cleanly(tmp_path: Path, mongo_url: str) -> None:
    """SIGTERM as soon as the process runs: whatever it was doing, it stops with status 0."""
    address = f"127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [sys.executable, "-m", "user"], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True,
        env=environment(tmp_path, BOOKSTORE_MONGO_URL=mongo_url, BOOKSTORE_USER_ADDR=address,
                        BOOKSTORE_USER_MONGO_DB=f"startup_{free_port()}",
                        BOOKSTORE_BCRYPT_ROUNDS="4"))
    try:
        wait_for_log(process, "starting")  # signal handlers are in place; nothing else yet
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr


def wait_for_log(process: subprocess.Popen[str], word: str) -> str:
    """Read the process's log until a line names ``word``; returns that line."""
    assert process.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if word in line or not line:
            return line
    pytest.fail(f"no log line with {word!r}")
