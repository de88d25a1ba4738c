"""Tables and summaries shown to people; ``--json`` output bypasses all of this.

Tables fit an 80-column terminal without cutting what matters: ids, statuses, dates and
amounts never wrap; titles and authors share one wrapping column; an order's reason goes
under the table instead of into a column too narrow to read.
"""

from __future__ import annotations

from datetime import UTC

from google.protobuf.timestamp_pb2 import Timestamp
from rich.console import Console
from rich.table import Table
from rich.text import Text

from client._models import Book, Order, User, role_name, status_name
from client._parsing import format_cents
from client._timeline import OrderTimeline, TimelineStep

STATUS_STYLES = {"PENDING": "yellow", "CONFIRMED": "green", "SHIPPED": "cyan",
                 "COMPLETED": "bold green", "REJECTED": "red", "CANCELLED": "magenta"}


def when(stamp: Timestamp, *, seconds: bool = True) -> str:
    """Local time; ``seconds=False`` for tables, where the minute is enough."""
    if not stamp.seconds and not stamp.nanos:
        return "-"
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return stamp.ToDatetime(tzinfo=UTC).astimezone().strftime(fmt)


def styled_status(status: int) -> Text:
    name = status_name(status)
    return Text(name, style=STATUS_STYLES.get(name, "white"))


def books_table(books: list[Book], title: str = "Books") -> Table:
    table = Table(title=title)
    table.add_column("ID", style="dim", no_wrap=True)
    table.add_column("Book", ratio=1)
    table.add_column("Price", justify="right", no_wrap=True)
    table.add_column("Available", justify="right", no_wrap=True)
    for book in books:
        byline = book.author + (f", {book.published_year}" if book.published_year else "")
        table.add_row(book.id, Text.assemble((book.title, "bold"), "\n", (byline, "dim")),
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
    """ID, date, status and total (lines and history: ``order status ID``), 77 columns."""
    table = Table(title="Orders")
    table.add_column("ID", style="dim", no_wrap=True)
    table.add_column("Placed", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Total", justify="right", no_wrap=True)
    for order in orders:
        table.add_row(order.id, when(order.created_at, seconds=False),
                      styled_status(order.status), format_cents(order.total_cents))
    return table


def print_reasons(console: Console, orders: list[Order]) -> None:
    """Why each rejected or cancelled order ended so, one wrapped paragraph each."""
    for order in orders:
        if order.reason and status_name(order.status) in ("REJECTED", "CANCELLED"):
            console.print(Text.assemble((order.id, "dim"), " ", styled_status(order.status),
                                        f": {order.reason}"), soft_wrap=False)


def print_order(console: Console, order: Order, *, with_history: bool = True) -> None:
    console.print(Text.assemble("Order ", (order.id, "bold"), ": ", styled_status(order.status),
                                f"  total {format_cents(order.total_cents)}"))
    if order.reason:
        console.print(f"  reason: {order.reason}")
    lines = Table(show_edge=False, box=None, pad_edge=False)
    for column in ("Book", "Title", "Qty", "Unit", "Line total", "Note"):
        number = column in ("Qty", "Unit", "Line total")
        lines.add_column(column, justify="right" if number else "left",
                         no_wrap=number or column == "Book")
    for line in order.lines:
        lines.add_row(line.book_id, line.title, str(line.quantity),
                      format_cents(line.unit_price_cents), format_cents(line.line_total_cents),
                      line.rejection_reason)
    console.print(lines)
    for change in order.history if with_history else ():
        print_change(console, change.status, change.reason, when(change.at))


def print_change(console: Console, status: int, reason: str, at: str) -> None:
    suffix = f" — {reason}" if reason else ""
    console.print(Text.assemble(f"  {at}  ", styled_status(status), suffix))


def _clock(step: TimelineStep, first_day: str) -> str:
    """UTC time to the millisecond; the date too when it is not the first step's."""
    at = step.at.ToDatetime(tzinfo=UTC)
    clock = at.strftime("%H:%M:%S.") + f"{at.microsecond // 1000:03d}"
    day = at.strftime("%Y-%m-%d")
    return clock if day == first_day else f"{day[5:]} {clock}"


def _about(step: TimelineStep) -> Text:
    """The step, then (dim, wrapped under it) what explains it: detail, retries, redelivery."""
    notes = [step.detail] if step.detail and step.detail != step.step else []
    if step.attempts > 1:
        kind = "publishing attempts" if step.step.startswith("emitted ") else "attempts"
        notes.append(f"{step.attempts} {kind}")
    if step.redelivered:
        notes.append("redelivered")
    text = Text(step.step, style="red" if step.step == "dead-lettered" else "")
    if notes:
        text.append("\n" + "; ".join(notes), style="dim")
    return text


def timeline_table(trace: OrderTimeline) -> Table:
    """When (UTC), where, what and how long, with each event's id cut to 8 characters: fits
    80 columns, the explanation wrapping under the step."""
    first_day = (trace.steps[0].at.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d")
                 if trace.steps else "")
    table = Table(title=f"Order {trace.order.id} ({first_day or 'no steps'}, UTC)")
    table.add_column("At", no_wrap=True)
    table.add_column("Service", no_wrap=True)
    table.add_column("Step", ratio=1)
    table.add_column("Event", style="dim", no_wrap=True)
    table.add_column("ms", justify="right", no_wrap=True)
    for step in trace.steps:
        table.add_row(_clock(step, first_day), step.service, _about(step),
                      step.event_id[:8], str(step.duration_ms) if step.duration_ms else "")
    return table


def print_timeline(console: Console, trace: OrderTimeline) -> None:
    console.print(timeline_table(trace))
    console.print(Text.assemble("now: ", styled_status(trace.order.status)))
    if trace.waiting_for:
        console.print(f"waiting for: {trace.waiting_for}")
    for service in trace.unavailable:
        console.print(f"[yellow]the {service} service did not answer: its steps are "
                      "missing[/]")
