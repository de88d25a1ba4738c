"""AddBook, UpdateBook, GetBookDetails, CheckAvailability and CheckStockInvariant over gRPC."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from bson import ObjectId

from contracts.bookstore.inventory.v1 import inventory_pb2 as pb
from tests.integration.inventory.conftest import Client, fresh_isbn

pytestmark = pytest.mark.integration

ISBN13 = "9780306406157"
ISBN10_OF_SAME = "0-306-40615-2"


async def expect(code: grpc.StatusCode, call: Any) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    return caught.value.details() or ""


async def test_add_book_stores_a_normalized_book(client: Client) -> None:
    book = await client.add(title="  Dune ", author="Frank Herbert", isbn="978-0-306-40615-7",
                            price_cents=1299, stock=4, description="Spice.",
                            published_year=1965)
    assert (book.title, book.isbn, book.available, book.reserved, book.sold) == (
        "Dune", ISBN13, 4, 0, 0)
    assert book.created_at.ToSeconds() > 0
    fetched = await client.stub.GetBookDetails(pb.BookIDRequest(book_id=book.id))
    assert fetched.book == book
    doc = await client.db["books"].find_one({"_id": ObjectId(book.id)})
    assert doc is not None
    assert (doc["initial_stock"], doc["added_stock"], doc["created_at"].tzinfo is not None) == (
        4, 0, True)


@pytest.mark.parametrize(("fields", "field"), [
    ({"price_cents": -1}, "price_cents"), ({"stock": -3}, "stock"),
    ({"isbn": "9780306406158"}, "isbn"), ({"isbn": "not an isbn"}, "isbn"),
    ({"title": "  "}, "title"), ({"author": ""}, "author"), ({"published_year": 1200}, "year"),
])
async def test_add_book_refuses_bad_input(
    client: Client, fields: dict[str, Any], field: str
) -> None:
    details = await expect(grpc.StatusCode.INVALID_ARGUMENT,
                           client.add(**({"isbn": fresh_isbn()} | fields)))
    assert field in details


async def test_duplicate_isbn_in_either_form_already_exists(client: Client) -> None:
    await client.add(isbn=ISBN13)
    await expect(grpc.StatusCode.ALREADY_EXISTS, client.add(isbn=ISBN13))
    await expect(grpc.StatusCode.ALREADY_EXISTS, client.add(isbn=ISBN10_OF_SAME))
    assert await client.db["books"].count_documents({}) == 1


async def test_writes_need_an_admin_token(client: Client) -> None:
    book = await client.add(isbn=fresh_isbn())
    request = pb.BookRequest(title="T", author="A", isbn=fresh_isbn(), price_cents=1, stock=1)
    update = pb.BookUpdateRequest(book_id=book.id, title="New")
    await expect(grpc.StatusCode.UNAUTHENTICATED, client.stub.AddBook(request))
    await expect(grpc.StatusCode.PERMISSION_DENIED,
                 client.stub.AddBook(request, metadata=client.customer))
    await expect(grpc.StatusCode.UNAUTHENTICATED, client.stub.UpdateBook(update))
    await expect(grpc.StatusCode.PERMISSION_DENIED,
                 client.stub.UpdateBook(update, metadata=client.customer))
    await expect(grpc.StatusCode.PERMISSION_DENIED, client.stub.CheckStockInvariant(
        pb.StockInvariantRequest(), metadata=client.customer))
    await expect(grpc.StatusCode.UNAUTHENTICATED, client.stub.AddBook(
        request, metadata=(("authorization", "Bearer forged.token.here"),)))
    unchanged = await client.stub.GetBookDetails(pb.BookIDRequest(book_id=book.id))
    assert unchanged.book.title == book.title
    assert await client.db["books"].count_documents({}) == 1


@pytest.mark.parametrize("book_id", [str(ObjectId()), "not-an-id", ""])
async def test_unknown_or_malformed_id_is_not_found(client: Client, book_id: str) -> None:
    await expect(grpc.StatusCode.NOT_FOUND,
                 client.stub.GetBookDetails(pb.BookIDRequest(book_id=book_id)))
    await expect(grpc.StatusCode.NOT_FOUND,
                 client.stub.CheckAvailability(pb.BookIDRequest(book_id=book_id)))
    await expect(grpc.StatusCode.NOT_FOUND, client.stub.UpdateBook(
        pb.BookUpdateRequest(book_id=book_id, title="x"), metadata=client.admin))


async def test_check_availability(client: Client) -> None:
    book = await client.add(isbn=fresh_isbn(), stock=3)
    default = await client.stub.CheckAvailability(pb.BookIDRequest(book_id=book.id))
    assert (default.book_id, default.in_stock, default.available, default.can_fulfil) == (
        book.id, True, 3, True)
    three = await client.stub.CheckAvailability(pb.BookIDRequest(book_id=book.id, quantity=3))
    four = await client.stub.CheckAvailability(pb.BookIDRequest(book_id=book.id, quantity=4))
    assert (three.can_fulfil, four.can_fulfil) == (True, False)
    await expect(grpc.StatusCode.INVALID_ARGUMENT, client.stub.CheckAvailability(
        pb.BookIDRequest(book_id=book.id, quantity=-1)))
    empty = await client.add(isbn=fresh_isbn(), stock=0)
    none = await client.stub.CheckAvailability(pb.BookIDRequest(book_id=empty.id))
    assert (none.in_stock, none.available, none.can_fulfil) == (False, 0, False)


async def test_update_changes_only_the_fields_given(client: Client) -> None:
    book = await client.add(isbn=fresh_isbn(), title="Old", author="Someone",
                            description="keep", published_year=2000)
    updated = (await client.stub.UpdateBook(pb.BookUpdateRequest(
        book_id=book.id, title=" New Title ", price_cents=0, published_year=0),
        metadata=client.admin)).book
    assert (updated.title, updated.price_cents, updated.published_year) == ("New Title", 0, 0)
    assert (updated.author, updated.description, updated.available) == ("Someone", "keep", 5)
    assert updated.updated_at.ToDatetime() >= book.updated_at.ToDatetime()
    doc = await client.db["books"].find_one({"_id": ObjectId(book.id)})
    assert doc is not None
    assert doc["title_lower"] == "new title"


async def test_update_refuses_bad_or_empty_changes(client: Client) -> None:
    book = await client.add(isbn=fresh_isbn())
    for request in (pb.BookUpdateRequest(book_id=book.id),
                    pb.BookUpdateRequest(book_id=book.id, price_cents=-1),
                    pb.BookUpdateRequest(book_id=book.id, author=" "),
                    pb.BookUpdateRequest(book_id=book.id, set_available=-1),
                    pb.BookUpdateRequest(book_id=book.id, published_year=99999)):
        await expect(grpc.StatusCode.INVALID_ARGUMENT,
                     client.stub.UpdateBook(request, metadata=client.admin))


async def invariant(client: Client) -> pb.StockInvariantResponse:
    return await client.stub.CheckStockInvariant(pb.StockInvariantRequest(),
                                                 metadata=client.admin)


async def test_stock_set_and_adjust_keep_the_invariant(client: Client) -> None:
    book = await client.add(isbn=fresh_isbn(), stock=5)
    # Copies held by a reservation must survive stock edits untouched.
    await client.db["books"].update_one({"_id": ObjectId(book.id)},
                                        {"$inc": {"available": -2, "reserved": 2}})

    async def update(**change: Any) -> pb.Book:
        return (await client.stub.UpdateBook(pb.BookUpdateRequest(book_id=book.id, **change),
                                             metadata=client.admin)).book

    assert (await update(set_available=10)).available == 10
    assert (await update(adjust_available=-4)).available == 6
    assert (await update(adjust_available=3)).available == 9
    after = await update(set_available=0)
    assert (after.available, after.reserved) == (0, 2)
    details = await expect(grpc.StatusCode.FAILED_PRECONDITION, update(adjust_available=-1))
    assert "0 available" in details
    doc = await client.db["books"].find_one({"_id": ObjectId(book.id)})
    assert doc is not None
    assert (doc["initial_stock"], doc["added_stock"], doc["available"], doc["reserved"]) == (
        5, -3, 0, 2)
    report = await invariant(client)
    assert (report.books_checked, list(report.violations)) == (1, [])


async def test_invariant_check_reports_broken_books(client: Client) -> None:
    good = await client.add(isbn=fresh_isbn(), stock=5)
    bad = await client.add(isbn=fresh_isbn(), stock=5)
    negative = await client.add(isbn=fresh_isbn(), stock=0)
    await client.db["books"].update_one({"_id": ObjectId(bad.id)}, {"$inc": {"sold": 1}})
    await client.db["books"].update_one({"_id": ObjectId(negative.id)},
                                        {"$inc": {"available": -1, "reserved": 1}})
    report = await invariant(client)
    assert report.books_checked == 3
    by_id = {v.book_id: v for v in report.violations}
    assert set(by_id) == {bad.id, negative.id}
    assert good.id not in by_id
    assert (by_id[bad.id].initial_plus_added, by_id[bad.id].available, by_id[bad.id].sold) == (
        5, 5, 1)
    assert (by_id[negative.id].available, by_id[negative.id].reserved) == (-1, 1)
