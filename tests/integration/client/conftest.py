"""The CLI driven through its real entry point against the three services as processes.

The services come from the session ``stack`` fixture shared with the end-to-end suite (free
ports, fresh databases, a private data dir and broker prefix, cleaned up afterwards). Each
test gets its own config dir, hence its own stored session.
"""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from client.cli import app
from tests.e2e.shop import until_orders_know_every_book
from tests.stack import ADMIN_EMAIL, ADMIN_PASSWORD, Stack, free_port

__all__ = ["ADMIN_EMAIL", "ADMIN_PASSWORD", "Cli", "Stack", "client_env", "free_port",
           "mail_dir"]


def client_env(stack: Stack) -> dict[str, str]:
    """What a client needs to find the stack: the three ``BOOKSTORE_<SVC>_ADDR``."""
    return {f"BOOKSTORE_{name.upper()}_ADDR": addr for name, addr in stack.addresses.items()}


def mail_dir(stack: Stack) -> Path:
    """Where the user service drops its mail (password reset tokens)."""
    return Path(stack.env["BOOKSTORE_DATA_DIR"]) / "mail"


class Cli:
    """Runs ``bookstore`` in-process through the real entry point, with its own session."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None,
                 env: dict[str, str] | None = None) -> Result:
        return self.runner.invoke(app, list(args), input=input, env={**self.env, **(env or {})})

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, (
            f"bookstore {shlex.join(args)} exited {result.exit_code}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}")
        return result


def _cli_env(stack: Stack, config_dir: Path) -> dict[str, str]:
    return {**client_env(stack), "BOOKSTORE_CONFIG_DIR": str(config_dir),
            "BOOKSTORE_ADMIN_EMAIL": ADMIN_EMAIL, "BOOKSTORE_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "COLUMNS": "200"}


@pytest.fixture
def cli(stack: Stack, tmp_path: Path) -> Cli:
    return Cli(_cli_env(stack, tmp_path / "config"))


@pytest.fixture(scope="session")
def seeded(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    """The sample catalogue loaded once, through ``bookstore seed``."""
    Cli(_cli_env(stack, tmp_path_factory.mktemp("seed-config"))).ok("seed")
    asyncio.run(until_orders_know_every_book(stack))  # orderable once their events arrived
    return stack
