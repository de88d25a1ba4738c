"""Catalogue commands: list, search and show books. Browsing needs no login."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from client._errors import InvalidArgumentError
from client._models import BookPage, to_dict
from client._parsing import parse_price
from client.cli._render import books_table, print_book
from client.cli._runtime import JsonOption, anonymous_client, emit_json, out, run

books_app = typer.Typer(help="Browse the catalogue.\n\nExample: bookstore books search dune",
                        no_args_is_help=True)


class SortKey(StrEnum):
    TITLE = "title"
    AUTHOR = "author"
    PRICE = "price"
    PRICE_DESC = "price-desc"
    NEWEST = "newest"


def _price(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_price(value)
    except InvalidArgumentError as exc:
        raise typer.BadParameter(exc.message) from None


Author = Annotated[str, typer.Option(help="Only books whose author contains this.")]
MinPrice = Annotated[str | None, typer.Option(help="Lowest price, e.g. 9.99.")]
MaxPrice = Annotated[str | None, typer.Option(help="Highest price, e.g. 25.")]
InStock = Annotated[bool, typer.Option("--in-stock", help="Only books that can be ordered now.")]
Sort = Annotated[SortKey, typer.Option(help="Sort order.")]
PageSize = Annotated[int, typer.Option(min=0, max=100, help="Books per page (0: default 20).")]
PageToken = Annotated[str, typer.Option(help="Continue from a previous page.")]


def _show_page(page: BookPage, as_json: bool, title: str) -> None:
    if as_json:
        emit_json({"books": [to_dict(book) for book in page.books],
                   "next_page_token": page.next_page_token})
        return
    console = out()
    if not page.books:
        console.print("no books match")
        return
    console.print(books_table(page.books, title))
    if page.next_page_token:
        console.print(f"more: add --page-token {page.next_page_token}")


@books_app.command("list")
def list_books(author: Author = "", min_price: MinPrice = None, max_price: MaxPrice = None,
               in_stock: InStock = False, sort: Sort = SortKey.TITLE, page_size: PageSize = 0,
               page_token: PageToken = "", as_json: JsonOption = False) -> None:
    """List the catalogue, one page at a time, with optional filters.

    Example: bookstore books list --in-stock --max-price 15 --sort price
    """
    low, high = _price(min_price), _price(max_price)

    async def main() -> None:
        async with anonymous_client() as bs:
            page = await bs.list_books(author=author, min_price_cents=low,
                                       max_price_cents=high, in_stock=in_stock,
                                       sort=sort.value, page_size=page_size,
                                       page_token=page_token)
        _show_page(page, as_json, "Books")

    run(main())


@books_app.command("search")
def search_books(query: Annotated[str, typer.Argument(help="Words to find in title or author.")],
                 author: Author = "", min_price: MinPrice = None, max_price: MaxPrice = None,
                 in_stock: InStock = False, sort: Sort = SortKey.TITLE,
                 page_size: PageSize = 0, page_token: PageToken = "",
                 as_json: JsonOption = False) -> None:
    """Search titles and authors, with the same filters as `books list`.

    Example: bookstore books search tolkien --in-stock
    """
    low, high = _price(min_price), _price(max_price)

    async def main() -> None:
        async with anonymous_client() as bs:
            page = await bs.search_books(query, author=author, min_price_cents=low,
                                         max_price_cents=high, in_stock=in_stock,
                                         sort=sort.value, page_size=page_size,
                                         page_token=page_token)
        _show_page(page, as_json, f"Books matching {query!r}")

    run(main())


@books_app.command("show")
def show(book_id: Annotated[str, typer.Argument(help="The book's id.")],
         as_json: JsonOption = False) -> None:
    """Show one book: details, price and stock.

    Example: bookstore books show 665f1c2e9b1e8a3d4c5b6a79
    """
    async def main() -> None:
        async with anonymous_client() as bs:
            book = await bs.get_book(book_id)
        if as_json:
            emit_json(to_dict(book))
        else:
            print_book(out(), book)

    run(main())
