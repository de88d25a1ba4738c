"""The committed generated code must match what the .proto sources generate now."""

from __future__ import annotations

import subprocess
import sys

from contracts import generate


def test_committed_generated_code_is_current() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "contracts.generate", "--check"],
        capture_output=True, text=True, cwd=generate.REPO_ROOT, check=False,
    )
    assert result.returncode == 0, (
        "generated code is stale; run `python -m contracts.generate`:\n" + result.stderr)


def test_every_service_proto_is_compiled() -> None:
    names = {p.stem for p in generate.proto_files()}
    assert names == {"user", "inventory", "orders", "events", "timeline", "messaging"}


def test_generated_imports_resolve_without_rewriting() -> None:
    from contracts.bookstore.orders.v1 import orders_pb2_grpc
    from contracts.bookstore.user.v1 import user_pb2

    assert user_pb2.DESCRIPTOR.package == "bookstore.user.v1"
    assert hasattr(orders_pb2_grpc, "OrderServiceServicer")
