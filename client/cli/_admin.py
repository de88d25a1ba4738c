"""Admin commands: add and change books, bulk import, order status; and ``seed``.

They act with the stored session, so log in as an admin first (``bookstore login``);
``seed`` logs in by itself with the admin credentials from the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from client._catalogue import ImportReport, Outcome, import_books, read_rows
from client._client import BookstoreClient
from client._errors import InvalidArgumentError
from client._models import ORDER_STATUSES, status_name, to_dict
from client._parsing import parse_price
from client._seed import admin_credentials, seed
from client.cli._render import print_book
from client.cli._runtime import JsonOption, emit_json, out, run, session_client

admin_app = typer.Typer(help="Catalogue and order administration (admin accounts only)."
                        "\n\nExample: bookstore admin import books.csv",
                        no_args_is_help=True)


def _cents(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_price(value)
    except InvalidArgumentError as exc:
        raise typer.BadParameter(exc.message, param_hint=option) from None


@admin_app.command("add-book")
def add_book(title: Annotated[str, typer.Option(help="Title.")],
             author: Annotated[str, typer.Option(help="Author(s).")],
             isbn: Annotated[str, typer.Option(help="ISBN-13 or ISBN-10.")],
             price: Annotated[str, typer.Option(help="Price, e.g. 12.50.")],
             stock: Annotated[int, typer.Option(min=0, help="Copies available.")] = 0,
             year: Annotated[int, typer.Option(help="Year published (0: unknown).")] = 0,
             description: Annotated[str, typer.Option(help="A short description.")] = "",
             as_json: JsonOption = False) -> None:
    """Add a book to the catalogue.

    Example: bookstore admin add-book --title Dune --author "Frank Herbert"
    --isbn 9780441172719 --price 10.99 --stock 5
    """
    price_cents = _cents(price, "--price")
    assert price_cents is not None

    async def main() -> None:
        client, _ = session_client()
        async with client:
            book = await client.add_book(title=title, author=author, isbn=isbn,
                                         price_cents=price_cents, stock=stock,
                                         description=description, published_year=year)
        if as_json:
            emit_json(to_dict(book))
        else:
            out().print(f"[green]added[/] {book.id}")
            print_book(out(), book)

    run(main())


@admin_app.command("update-book")
def update_book(book_id: Annotated[str, typer.Argument(help="The book's id.")],
                title: Annotated[str | None, typer.Option(help="New title.")] = None,
                author: Annotated[str | None, typer.Option(help="New author.")] = None,
                price: Annotated[str | None, typer.Option(help="New price, e.g. 9.99.")] = None,
                year: Annotated[int | None, typer.Option(help="New year published.")] = None,
                description: Annotated[str | None, typer.Option(help="New text.")] = None,
                set_stock: Annotated[int | None, typer.Option(
                    min=0, help="Set the copies available to this number.")] = None,
                add_stock: Annotated[int | None, typer.Option(
                    help="Add (or, negative, remove) copies.")] = None,
                as_json: JsonOption = False) -> None:
    """Change some fields of a book and/or its stock.

    Example: bookstore admin update-book 665f1c2e9b1e8a3d4c5b6a79 --price 8.99 --add-stock 10
    """
    if set_stock is not None and add_stock is not None:
        raise typer.BadParameter("use --set-stock or --add-stock, not both")
    price_cents = _cents(price, "--price")

    async def main() -> None:
        client, _ = session_client()
        async with client:
            book = await client.update_book(
                book_id, title=title, author=author, price_cents=price_cents,
                description=description, published_year=year, set_available=set_stock,
                adjust_available=add_stock)
        if as_json:
            emit_json(to_dict(book))
        else:
            print_book(out(), book)

    run(main())


def _print_report(console: Console, report: ImportReport) -> None:
    console.print(f"[green]added {report.count(Outcome.ADDED)}[/], "
                  f"skipped {report.count(Outcome.SKIPPED)} (already in the catalogue), "
                  f"[red]failed {report.count(Outcome.FAILED)}[/]")
    if report.failed:
        table = Table(title="Rows not imported")
        table.add_column("Row", justify="right")
        table.add_column("Book")
        table.add_column("Problem", style="red")
        for result in report.failed:
            table.add_row(str(result.row), result.label, result.message)
        console.print(table)


async def _import_with_progress(client: BookstoreClient, rows: list[dict[str, object]],
                                console: Console) -> ImportReport:
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("import", total=len(rows))
        return await import_books(client, rows, lambda _: progress.advance(task))


@admin_app.command("import")
def import_file(path: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False, readable=True, help="A .csv or .json file of books.")],
        as_json: JsonOption = False) -> None:
    """Import books from CSV (header row) or JSON (list of objects); exits 1 if rows failed.

    Columns (any case; "Published Year" works too): title, author, isbn, price (12.50)
    or price_cents, stock, published_year, description. Books whose ISBN is already
    present are skipped.

    Example: bookstore admin import books.csv
    """
    async def main() -> ImportReport:
        rows = read_rows(path)
        client, _ = session_client()
        async with client:
            return await _import_with_progress(client, rows, out())

    report = run(main())
    if as_json:
        emit_json({"results": [{"row": r.row, "book": r.label, "outcome": r.outcome.value,
                                "message": r.message, "book_id": r.book_id}
                               for r in report.results]})
    else:
        _print_report(out(), report)
    if report.failed:
        raise typer.Exit(1)


@admin_app.command("set-status")
def set_status(order_id: Annotated[str, typer.Argument(help="The order's id.")],
               status: Annotated[str, typer.Argument(
                   help=f"One of: {', '.join(ORDER_STATUSES)}.")],
               reason: Annotated[str, typer.Option(help="Why, kept in its history.")] = "",
               as_json: JsonOption = False) -> None:
    """Move an order along its lifecycle, e.g. to shipped or completed.

    Example: bookstore admin set-status 6660a1b2c3d4e5f60718293a shipped
    """
    if status.strip().lower() not in ORDER_STATUSES:
        raise typer.BadParameter(f"use one of {', '.join(ORDER_STATUSES)}", param_hint="STATUS")

    async def main() -> None:
        client, _ = session_client()
        async with client:
            order = await client.update_order_status(order_id, status, reason)
        if as_json:
            emit_json(to_dict(order))
        else:
            out().print(f"order {order.id}: {status_name(order.status)}")

    run(main())


def seed_command() -> None:
    """Log in as the admin and import the sample catalogue; safe to run again.

    The admin comes from BOOKSTORE_ADMIN_EMAIL / BOOKSTORE_ADMIN_PASSWORD (the local
    stack's development admin by default).

    Example: bookstore seed
    """
    email, password = admin_credentials()

    async def main() -> ImportReport:
        async with BookstoreClient.from_env() as bs:
            console = out()
            columns = (TextColumn("seeding"), BarColumn(), MofNCompleteColumn())
            with Progress(*columns, console=console, transient=True) as progress:
                task = progress.add_task("seed", total=None)
                return await seed(bs, email, password, lambda _: progress.advance(task))

    report = run(main())
    _print_report(out(), report)
    if report.failed:
        raise typer.Exit(1)
