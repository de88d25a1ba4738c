"""Tables read well on an 80-column terminal: nothing that matters is cut."""

from __future__ import annotations

import json
import re

import pytest

from tests.integration.client.conftest import Cli, Stack
from tests.integration.client.test_cli_journey import register_and_login

pytestmark = pytest.mark.integration

NARROW = {"COLUMNS": "80"}


def assert_fits(text: str) -> None:
    """Nothing cut, no line wider than 80; a page token is one word to copy whole."""
    assert "…" not in text, text
    lines = [line for line in text.splitlines() if not line.startswith("more: add --page-token")]
    assert max(len(line) for line in lines) <= 80, text


def test_order_history_fits_80_columns(cli: Cli, seeded: Stack) -> None:
    register_and_login(cli)
    book = json.loads(cli.ok("books", "list", "--in-stock", "--json").stdout)["books"][0]
    cli.ok("order", "place", book["id"])
    declined = cli("order", "place", book["id"], "--payment-token", "tok_declined", "--json")
    assert declined.exit_code == 1, declined.stderr
    declined_id = json.loads(declined.stdout)["id"]

    history = cli("order", "history", env=NARROW)
    assert history.exit_code == 0, history.stderr
    assert_fits(history.stdout)
    assert "CONFIRMED" in history.stdout
    assert re.search(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}\b", history.stdout), history.stdout
    assert re.search(rf"{declined_id} (REJECTED|CANCELLED): .*declined", history.stdout)

    status = cli("order", "status", declined_id, env=NARROW)
    assert status.exit_code == 0, status.stderr
    assert_fits(status.stdout)


def test_books_list_fits_80_columns(cli: Cli, seeded: Stack) -> None:
    listed = cli("books", "list", "--sort", "price-desc", env=NARROW)
    assert listed.exit_code == 0, listed.stderr
    assert_fits(listed.stdout)
    top = json.loads(cli.ok("books", "list", "--sort", "price-desc", "--json").stdout)["books"][0]
    assert top["id"] in listed.stdout
    assert f"{top['price_cents'] / 100:.2f}" in listed.stdout
