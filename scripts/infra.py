#!/usr/bin/env python3
"""Local infrastructure for development and tests on a machine without Docker.

Starts SecantusDB (a MongoDB wire-compatible server, pinned, installed in its own virtual
environment so its numpy/shapely stack never mixes with the project's) and makes sure
RabbitMQ answers, starting an installed-but-stopped broker. Standard library only: it runs
before the project's own environment exists.

    python3 scripts/infra.py up            # persistent MongoDB on :27017 (var/mongo) + RabbitMQ
    python3 scripts/infra.py down          # stop the MongoDB server that `up` started
    python3 scripts/infra.py mongo --port 0 --storage :memory:   # foreground, prints its URL

With Docker, use docker-compose.yml instead: it runs real `mongo` and `rabbitmq` images.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

SECANTUS_VERSION = "0.7.0b3"
REPO_ROOT = Path(__file__).resolve().parent.parent
SECANTUS_VENV = REPO_ROOT / ".venv-secantus"
RUN_DIR = REPO_ROOT / "var" / "run"
AMQP_HOST, AMQP_PORT = "127.0.0.1", 5672


def log(message: str) -> None:
    print(f"[infra] {message}", file=sys.stderr, flush=True)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not port_open(host, port):
        if time.monotonic() > deadline:
            raise SystemExit(f"[infra] {what} did not answer on {host}:{port} in {seconds:.0f}s")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def secantus_binary() -> Path:
    """The pinned secantusd-py, installing it into its own venv on first use."""
    binary = SECANTUS_VENV / "bin" / "secantusd-py"
    marker = SECANTUS_VENV / f".installed-{SECANTUS_VERSION}"
    if not marker.exists():
        log(f"installing SecantusDB {SECANTUS_VERSION} into {SECANTUS_VENV.name}/ (once)")
        subprocess.run([sys.executable, "-m", "venv", str(SECANTUS_VENV)], check=True)
        subprocess.run([str(SECANTUS_VENV / "bin" / "pip"), "install", "--quiet",
                        "--disable-pip-version-check", f"secantusdb=={SECANTUS_VERSION}"],
                       check=True)
        marker.touch()
    return binary


def mongo_url(port: int) -> str:
    # retryWrites=false: SecantusDB slows down sharply as retryable-write records pile up.
    return f"mongodb://127.0.0.1:{port}/?retryWrites=false"


def start_mongo(port: int, storage: str, log_file: Path) -> subprocess.Popen[bytes]:
    binary = secantus_binary()
    if storage != ":memory:":
        Path(storage).mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        process = subprocess.Popen(
            [str(binary), "--host", "127.0.0.1", "--port", str(port), "--storage-path", storage,
             "--log-level", "WARNING"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port("127.0.0.1", port, 60, "SecantusDB")
    except SystemExit:
        process.kill()
        raise
    return process


def ensure_rabbitmq() -> None:
    if port_open(AMQP_HOST, AMQP_PORT):
        return
    server = shutil.which("rabbitmq-server")
    if server is None:
        raise SystemExit("[infra] RabbitMQ is not answering on 127.0.0.1:5672 and is not "
                         "installed; install it or point BOOKSTORE_AMQP_URL at a broker")
    log("RabbitMQ is stopped; starting it")
    subprocess.run([server, "-detached"], check=True)
    wait_for_port(AMQP_HOST, AMQP_PORT, 90, "RabbitMQ")


def pid_file(port: int) -> Path:
    return RUN_DIR / f"secantus-{port}.pid"


def up(port: int, storage: str) -> None:
    ensure_rabbitmq()
    if port_open("127.0.0.1", port):
        log(f"MongoDB-compatible server already answers on :{port}; using it")
    else:
        process = start_mongo(port, storage, REPO_ROOT / "var" / "log" / "secantus.log")
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        pid_file(port).write_text(str(process.pid))
        log(f"SecantusDB {SECANTUS_VERSION} running on :{port} (pid {process.pid}, "
            f"data in {storage})")
    print(f"export BOOKSTORE_MONGO_URL='{mongo_url(port)}'")
    print(f"export BOOKSTORE_AMQP_URL='amqp://guest:guest@{AMQP_HOST}:{AMQP_PORT}/'")


def down(port: int) -> None:
    path = pid_file(port)
    if not path.exists():
        log(f"no SecantusDB started by this script on :{port}")
        return
    pid = int(path.read_text())
    try:
        os.killpg(pid, signal.SIGTERM)
        log(f"stopped SecantusDB (pid {pid})")
    except ProcessLookupError:
        pass
    path.unlink()


def foreground_mongo(port: int, storage: str) -> None:
    """Run a server until stdin closes or a signal arrives; print its URL once it answers."""
    port = port or free_port()
    process: subprocess.Popen[bytes] | None = None

    def stop(signum: int, _frame: object) -> None:
        if process is None:  # still starting: start_mongo kills the server on SystemExit
            raise SystemExit(128 + signum)
        process.terminate()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    process = start_mongo(port, storage, REPO_ROOT / "var" / "log" / f"secantus-{port}.log")
    print(mongo_url(port), flush=True)
    process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "down", "mongo"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--port", type=int, default=0 if name == "mongo" else 27017)
        if name != "down":
            cmd.add_argument("--storage", default=":memory:" if name == "mongo" else
                             str(REPO_ROOT / "var" / "mongo"))
    sub.add_parser("rabbitmq", help="make sure RabbitMQ answers")
    args = parser.parse_args()
    if args.command == "up":
        up(args.port, args.storage)
    elif args.command == "down":
        down(args.port)
    elif args.command == "mongo":
        foreground_mongo(args.port, args.storage)
    else:
        ensure_rabbitmq()


if __name__ == "__main__":
    main()
