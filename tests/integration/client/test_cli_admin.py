"""Admin commands through ``bookstore``: seeding, import with a per-row report, books, status."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from client import sample_catalogue
from tests.integration.client.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Cli, Stack
from tests.integration.client.test_cli_journey import register_and_login

pytestmark = pytest.mark.integration


def login_admin(cli: Cli) -> None:
    cli.ok("login", ADMIN_EMAIL, "--password-stdin", input=ADMIN_PASSWORD + "\n")


def test_seeding_again_skips_every_book(cli: Cli, seeded: Stack) -> None:
    out = cli.ok("seed").stdout
    assert "added 0" in out
    assert f"skipped {len(sample_catalogue())}" in out


def test_import_takes_capitalised_column_names(cli: Cli, seeded: Stack, tmp_path: Path) -> None:
    login_admin(cli)
    path = tmp_path / "books.csv"
    path.write_text("Title,Author,ISBN,Price,Stock\n"
                    "The Count of Monte Cristo,Alexandre Dumas,9780140449266,12.50,3\n")
    result = cli.ok("admin", "import", str(path), "--json")
    [row] = json.loads(result.stdout)["results"]
    assert row["outcome"] in ("added", "skipped"), row  # skipped when run again on one stack
    shown = json.loads(cli.ok("books", "search", "Monte Cristo", "--json").stdout)["books"]
    assert [(b["isbn"], b["price_cents"]) for b in shown] == [("9780140449266", 1250)]


def test_import_reports_added_skipped_and_failed_rows(cli: Cli, seeded: Stack,
                                                      tmp_path: Path) -> None:
    login_admin(cli)
    existing = sample_catalogue()[0]
    path = tmp_path / "books.csv"
    path.write_text(
        "title,author,isbn,price,stock,published_year,description\n"
        "Middlemarch,George Eliot,9780141439549,9.99,5,1871,Provincial life\n"
        f"{existing['title']},{existing['author']},{existing['isbn']},1.00,1,0,again\n"
        "Bad Check Digit,Nobody,9780141439540,5.00,1,0,x\n"
        "Too Precise,Nobody,9780140449136,5.001,1,0,x\n")
    result = cli("admin", "import", str(path), "--json")
    assert result.exit_code == 1, result.stderr
    rows = {row["row"]: row for row in json.loads(result.stdout)["results"]}
    assert [rows[n]["outcome"] for n in (1, 2, 3, 4)] == ["added", "skipped", "failed", "failed"]
    assert "check digit" in rows[3]["message"]
    assert "2 decimals" in rows[4]["message"]

    again = cli("admin", "import", str(path))
    assert "added 0" in again.stdout
    assert "skipped 2" in again.stdout
    assert "Rows not imported" in again.stdout

    found = json.loads(cli.ok("books", "search", "Middlemarch", "--json").stdout)
    assert [b["isbn"] for b in found["books"]] == ["9780141439549"]


def test_add_update_book_and_ship_an_order(cli: Cli, seeded: Stack, tmp_path: Path) -> None:
    login_admin(cli)
    added = json.loads(cli.ok(
        "admin", "add-book", "--title", "The Name of the Rose", "--author", "Umberto Eco",
        "--isbn", "9780156001311", "--price", "12.5", "--stock", "3", "--year", "1980",
        "--json").stdout)
    assert added["price_cents"] == 1250
    updated = json.loads(cli.ok("admin", "update-book", added["id"], "--price", "11.00",
                                "--add-stock", "4", "--json").stdout)
    assert updated["price_cents"] == 1100
    assert updated["available"] == 7

    customer = Cli({**cli.env, "BOOKSTORE_CONFIG_DIR": str(tmp_path / "customer")})
    register_and_login(customer)
    order = json.loads(customer.ok("order", "place", f"{added['id']}:2", "--json").stdout)
    assert order["status"] == "CONFIRMED"

    shipped = json.loads(cli.ok("admin", "set-status", order["id"], "shipped",
                                "--reason", "posted", "--json").stdout)
    assert shipped["status"] == "SHIPPED"
    seen = json.loads(customer.ok("order", "status", order["id"], "--json").stdout)
    assert seen["status"] == "SHIPPED"
    cancel = customer("order", "cancel", order["id"])
    assert cancel.exit_code == 1
    assert cancel.stderr.startswith("error: ")

    cli.ok("admin", "set-status", order["id"], "completed")
    watched = json.loads(customer.ok("order", "watch", order["id"], "--json").stdout)
    assert watched["status"] == "COMPLETED"
    assert [c["status"] for c in watched["history"]][-2:] == [
        "SHIPPED", "COMPLETED"]


def test_customer_cancels_a_confirmed_order(cli: Cli, seeded: Stack) -> None:
    register_and_login(cli)
    book = json.loads(cli.ok("books", "search", "Dune", "--json").stdout)["books"][0]
    order = json.loads(cli.ok("order", "place", book["id"], "--json").stdout)
    assert order["status"] == "CONFIRMED"
    # CONFIRMED is not final, so watching it ends at the watch deadline, not with an error.
    watched = cli("order", "watch", order["id"], env={"BOOKSTORE_CLIENT_WATCH_TIMEOUT": "1"})
    assert watched.exit_code == 0, watched.stderr
    assert "stopped following after 1 s" in watched.stdout
    assert f"order {order['id']} is CONFIRMED" in watched.stdout
    cancelled = json.loads(cli.ok("order", "cancel", order["id"], "--json").stdout)
    assert cancelled["status"] == "CANCELLED"


def test_demo_walks_through_a_confirmed_and_rejected_orders(cli: Cli, seeded: Stack) -> None:
    result = cli.ok("demo")
    for step in ("1. register", "2. log in", "3. browse", "4. order a book",
                 "5. order more copies", "6. pay with a card"):
        assert step in result.stdout
    assert "outcome: CONFIRMED" in result.stdout
    assert "card declined" in result.stdout
    # The closing line tells each order's real end, as narrated above it.
    ends = re.findall(r"^(?:outcome: (\w+)|(refused at once))", result.stdout, re.MULTILINE)
    words = [refused or outcome.lower() for outcome, refused in ends]
    assert len(words) == 3, result.stdout
    assert (f"done: the first order {words[0]}, the second {words[1]}, the third {words[2]}"
            in result.stdout)
    assert "two rejected" not in result.stdout
