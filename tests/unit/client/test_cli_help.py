"""Every command explains itself with an example, and bad input is a usage error (exit 2)."""

from __future__ import annotations

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from client.cli import app


def command_paths() -> list[list[str]]:
    root = get_command(app)
    paths: list[list[str]] = [[]]
    for name, command in getattr(root, "commands", {}).items():
        paths.append([name])
        for sub in getattr(command, "commands", {}):
            paths.append([name, sub])
    return paths


def test_the_tree_has_every_command() -> None:
    flat = {" ".join(path) for path in command_paths()}
    assert {"register", "login", "logout", "whoami", "account update", "account password",
            "account reset-request", "account reset", "account delete", "books list",
            "books search", "books show", "order place", "order status", "order cancel",
            "order history", "order watch", "admin add-book", "admin update-book",
            "admin import", "admin set-status", "seed", "demo"} <= flat


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "bookstore")
def test_help_has_an_example(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Example: bookstore" in result.stdout
    assert "<bool>" not in result.stdout  # a flag takes no value
    assert "<list[" not in result.stdout


@pytest.mark.parametrize("args", [
    ["order", "place", "abc:0"], ["order", "place"], ["books", "list", "--min-price", "1.234"],
    ["books", "list", "--sort", "cheapest"], ["admin", "set-status", "o1", "lost"],
    ["nonsense"],
])
def test_usage_errors_exit_2(args: list[str], tmp_path: object) -> None:
    result = CliRunner().invoke(app, args, env={"BOOKSTORE_CONFIG_DIR": str(tmp_path)})
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
