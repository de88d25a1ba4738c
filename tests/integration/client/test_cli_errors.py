"""Failures end in one red line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import pytest
from typer.testing import Result

from tests.integration.client.conftest import Cli, Stack, free_port
from tests.integration.client.test_cli_journey import PASSWORD, register_and_login

pytestmark = pytest.mark.integration


def assert_one_line_error(result: Result, text: str, exit_code: int = 1) -> None:
    assert result.exit_code == exit_code, result.output
    assert result.stderr.startswith("error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert text in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_wrong_password(cli: Cli, stack: Stack) -> None:
    email = register_and_login(cli)
    result = cli("login", email, "--password-stdin", input="not the password\n")
    assert_one_line_error(result, "error: ")


def test_unknown_book(cli: Cli, stack: Stack) -> None:
    result = cli("books", "show", "000000000000000000000000")
    assert_one_line_error(result, "000000000000000000000000")


def test_ordering_an_unknown_book(cli: Cli, stack: Stack) -> None:
    register_and_login(cli)
    result = cli("order", "place", "000000000000000000000000:1", "--no-wait")
    assert_one_line_error(result, "000000000000000000000000")


def test_service_down_names_the_service_and_address(cli: Cli, stack: Stack) -> None:
    address = f"127.0.0.1:{free_port()}"
    result = cli("books", "list", env={"BOOKSTORE_INVENTORY_ADDR": address})
    assert_one_line_error(
        result, f"cannot reach the inventory service at {address} "
                "(set by BOOKSTORE_INVENTORY_ADDR) — is the stack running?")


def test_an_unresolvable_address_is_one_clear_line(cli: Cli, stack: Stack) -> None:
    result = cli("books", "list", env={"BOOKSTORE_INVENTORY_ADDR": "not-a-host.invalid:1"})
    assert_one_line_error(
        result, "error: cannot resolve the inventory service's address not-a-host.invalid:1 "
                "(set by BOOKSTORE_INVENTORY_ADDR) — is the host name right?")


def test_order_service_down(cli: Cli, stack: Stack) -> None:
    register_and_login(cli)
    address = f"127.0.0.1:{free_port()}"
    result = cli("order", "history", env={"BOOKSTORE_ORDERS_ADDR": address})
    assert_one_line_error(result, f"cannot reach the order service at {address}")


@pytest.mark.parametrize("item", ["abc:x", "abc:0", ":2", "abc:-1", "abc:1:2"])
def test_bad_order_line_is_a_usage_error(cli: Cli, stack: Stack, item: str) -> None:
    result = cli("order", "place", item)
    assert result.exit_code == 2
    assert "BOOK_ID[:QTY]" in result.stderr
    assert "Traceback" not in result.output


def test_commands_needing_a_login_say_so(cli: Cli, stack: Stack) -> None:
    assert_one_line_error(cli("whoami"), "not logged in")


def test_customer_cannot_use_admin_commands(cli: Cli, stack: Stack) -> None:
    register_and_login(cli)
    result = cli("admin", "add-book", "--title", "T", "--author", "A",
                 "--isbn", "9780441172719", "--price", "1.00")
    assert_one_line_error(result, "admin")


def test_registering_twice_is_a_conflict(cli: Cli, stack: Stack) -> None:
    email = register_and_login(cli)
    result = cli("register", email, "--name", "Again", "--password-stdin", input=PASSWORD + "\n")
    assert_one_line_error(result, "error: ")


def test_bad_price_is_a_usage_error(cli: Cli, stack: Stack) -> None:
    result = cli("books", "list", "--max-price", "0.001")
    assert result.exit_code == 2
    assert "at most 2 decimals" in result.stderr
