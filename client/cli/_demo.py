"""``bookstore demo``: one new customer's visit, narrated step by step.

Register, log in, browse, order a book and follow the saga to CONFIRMED; then ask for more
copies of a scarce book than there are (the order service refuses at once when its stock
check already shows it, otherwise the saga rejects it), and finally pay with a declined
card, so the saga reserves the stock, fails the payment and releases the stock again.
"""

from __future__ import annotations

import asyncio
import secrets

import typer
from rich.console import Console
from rich.rule import Rule

from client._client import DEFAULT_PAYMENT_TOKEN, BookstoreClient
from client._errors import FailedPreconditionError
from client._models import OUTCOME_STATUSES, Book, status_name
from client._parsing import OrderLine, format_cents
from client.cli._orders import follow
from client.cli._render import books_table
from client.cli._runtime import out, run

REFUSED = "REFUSED"  # the order service said no before any order existed
FAILED = frozenset({REFUSED, "REJECTED", "CANCELLED"})
OUTCOME_WORDS = {"CONFIRMED": "confirmed", REFUSED: "refused at once", "REJECTED": "rejected",
                 "CANCELLED": "cancelled", "SHIPPED": "shipped", "PENDING": "still pending"}


async def _scarcest(bs: BookstoreClient) -> Book:
    """The in-stock book with the fewest copies, looking through the whole catalogue."""
    best: Book | None = None
    token = ""
    while True:
        page = await bs.list_books(in_stock=True, page_size=100, page_token=token)
        for book in page.books:
            if best is None or book.available < best.available:
                best = book
        token = page.next_page_token
        if not token:
            break
    if best is None:
        raise FailedPreconditionError("the catalogue has no books in stock: run bookstore seed")
    return best


async def _restocked(bs: BookstoreClient, before: Book, seconds: float = 10) -> Book:
    """The book once the saga has released a held copy (bounded wait: it is asynchronous)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        book = await bs.get_book(before.id)
        if book.available >= before.available or loop.time() > deadline:
            return book
        await asyncio.sleep(0.2)


async def _order(bs: BookstoreClient, console: Console, book: Book, quantity: int,
                 payment_token: str = DEFAULT_PAYMENT_TOKEN) -> str:
    """Place one order and follow it; its outcome: a status name, or REFUSED if never placed."""
    console.print(f"ordering {quantity} x [bold]{book.title}[/] "
                  f"({format_cents(book.price_cents)} each), paying with {payment_token}")
    try:
        order = await bs.place_order([OrderLine(book.id, quantity)],
                                     payment_token=payment_token)
    except FailedPreconditionError as exc:
        console.print(f"refused at once: [yellow]{exc.message}[/]")
        return REFUSED
    console.print(f"order [bold]{order.id}[/] placed; following the saga:")
    final = await follow(bs, order.id, console, until=OUTCOME_STATUSES)
    status = final.status if final else order.status
    console.print(f"outcome: [bold]{status_name(status)}[/]")
    if final is not None and final.reason and status_name(status) != "CONFIRMED":
        console.print(f"  reason: {final.reason}")
    if final is not None:
        for line in final.lines:
            if line.rejection_reason:
                console.print(f"  {line.title}: {line.rejection_reason}")
    return status_name(status)


async def _demo(console: Console) -> list[str]:
    """The three orders' outcomes, in order."""
    email = f"demo-{secrets.token_hex(4)}@example.com"
    password = secrets.token_urlsafe(12)
    async with BookstoreClient.from_env() as bs:
        console.print(Rule("1. register"))
        user = await bs.register("Demo Customer", email, password)
        console.print(f"registered {user.email} (id {user.id})")

        console.print(Rule("2. log in"))
        session = await bs.login(email, password)
        console.print(f"logged in; token expires {session.expires_at.ToJsonString()}")

        console.print(Rule("3. browse"))
        page = await bs.list_books(in_stock=True, sort="price", page_size=5)
        if not page.books:
            raise FailedPreconditionError("the catalogue has no books in stock: "
                                          "run bookstore seed")
        console.print(books_table(page.books, "The five cheapest books in stock"))

        console.print(Rule("4. order a book"))
        plentiful = max(page.books, key=lambda book: book.available)
        first = await _order(bs, console, plentiful, 1)

        console.print(Rule("5. order more copies than there are"))
        scarce = await _scarcest(bs)
        console.print(f"[bold]{scarce.title}[/] has {scarce.available} cop"
                      f"{'y' if scarce.available == 1 else 'ies'} left")
        second = await _order(bs, console, scarce, scarce.available + 1)

        console.print(Rule("6. pay with a card that is declined"))
        before = await bs.get_book(plentiful.id)
        third = await _order(bs, console, plentiful, 1, payment_token="tok_declined")
        after = await _restocked(bs, before)
        console.print(f"[bold]{after.title}[/]: {after.available} available, "
                      f"{after.reserved} reserved"
                      + (" — the saga released the copy it held"
                         if after.available == before.available else ""))
    return [first, second, third]


def summary(outcomes: list[str]) -> str:
    """``the first order confirmed, the second refused at once, the third cancelled``."""
    ordinals = ("first", "second", "third")
    return ", ".join(f"the {ordinal}{' order' if i == 0 else ''} {OUTCOME_WORDS[outcome]}"
                     for i, (ordinal, outcome) in enumerate(zip(ordinals, outcomes, strict=True)))


def demo() -> None:
    """Walk a new customer through register, login, browse, an order, and failing ones.

    Needs a running, seeded stack (scripts/run.sh seeds it). Exits 1 if the first order
    is not CONFIRMED or another one does not fail (refused, rejected or cancelled).

    Example: bookstore demo
    """
    console = out()
    outcomes = run(_demo(console))
    first, *others = outcomes
    if first == "CONFIRMED" and all(outcome in FAILED for outcome in others):
        console.print(Rule(f"[green]done: {summary(outcomes)}[/]"))
        return
    console.print(f"[red]the orders did not end as expected: {summary(outcomes)}[/]")
    raise typer.Exit(1)
