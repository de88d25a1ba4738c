"""``bookstore order trace``: an order's saga across both running services, from the CLI."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.client.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Cli, Stack

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


def customer(cli: Cli) -> None:
    email = f"tracer-{uuid.uuid4().hex[:8]}@example.com"
    cli.ok("register", email, "--name", "Tracy", "--password-stdin", input=PASSWORD + "\n")
    cli.ok("login", email, "--password-stdin", input=PASSWORD + "\n")


def trace_until_sold(cli: Cli, order_id: str, within: float = 30) -> dict[str, Any]:
    """Poll ``order trace --json`` until inventory has recorded the sale."""
    deadline = time.monotonic() + within
    while True:
        document: dict[str, Any] = json.loads(cli.ok("order", "trace", order_id, "--json").stdout)
        if any(s["step"] == "stock sold" for s in document["steps"]):
            return document
        assert time.monotonic() < deadline, f"no sale recorded in {within} s: {document}"
        time.sleep(0.1)


def test_order_trace_shows_both_services_to_the_owner_and_an_admin_only(
    cli: Cli, seeded: Stack, tmp_path: Path,
) -> None:
    customer(cli)
    books = json.loads(cli.ok("books", "list", "--in-stock", "--page-size", "50",
                              "--json").stdout)["books"]
    book = max(books, key=lambda b: b["available"])
    order = json.loads(cli.ok("order", "place", f"{book['id']}:1", "--json").stdout)
    assert order["status"] == "CONFIRMED"

    document = trace_until_sold(cli, order["id"])
    assert (document["order_id"], document["status"]) == (order["id"], "CONFIRMED")
    steps = document["steps"]
    assert {s["service"] for s in steps} == {"orders", "inventory"}
    for step in steps:
        assert {"at", "service", "step", "event_id", "duration_ms"} <= set(step)
        assert step["at"].endswith("Z")  # ISO 8601, UTC
        assert isinstance(step["duration_ms"], int)
    assert [s["at"] for s in steps] == sorted(s["at"] for s in steps)
    assert [s["step"] for s in steps if s["service"] == "inventory"][-1] == "stock sold"
    assert steps[0]["step"] == "placed"
    emitted = {s["event_id"] for s in steps if s["step"].startswith("emitted ")}
    assert {s["event_id"] for s in steps if s["step"].startswith("received ")} <= emitted

    table = cli("order", "trace", order["id"], env={"COLUMNS": "80"})
    assert table.exit_code == 0, table.output
    assert max(len(line) for line in table.stdout.splitlines()) <= 80
    assert "stock sold" in table.stdout
    assert "now: CONFIRMED" in table.stdout

    stranger = Cli({**cli.env, "BOOKSTORE_CONFIG_DIR": str(tmp_path / "stranger")})
    customer(stranger)
    refused = stranger("order", "trace", order["id"], "--json")
    assert refused.exit_code == 1
    assert "does not exist" in refused.stderr
    assert refused.stdout == ""

    admin = Cli({**cli.env, "BOOKSTORE_CONFIG_DIR": str(tmp_path / "admin")})
    admin.ok("login", ADMIN_EMAIL, "--password-stdin", input=ADMIN_PASSWORD + "\n")
    as_admin = json.loads(admin.ok("order", "trace", order["id"], "--json").stdout)
    assert [s["step"] for s in as_admin["steps"]] == [s["step"] for s in steps]


def test_order_trace_of_a_rejected_and_a_declined_order(cli: Cli, seeded: Stack) -> None:
    customer(cli)
    books = json.loads(cli.ok("books", "list", "--in-stock", "--page-size", "50",
                              "--json").stdout)["books"]
    book = max(books, key=lambda b: b["available"])
    too_many = cli("order", "place", f"{book['id']}:{book['available'] + 1}", "--json")
    assert too_many.exit_code == 1, too_many.output
    rejected = json.loads(too_many.stdout)
    declined_run = cli("order", "place", f"{book['id']}:1", "--payment-token", "tok_declined",
                       "--json")
    assert declined_run.exit_code == 1, declined_run.output
    declined = json.loads(declined_run.stdout)

    def settled(order_id: str, last: str) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while True:
            found: dict[str, Any] = json.loads(
                cli.ok("order", "trace", order_id, "--json").stdout)
            mine = [s["step"] for s in found["steps"] if s["service"] == "inventory"]
            if mine and mine[-1] == last and found["waiting_for"] is None:
                return found
            assert time.monotonic() < deadline, found
            time.sleep(0.1)

    trace = settled(rejected["id"], "emitted StockRejected")
    assert trace["status"] == "REJECTED"
    assert "stock rejected" in [s["step"] for s in trace["steps"]]
    assert trace["steps"][-1]["step"] == "rejected"

    trace = settled(declined["id"], "stock released")
    assert trace["status"] == "CANCELLED"
    cancelled = next(s for s in trace["steps"] if s["step"] == "cancelled")
    assert cancelled["detail"] == "payment declined: card declined"
