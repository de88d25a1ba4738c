"""Catalogue writes for administrators: add a book, change one (price, text, stock)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from client._errors import ConflictError, InvalidArgumentError
from client._parsing import format_cents, parse_price
from client.web._render import client_for, field, form, page, redirect, require_admin, visitor

BOOK_FIELDS = ("title", "author", "isbn", "price", "stock", "description", "published_year")


def whole(text: str, what: str, *, default: int | None = None) -> int:
    if not text and default is not None:
        return default
    if not (text.isascii() and text.lstrip("-").isdigit()):
        raise InvalidArgumentError(f"{what} must be a whole number")
    return int(text)


def values(data: FormData) -> dict[str, str]:
    return {name: field(data, name) for name in BOOK_FIELDS}


async def new_form(request: Request) -> Response:
    require_admin(request)
    return page(request, "book_form.html", book=None, values=dict.fromkeys(BOOK_FIELDS, ""),
                error="")


async def add(request: Request) -> Response:
    data = await form(request)
    require_admin(request)
    sent = values(data)
    try:
        book = await client_for(request).add_book(
            title=sent["title"], author=sent["author"], isbn=sent["isbn"],
            price_cents=parse_price(sent["price"] or "0"),
            stock=whole(sent["stock"], "the stock", default=0),
            description=sent["description"],
            published_year=whole(sent["published_year"], "the year", default=0))
    except (InvalidArgumentError, ConflictError) as exc:
        return page(request, "book_form.html", 400, book=None, values=sent, error=exc.message)
    visitor(request).flash(f"“{book.title}” is in the catalogue.")
    return redirect(f"/books/{book.id}")


def _current(book: Any) -> dict[str, str]:
    return {"title": book.title, "author": book.author, "isbn": book.isbn,
            "price": format_cents(book.price_cents).replace(",", ""),
            "stock": str(book.available), "description": book.description,
            "published_year": str(book.published_year or "")}


def _stock_change(stock: str, shown: str) -> int | None:
    """The new stock only if the admin changed the figure shown: left alone, the stock
    sold or released meanwhile is not overwritten."""
    return None if stock == shown else whole(stock, "the stock")


async def edit_form(request: Request) -> Response:
    require_admin(request)
    book = await client_for(request).get_book(request.path_params["book_id"])
    return page(request, "book_form.html", book=book, values=_current(book), error="")


async def update(request: Request) -> Response:
    data = await form(request)
    require_admin(request)
    client = client_for(request)
    book = await client.get_book(request.path_params["book_id"])
    sent = values(data)
    try:
        await client.update_book(
            book.id, title=sent["title"], author=sent["author"],
            price_cents=parse_price(sent["price"] or "0"), description=sent["description"],
            published_year=whole(sent["published_year"], "the year", default=0),
            set_available=_stock_change(sent["stock"], field(data, "stock_was")))
    except InvalidArgumentError as exc:
        return page(request, "book_form.html", 400, book=book, values=sent, error=exc.message)
    visitor(request).flash("The book is updated.")
    return redirect(f"/books/{book.id}")
