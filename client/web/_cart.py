"""The cart (kept in the session: book id → quantity) and checkout with a test card."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from client._client import BookstoreClient
from client._errors import InvalidArgumentError, NotFoundError
from client._models import Book
from client._parsing import OrderLine
from client.web._render import client_for, field, form, page, redirect, require_login, visitor

MAX_QUANTITY = 99
#: The simulated payment methods the order service knows (orders/payments.py).
TEST_CARDS = {"tok_visa": "Test card: approved",
              "tok_declined": "Test card: declined",
              "tok_insufficient_funds": "Test card: insufficient funds"}


@dataclass(frozen=True, slots=True)
class CartLine:
    book: Book
    quantity: int

    @property
    def total_cents(self) -> int:
        return self.book.price_cents * self.quantity


def quantity(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 <= int(text) <= MAX_QUANTITY:
        raise HTTPException(400, f"A quantity is a whole number from 0 to {MAX_QUANTITY}.")
    return int(text)


async def lines(client: BookstoreClient, cart: dict[str, int]) -> list[CartLine]:
    """The cart's books as the catalogue has them now; books gone since are dropped."""
    async def one(book_id: str, count: int) -> CartLine | None:
        try:
            return CartLine(await client.get_book(book_id), count)
        except NotFoundError:
            cart.pop(book_id, None)
            return None
    found = await asyncio.gather(*(one(b, n) for b, n in list(cart.items())))
    return [line for line in found if line is not None]


async def show(request: Request) -> Response:
    who = visitor(request)
    cart_lines = await lines(client_for(request), who.cart)
    return page(request, "cart.html", lines=cart_lines, cards=TEST_CARDS, error="",
                total_cents=sum(line.total_cents for line in cart_lines))


async def add(request: Request) -> Response:
    data = await form(request)
    book_id = field(data, "book_id")
    count = quantity(field(data, "quantity") or "1")
    book = await client_for(request).get_book(book_id)  # 404 page for an unknown book
    who = visitor(request)
    if count:
        who.cart[book.id] = min(who.cart.get(book.id, 0) + count, MAX_QUANTITY)
        who.flash(f"Added {count} x {book.title} to your cart.")
    return redirect("/cart")


async def update(request: Request) -> Response:
    """Every line's quantity at once (0 removes); a ``remove`` button drops one line."""
    data = await form(request)
    who = visitor(request)
    removed = field(data, "remove")
    for book_id in list(who.cart):
        sent = field(data, f"quantity-{book_id}")
        count = 0 if book_id == removed else quantity(sent) if sent else who.cart[book_id]
        if count:
            who.cart[book_id] = count
        else:
            del who.cart[book_id]
    who.flash("Your cart is updated.")
    return redirect("/cart")


async def checkout(request: Request) -> Response:
    data = await form(request)
    who = require_login(request)
    if not who.cart:
        who.flash("Your cart is empty.")
        return redirect("/cart")
    card = field(data, "payment_token")
    if card not in TEST_CARDS:
        raise HTTPException(400, "Choose one of the test cards offered.")
    client = client_for(request)
    order_lines = [OrderLine(book_id, count) for book_id, count in who.cart.items()]
    try:
        order = await client.place_order(order_lines, payment_token=card,
                                         idempotency_key=who.checkout_key)
    except InvalidArgumentError as exc:
        cart_lines = await lines(client, who.cart)
        return page(request, "cart.html", 400, lines=cart_lines, cards=TEST_CARDS,
                    error=exc.message,
                    total_cents=sum(line.total_cents for line in cart_lines))
    who.cart.clear()
    who.checkout_key = secrets.token_hex(16)
    who.flash("Thank you: your order is placed.")
    return redirect(f"/orders/{order.id}")
