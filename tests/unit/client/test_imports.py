"""The client library and CLI load no server-side code: a fresh interpreter proves it."""

from __future__ import annotations

import subprocess
import sys

# grpc_health is not listed: grpc's own __init__ imports the package when it is installed.
SERVER_SIDE = ("pymongo", "runtime", "jwt", "cryptography", "aio_pika", "saga",
               "grpc_health.v1.health", "user", "inventory", "orders")


def test_import_client_loads_no_server_side_module() -> None:
    check = ("import client, client.cli, sys; "
             f"print(sorted(m for m in {SERVER_SIDE!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.strip() == "[]"
