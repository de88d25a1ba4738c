"""The catalogue (search, author filter, sort, paging) and a book's own page."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from client._errors import InvalidArgumentError
from client._models import BOOK_SORTS
from client.web._render import client_for, page

PAGE_SIZE = 12
SORT_LABELS = {"title": "Title", "author": "Author", "price": "Price, lowest first",
               "price-desc": "Price, highest first", "newest": "Newest first"}
assert set(SORT_LABELS) == set(BOOK_SORTS)


async def catalogue(request: Request) -> Response:
    params = request.query_params
    query = params.get("q", "").strip()
    author = params.get("author", "").strip()
    sort = params.get("sort", "title")
    if sort not in BOOK_SORTS:
        sort = "title"
    in_stock = params.get("in_stock") == "1"
    token = params.get("page", "")
    client = client_for(request)
    try:
        if query:
            result = await client.search_books(query, author=author, in_stock=in_stock,
                                               sort=sort, page_size=PAGE_SIZE,
                                               page_token=token)
        else:
            result = await client.list_books(author=author, in_stock=in_stock, sort=sort,
                                             page_size=PAGE_SIZE, page_token=token)
    except InvalidArgumentError as exc:  # e.g. a page token from another search
        return page(request, "catalogue.html", 400, books=[], error=exc.message,
                    query=query, author=author, sort=sort, in_stock=in_stock,
                    sorts=SORT_LABELS, next_url="", first_url="")
    kept = {"q": query, "author": author, "sort": sort, "in_stock": "1" if in_stock else ""}
    kept = {key: value for key, value in kept.items() if value}
    next_url = ("/?" + urlencode({**kept, "page": result.next_page_token})
                if result.next_page_token else "")
    first_url = ("/?" + urlencode(kept)) if token else ""
    return page(request, "catalogue.html", books=result.books, query=query, author=author,
                sort=sort, in_stock=in_stock, sorts=SORT_LABELS, next_url=next_url,
                first_url=first_url, error="")


async def book(request: Request) -> Response:
    book_id = request.path_params["book_id"]
    client = client_for(request)
    found = await client.get_book(book_id)
    availability = await client.check_availability(book_id)
    return page(request, "book.html", book=found, availability=availability)
