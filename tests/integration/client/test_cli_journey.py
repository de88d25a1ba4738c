"""A customer's journey through ``bookstore``, each step checked in its JSON output."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest

from client import sample_catalogue
from tests.integration.client.conftest import Cli, Stack
from tests.waiting import blocking_until

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


def register_and_login(cli: Cli) -> str:
    email = f"reader-{uuid.uuid4().hex[:8]}@example.com"
    cli.ok("register", email, "--name", "Ada Reader", "--password-stdin", input=PASSWORD + "\n")
    cli.ok("login", email, "--password-stdin", input=PASSWORD + "\n")
    return email


def every_page(cli: Cli, *args: str) -> dict[str, list[dict[str, Any]]]:
    """Every book a listing has, following its page tokens (other tests add books too)."""
    books: list[dict[str, Any]] = []
    token = ""
    while True:
        page = json.loads(cli.ok(*args, "--page-token", token, "--json").stdout)
        books += page["books"]
        token = page["next_page_token"]
        if not token:
            return {"books": books}


def test_register_login_browse_order_and_history(cli: Cli, seeded: Stack) -> None:
    email = register_and_login(cli)
    session_file = Path(cli.env["BOOKSTORE_CONFIG_DIR"]) / "session.json"
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600

    me = json.loads(cli.ok("whoami", "--json").stdout)
    assert me["email"] == email
    assert me["role"] == "customer"

    listed = every_page(cli, "books", "list", "--in-stock", "--sort", "price",
                        "--max-price", "15", "--page-size", "50")
    prices = [book["price_cents"] for book in listed["books"]]
    assert prices, "the seeded catalogue has books under 15.00"
    assert prices == sorted(prices)
    assert max(prices) <= 1500
    assert all(book["available"] > 0 for book in listed["books"])
    expected = {b["isbn"] for b in sample_catalogue() if b["price_cents"] <= 1500 and b["stock"]}
    assert expected <= {book["isbn"] for book in listed["books"]}

    book = max(listed["books"], key=lambda b: b["available"])
    placed = cli.ok("order", "place", f"{book['id']}:2", "--json")
    order = json.loads(placed.stdout)
    assert order["status"] == "CONFIRMED"
    assert order["total_cents"] == 2 * book["price_cents"]

    status = json.loads(cli.ok("order", "status", order["id"], "--json").stdout)
    assert status["id"] == order["id"]
    assert status["lines"][0]["book_id"] == book["id"]
    assert status["lines"][0]["quantity"] == 2

    history = json.loads(cli.ok("order", "history", "--json").stdout)
    assert [o["id"] for o in history["orders"]] == [order["id"]]

    shown = json.loads(cli.ok("books", "show", book["id"], "--json").stdout)
    assert shown["available"] == book["available"] - 2


def test_order_for_more_than_the_stock_is_rejected_by_the_saga(cli: Cli, seeded: Stack) -> None:
    """Placing does not check stock: the reservation refuses it, naming the shortfall."""
    register_and_login(cli)
    scarce = next(b for b in sample_catalogue() if 0 < b["stock"] <= 3)
    found = json.loads(cli.ok("books", "search", scarce["title"], "--json").stdout)
    book = next(b for b in found["books"] if b["isbn"] == scarce["isbn"])
    wanted = book["available"] + 1
    result = cli("order", "place", f"{book['id']}:{wanted}", "--json")
    assert result.exit_code == 1, result.stderr
    final = json.loads(result.stdout)
    assert final["status"] == "REJECTED"
    assert final["lines"][0]["rejection_reason"].startswith(
        f"not enough stock ({wanted} requested, ")
    assert "Traceback" not in result.output


def test_declined_payment_is_rejected_by_the_saga(cli: Cli, seeded: Stack) -> None:
    register_and_login(cli)
    listed = json.loads(cli.ok("books", "list", "--in-stock", "--json").stdout)
    book = listed["books"][0]
    result = cli("order", "place", book["id"], "--payment-token", "tok_declined")
    assert result.exit_code == 1, result.stderr
    assert "PENDING" in result.stdout
    assert "card declined" in result.stdout
    order_id = result.stdout.split()[1]
    final = json.loads(cli.ok("order", "status", order_id, "--json").stdout)
    assert final["status"] in ("REJECTED", "CANCELLED")
    assert "declined" in final["reason"]
    # The saga releases the reserved copy after the order ends: wait for it, within bounds.
    def released() -> Any:
        after = json.loads(cli.ok("books", "show", book["id"], "--json").stdout)
        return after if after["available"] == book["available"] else None

    after = blocking_until(released, 15, interval=0.1, what="the reserved copy released")
    assert after["reserved"] == 0


def test_human_output_formats_prices_from_cents(cli: Cli, seeded: Stack) -> None:
    out = cli.ok("books", "search", "Hobbit").stdout
    assert "The Hobbit" in out
    assert "14.99" in out


NUMBER_FIELDS = {"quantity", "available", "reserved", "sold", "stock", "published_year"}


def assert_plain_json(document: object) -> None:
    """Counts and cents are JSON numbers; statuses and roles are spelled as the tables do."""
    if isinstance(document, list):
        for item in document:
            assert_plain_json(item)
    elif isinstance(document, dict):
        for key, value in document.items():
            if key.endswith("_cents") or key in NUMBER_FIELDS:
                assert type(value) is int, (key, value)
            elif key == "status":
                assert value in ORDER_STATUS_NAMES, value
            elif key == "role":
                assert value in ("customer", "admin"), value
            else:
                assert_plain_json(value)


ORDER_STATUS_NAMES = {"PENDING", "CONFIRMED", "SHIPPED", "COMPLETED", "REJECTED", "CANCELLED"}


def test_json_uses_numbers_and_the_tables_names(cli: Cli, seeded: Stack) -> None:
    register_and_login(cli)
    listed = json.loads(cli.ok("books", "list", "--in-stock", "--json").stdout)
    book = listed["books"][0]
    order = json.loads(cli.ok("order", "place", f"{book['id']}:1", "--json").stdout)
    assert order["status"] == "CONFIRMED"
    assert order["history"][0]["status"] == "PENDING"
    documents = [listed, order, json.loads(cli.ok("whoami", "--json").stdout),
                 json.loads(cli.ok("books", "show", book["id"], "--json").stdout),
                 json.loads(cli.ok("order", "status", order["id"], "--json").stdout),
                 json.loads(cli.ok("order", "history", "--json").stdout),
                 json.loads(cli.ok("order", "cancel", order["id"], "--json").stdout)]
    assert documents[-1]["status"] == "CANCELLED"
    for document in documents:
        assert_plain_json(document)
    assert type(order["total_cents"]) is int
    assert type(order["lines"][0]["quantity"]) is int
