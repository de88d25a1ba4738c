"""``bookstore admin dead-letters`` and ``bookstore admin outbox``: the messages a service
could not handle, and the events it could not publish (admin accounts only).

Each command names the service (inventory or orders) whose API keeps them.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from client._models import MESSAGING_SERVICES, DeadLetter, FailedOutboxEvent
from client.cli._render import when
from client.cli._runtime import JsonOption, emit_json, out, run, session_client

dead_letters_app = typer.Typer(
    help="Messages a service could not handle: list, show, replay after a fix, purge."
         "\n\nExample: bookstore admin dead-letters list orders",
    no_args_is_help=True)
outbox_app = typer.Typer(
    help="Events a service stored but could not publish: list them, send them again."
         "\n\nExample: bookstore admin outbox failed orders",
    no_args_is_help=True)

Service = Annotated[str, typer.Argument(
    help=f"Whose messages: {' or '.join(MESSAGING_SERVICES)}.", show_default=False)]
PageSize = Annotated[int, typer.Option(min=0, max=500, help="Per page (0: default 50).")]
PageToken = Annotated[str, typer.Option(help="Continue from a previous page.")]
ERROR_WIDTH = 30


def _service(name: str) -> str:
    value = name.strip().lower()
    if value not in MESSAGING_SERVICES:
        raise typer.BadParameter(f"use one of {', '.join(MESSAGING_SERVICES)}",
                                 param_hint="SERVICE")
    return value


def dead_letter_dict(letter: DeadLetter) -> dict[str, Any]:
    """What scripts get for one dead letter; ``order_id`` is its correlation id (the order,
    or for a catalogue event the book), null when the message named none."""
    return {"id": letter.id, "type": letter.type, "order_id": letter.correlation_id or None,
            "error": letter.error, "attempts": letter.attempts,
            "dead_lettered_at": letter.dead_lettered_at.ToJsonString(), "queue": letter.queue}


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def dead_letters_table(letters: list[DeadLetter], service: str) -> Table:
    """ID, when, event, attempts and why, in 80 columns: long ids and errors are cut short
    (``show`` and ``--json`` give them whole)."""
    table = Table(title=f"Dead letters of {service}")
    table.add_column("ID", style="dim", no_wrap=True, max_width=12)
    table.add_column("When", no_wrap=True)
    table.add_column("Event", no_wrap=True, max_width=14)
    table.add_column("Try", justify="right", no_wrap=True)
    table.add_column("Error", style="red", no_wrap=True, max_width=ERROR_WIDTH)
    for letter in letters:
        table.add_row(_short(letter.id, 12), when(letter.dead_lettered_at, seconds=False),
                      _short(letter.type, 14), str(letter.attempts),
                      _short(letter.error, ERROR_WIDTH))
    return table


def print_dead_letter(console: Console, letter: DeadLetter) -> None:
    console.print(f"[bold]{letter.id}[/]  {letter.type}")
    console.print(f"  order:     {letter.correlation_id or '-'}")
    console.print(f"  error:     [red]{letter.error}[/]", markup=True)
    console.print(f"  attempts:  {letter.attempts}")
    console.print(f"  when:      {when(letter.dead_lettered_at)}")
    console.print(f"  queue:     {letter.queue}")
    for key in sorted(letter.headers):
        console.print(f"  header     {key}: {letter.headers[key]}", markup=False)
    if letter.decoded_json:
        console.print("  event:", markup=False)
        console.print(letter.decoded_json, markup=False)
    else:
        console.print(f"  body:      {len(letter.payload)} bytes, not decodable as "
                      f"{letter.type}: {letter.payload[:64]!r}", markup=False)


@dead_letters_app.command("list")
def list_dead_letters(service: Service, page_size: PageSize = 0, page_token: PageToken = "",
                      as_json: JsonOption = False) -> None:
    """List a service's dead letters, newest first.

    Example: bookstore admin dead-letters list orders --json
    """
    name = _service(service)

    async def main() -> None:
        client, _ = session_client()
        async with client:
            page = await client.list_dead_letters(name, page_size=page_size,
                                                  page_token=page_token)
        if as_json:
            emit_json({"dead_letters": [dead_letter_dict(d) for d in page.dead_letters],
                       "next_page_token": page.next_page_token})
            return
        console = out()
        if not page.dead_letters:
            console.print(f"no dead letters in {name}")
            return
        console.print(dead_letters_table(page.dead_letters, name))
        if page.next_page_token:
            console.print(f"more: add --page-token {page.next_page_token}")

    run(main())


@dead_letters_app.command("show")
def show_dead_letter(service: Service,
                     dead_letter_id: Annotated[str, typer.Argument(
                         metavar="ID", help="The dead letter's id, from the listing.")],
                     as_json: JsonOption = False) -> None:
    """Show one dead letter: why, its headers, and its body decoded.

    Example: bookstore admin dead-letters show orders 3f2a9c...
    """
    name = _service(service)

    async def main() -> None:
        client, _ = session_client()
        async with client:
            letter = await client.get_dead_letter(name, dead_letter_id)
        if as_json:
            decoded = json.loads(letter.decoded_json) if letter.decoded_json else None
            emit_json({**dead_letter_dict(letter), "headers": dict(letter.headers),
                       "content_type": letter.content_type, "event": decoded,
                       "payload_hex": letter.payload.hex()})
        else:
            print_dead_letter(out(), letter)

    run(main())


@dead_letters_app.command("replay")
def replay(service: Service,
           dead_letter_id: Annotated[str | None, typer.Argument(
               metavar="[ID]", help="The dead letter to replay (or --all).")] = None,
           replay_all: Annotated[bool, typer.Option("--all", help="Replay every one.")] = False,
           ) -> None:
    """Send dead letters back through the service's consumer, once the cause is fixed.

    An event handled meanwhile stays handled once; one that fails again is kept again.

    Example: bookstore admin dead-letters replay orders --all
    """
    name = _service(service)
    if replay_all == (dead_letter_id is not None):
        raise typer.BadParameter("give one ID or --all", param_hint="ID")

    async def main() -> int:
        client, _ = session_client()
        async with client:
            if dead_letter_id is not None:
                return await client.replay_dead_letter(name, dead_letter_id)
            return await client.replay_dead_letters(name)

    replayed = run(main())
    out().print(f"replayed {replayed} dead letter{'s' if replayed != 1 else ''} "
                f"through {name}")


@dead_letters_app.command("purge")
def purge(service: Service,
          yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
          ) -> None:
    """Delete every dead letter of a service, for good; asks first unless --yes.

    Example: bookstore admin dead-letters purge inventory --yes
    """
    name = _service(service)
    if not yes and not typer.confirm(f"Delete every dead letter of {name} for good?"):
        out().print("nothing purged")
        raise typer.Exit(1)

    async def main() -> int:
        client, _ = session_client()
        async with client:
            return await client.purge_dead_letters(name)

    purged = run(main())
    out().print(f"purged {purged} dead letter{'s' if purged != 1 else ''} of {name}")


def failed_dict(event: FailedOutboxEvent) -> dict[str, Any]:
    return {"id": event.id, "name": event.name, "order_id": event.correlation_id or None,
            "error": event.error, "attempts": event.attempts,
            "created_at": event.created_at.ToJsonString()}


@outbox_app.command("failed")
def list_failed(service: Service, page_size: PageSize = 0, page_token: PageToken = "",
                as_json: JsonOption = False) -> None:
    """List outbox events parked as failed (the broker never confirmed them).

    Example: bookstore admin outbox failed orders
    """
    name = _service(service)

    async def main() -> None:
        client, _ = session_client()
        async with client:
            page = await client.list_failed_outbox(name, page_size=page_size,
                                                   page_token=page_token)
        if as_json:
            emit_json({"events": [failed_dict(e) for e in page.events],
                       "next_page_token": page.next_page_token})
            return
        console = out()
        if not page.events:
            console.print(f"no failed outbox events in {name}")
            return
        table = Table(title=f"Failed outbox events of {name}")
        table.add_column("ID", style="dim", no_wrap=True, max_width=12)
        table.add_column("Created", no_wrap=True)
        table.add_column("Event", no_wrap=True, max_width=14)
        table.add_column("Try", justify="right", no_wrap=True)
        table.add_column("Error", style="red", no_wrap=True, max_width=ERROR_WIDTH)
        for event in page.events:
            table.add_row(_short(event.id, 12), when(event.created_at, seconds=False),
                          _short(event.name, 14), str(event.attempts),
                          _short(event.error, ERROR_WIDTH))
        console.print(table)
        if page.next_page_token:
            console.print(f"more: add --page-token {page.next_page_token}")

    run(main())


@outbox_app.command("retry")
def retry(service: Service,
          ids: Annotated[list[str] | None, typer.Argument(
              metavar="[ID]...", help="The failed events to send again (or --all).")] = None,
          retry_all: Annotated[bool, typer.Option("--all", help="Retry every one.")] = False,
          ) -> None:
    """Send failed outbox events again.

    Example: bookstore admin outbox retry orders --all
    """
    name = _service(service)
    if retry_all == bool(ids):
        raise typer.BadParameter("give IDs or --all", param_hint="ID")

    async def main() -> int:
        client, _ = session_client()
        async with client:
            return await client.retry_failed_outbox(name, None if retry_all else ids)

    retried = run(main())
    out().print(f"{retried} outbox event{'s' if retried != 1 else ''} of {name} due again")
