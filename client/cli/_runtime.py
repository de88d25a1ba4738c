"""What every command shares: the consoles, the one error boundary, sessions, JSON output.

Commands are thin: they parse options, call the library inside :func:`run`, and render.
:func:`run` is the only place a :class:`BookstoreClientError` is caught: it becomes one red
line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from client._client import BookstoreClient
from client._errors import BookstoreClientError
from client._session import SessionStore, StoredSession

T = TypeVar("T")

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead.")]
PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from standard input (for scripts).")]


def out() -> Console:
    """Rich console on stdout, built per call so test runners can swap the stream."""
    return Console(highlight=False, soft_wrap=True)


def err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; turn client errors into one red line and exit 1."""
    try:
        return asyncio.run(main)
    except BookstoreClientError as exc:
        err().print(f"[bold red]error:[/] {exc.message}", markup=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err().print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None


def sessions() -> SessionStore:
    return SessionStore.from_env()


def anonymous_client() -> BookstoreClient:
    """A client carrying the stored token if there is one: public reads work either way."""
    session = sessions().load()
    if session is None:
        return BookstoreClient.from_env()
    return BookstoreClient.from_env(token=session.token, user_id=session.user_id)


def session_client() -> tuple[BookstoreClient, StoredSession]:
    """A client for the logged-in user; AuthenticationError when nobody is."""
    session = sessions().require()
    return BookstoreClient.from_env(token=session.token, user_id=session.user_id), session


def emit_json(document: Any) -> None:
    """Exactly one JSON document on stdout, nothing else."""
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def read_password(stdin: bool, *, prompt: str = "Password", confirm: bool = False) -> str:
    """From one line of stdin for scripts, else a hidden prompt (twice when ``confirm``)."""
    if stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise typer.BadParameter("expected a password on standard input",
                                     param_hint="--password-stdin")
        return line
    value: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    return value
