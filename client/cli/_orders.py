"""Order commands: place (and follow the saga live), status, cancel, history, watch, trace."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from client._client import DEFAULT_PAYMENT_TOKEN, BookstoreClient
from client._errors import DeadlineExceededError, InvalidArgumentError
from client._models import OUTCOME_STATUSES, Order, OrderStatus, status_name, to_dict
from client._parsing import OrderLine, format_cents, parse_lines
from client._timeline import OrderTimeline
from client.cli._render import (
    orders_table,
    print_change,
    print_order,
    print_reasons,
    print_timeline,
    when,
)
from client.cli._runtime import JsonOption, emit_json, out, run, session_client

orders_app = typer.Typer(help="Place and follow orders.\n\nExample: bookstore order history",
                         no_args_is_help=True)

OrderId = Annotated[str, typer.Argument(help="The order's id.")]
FAILED = frozenset({OrderStatus.Value("ORDER_STATUS_REJECTED"),
                    OrderStatus.Value("ORDER_STATUS_CANCELLED")})


async def follow(bs: BookstoreClient, order_id: str, console: Console, *,
                 until: frozenset[int] | None = None) -> Order | None:
    """Print each status change of an order as it happens; return it once in ``until``.

    Without ``until``, follows the stream to its end (the order's final state).
    """
    seen, last_status, last = 0, None, None
    stream = bs.watch_order(order_id)
    try:
        with console.status(f"following order {order_id}…"):
            async for order in stream:
                for change in order.history[seen:]:
                    print_change(console, change.status, change.reason, when(change.at))
                if not order.history and order.status != last_status:
                    print_change(console, order.status, order.reason, when(order.updated_at))
                seen, last_status, last = len(order.history), order.status, order
                if until is not None and order.status in until:
                    break
    except DeadlineExceededError:
        if last is None:
            raise
        console.print(f"[yellow]stopped following after {bs.config.watch_timeout:g} s "
                      "(BOOKSTORE_CLIENT_WATCH_TIMEOUT)[/]")
    finally:
        await stream.aclose()
    return last


def _lines(items: list[str]) -> list[OrderLine]:
    try:
        return parse_lines(items)
    except InvalidArgumentError as exc:
        raise typer.BadParameter(exc.message, param_hint="BOOK_ID[:QTY]") from None


@orders_app.command("place")
def place(items: Annotated[list[str], typer.Argument(
              metavar="BOOK_ID[:QTY]", help="Books to order, each with an optional quantity.")],
          payment_token: Annotated[str, typer.Option(
              help="Simulated payment: tok_visa is approved, tok_declined is declined.")]
          = DEFAULT_PAYMENT_TOKEN,
          no_wait: Annotated[bool, typer.Option(
              "--no-wait", help="Return once placed; do not follow the saga.")] = False,
          as_json: JsonOption = False) -> None:
    """Place an order and follow it live until it is confirmed or rejected.

    Exits 1 if the order ends rejected or cancelled.

    Example: bookstore order place 665f1c2e9b1e8a3d4c5b6a79:2 665f1c2e9b1e8a3d4c5b6a7a
    """
    lines = _lines(items)

    async def main() -> Order:
        client, _ = session_client()
        console = out() if not as_json else Console(quiet=True)
        async with client:
            order = await client.place_order(lines, payment_token=payment_token)
            console.print(f"order [bold]{order.id}[/] placed: {len(lines)} line(s), "
                          f"total {format_cents(order.total_cents)}")
            if no_wait:
                return order
            final = await follow(client, order.id, console, until=OUTCOME_STATUSES)
            return final or order

    order = run(main())
    if as_json:
        emit_json(to_dict(order))
    elif not no_wait:
        print_order(out(), order, with_history=False)
    if not no_wait and order.status in FAILED:
        raise typer.Exit(1)


@orders_app.command("status")
def status(order_id: OrderId, as_json: JsonOption = False) -> None:
    """Show an order: status, lines, total and its history.

    Example: bookstore order status 6660a1b2c3d4e5f60718293a --json
    """
    async def main() -> Order:
        client, _ = session_client()
        async with client:
            return await client.get_order(order_id)

    order = run(main())
    if as_json:
        emit_json(to_dict(order))
    else:
        print_order(out(), order)


@orders_app.command("cancel")
def cancel(order_id: OrderId, as_json: JsonOption = False) -> None:
    """Cancel one of your orders that has not shipped yet.

    Example: bookstore order cancel 6660a1b2c3d4e5f60718293a
    """
    async def main() -> Order:
        client, _ = session_client()
        async with client:
            return await client.cancel_order(order_id)

    order = run(main())
    if as_json:
        emit_json(to_dict(order))
    else:
        out().print(f"order {order.id}: {status_name(order.status)}")


@orders_app.command("history")
def history(page_size: Annotated[int, typer.Option(min=0, max=100, help="Orders per page.")] = 0,
            page_token: Annotated[str, typer.Option(help="Continue from a previous page.")] = "",
            as_json: JsonOption = False) -> None:
    """List your orders, newest first.

    Example: bookstore order history --page-size 10
    """
    async def main() -> None:
        client, _ = session_client()
        async with client:
            page = await client.order_history(page_size=page_size, page_token=page_token)
        if as_json:
            emit_json({"orders": [to_dict(order) for order in page.orders],
                       "next_page_token": page.next_page_token})
            return
        console = out()
        if not page.orders:
            console.print("no orders yet")
            return
        console.print(orders_table(page.orders))
        print_reasons(console, page.orders)
        if page.next_page_token:
            console.print(f"more: add --page-token {page.next_page_token}")

    run(main())


@orders_app.command("watch")
def watch(order_id: OrderId, as_json: JsonOption = False) -> None:
    """Follow an order live, printing each change, until its final state (Ctrl-C stops).

    Example: bookstore order watch 6660a1b2c3d4e5f60718293a
    """
    async def main() -> Order | None:
        client, _ = session_client()
        console = out() if not as_json else Console(quiet=True)
        async with client:
            return await follow(client, order_id, console)

    order = run(main())
    if order is None:
        return
    if as_json:
        emit_json(to_dict(order))
    else:
        out().print(f"order {order.id} is {status_name(order.status)}")



@orders_app.command("trace")
def trace(order_id: OrderId, as_json: JsonOption = False) -> None:
    """Show every step of an order's saga in both services, oldest first: what happened,
    where, when (UTC), how long, event ids, retries, dead letters, and what it waits for.

    Yours, or any order for an admin. Read from what the services store: no tracing backend.

    Example: bookstore order trace 6660a1b2c3d4e5f60718293a --json
    """
    async def main() -> OrderTimeline:
        client, _ = session_client()
        async with client:
            return await client.order_timeline(order_id)

    found = run(main())
    if as_json:
        emit_json(found.to_json())
    else:
        print_timeline(out(), found)
