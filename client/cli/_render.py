"""Tables and summaries shown to people; ``--json`` output bypasses all of this."""

from __future__ import annotations

from datetime import UTC

from google.protobuf.timestamp_pb2 import Timestamp
from rich.console import Console
from rich.table import Table

from client._models import Book, Order, User, role_name, status_name
from client._parsing import format_cents

STATUS_STYLES = {"PENDING": "yellow", "CONFIRMED": "green", "SHIPPED": "cyan",
                 "COMPLETED": "bold green", "REJECTED": "red", "CANCELLED": "magenta"}


def when(stamp: Timestamp) -> str:
    if not stamp.seconds and not stamp.nanos:
        return "-"
    return stamp.ToDatetime(tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def styled_status(status: int) -> str:
    name = status_name(status)
    return f"[{STATUS_STYLES.get(name, 'white')}]{name}[/]"


def books_table(books: list[Book], title: str = "Books") -> Table:
    table = Table(title=title)
    table.add_column("ID", style="dim", no_wrap=True)
    table.add_column("Title")
    table.add_column("Author")
    table.add_column("Year", justify="right")
    table.add_column("Price", justify="right")
    table.add_column("Available", justify="right")
    for book in books:
        table.add_row(book.id, book.title, book.author, str(book.published_year or "-"),
                      format_cents(book.price_cents), str(book.available))
    return table


def print_book(console: Console, book: Book) -> None:
    console.print(f"[bold]{book.title}[/] by {book.author}")
    console.print(f"  id         {book.id}")
    console.print(f"  isbn       {book.isbn}")
    console.print(f"  year       {book.published_year or '-'}")
    console.print(f"  price      {format_cents(book.price_cents)}")
    console.print(f"  stock      {book.available} available, {book.reserved} reserved, "
                  f"{book.sold} sold")
    if book.description:
        console.print(f"  {book.description}")


def print_user(console: Console, user: User) -> None:
    console.print(f"[bold]{user.name}[/] <{user.email}>")
    console.print(f"  id       {user.id}")
    console.print(f"  role     {role_name(user.role)}")
    console.print(f"  since    {when(user.created_at)}")


def orders_table(orders: list[Order]) -> Table:
    table = Table(title="Orders")
    table.add_column("ID", style="dim", no_wrap=True)
    table.add_column("Placed")
    table.add_column("Status")
    table.add_column("Items", justify="right")
    table.add_column("Total", justify="right")
    table.add_column("Reason")
    for order in orders:
        table.add_row(order.id, when(order.created_at), styled_status(order.status),
                      str(sum(line.quantity for line in order.lines)),
                      format_cents(order.total_cents), order.reason)
    return table


def print_order(console: Console, order: Order, *, with_history: bool = True) -> None:
    console.print(f"Order [bold]{order.id}[/]: {styled_status(order.status)}"
                  f"  total {format_cents(order.total_cents)}")
    if order.reason:
        console.print(f"  reason: {order.reason}")
    lines = Table(show_edge=False, box=None, pad_edge=False)
    for column in ("Book", "Title", "Qty", "Unit", "Line total", "Note"):
        lines.add_column(column, justify="right" if column in ("Qty", "Unit", "Line total")
                         else "left")
    for line in order.lines:
        lines.add_row(line.book_id, line.title, str(line.quantity),
                      format_cents(line.unit_price_cents), format_cents(line.line_total_cents),
                      line.rejection_reason)
    console.print(lines)
    for change in order.history if with_history else ():
        print_change(console, change.status, change.reason, when(change.at))


def print_change(console: Console, status: int, reason: str, at: str) -> None:
    suffix = f" — {reason}" if reason else ""
    console.print(f"  {at}  {styled_status(status)}{suffix}")
