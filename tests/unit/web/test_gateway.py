"""The storefront's own logic with the services replaced by a fake client: each gRPC status
its page, CSRF on every form, escaping, redirects that stay on the site."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any, Self

import grpc
import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from client import (
    AuthenticationError,
    BookPage,
    BookstoreClient,
    BookstoreClientError,
    ConflictError,
    DeadlineExceededError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceUnavailableError,
)
from client._models import Availability, Book
from client.web import WebConfig, create_app
from client.web._account import safe_next
from client.web._app import ROUTES
from tests.storefront import csrf_token
from tests.unit.client.test_imports import SERVER_SIDE

BOOK = Book(id="b1", title="Dune <b>bold</b>", author="Frank & Co", isbn="9780441172719",
            price_cents=1250, available=3)


class FakeClient:
    """Answers from memory; ``failure`` (if set) is raised by every call instead."""

    def __init__(self) -> None:
        self.failure: BookstoreClientError | None = None
        self.tokens: list[str | None] = []
        self.addresses: list[str | None] = []

    def acting_as(self, token: str | None, user_id: str | None, *,
                  address: str | None = None) -> Self:
        self.tokens.append(token)
        self.addresses.append(address)
        return self

    def _answer(self, value: Any) -> Any:
        if self.failure is not None:
            raise self.failure
        return value

    async def list_books(self, **_: Any) -> BookPage:
        return self._answer(BookPage([BOOK], ""))  # type: ignore[no-any-return]

    async def search_books(self, query: str, **_: Any) -> BookPage:
        return self._answer(BookPage([BOOK], ""))  # type: ignore[no-any-return]

    async def get_book(self, book_id: str) -> Book:
        if book_id != BOOK.id:
            raise NotFoundError(f"no book {book_id}")
        return self._answer(BOOK)  # type: ignore[no-any-return]

    async def check_availability(self, book_id: str, quantity: int = 1) -> Availability:
        return self._answer(Availability(book_id=book_id, in_stock=True, available=3))  # type: ignore[no-any-return]


@pytest.fixture
def fake() -> FakeClient:
    return FakeClient()


@pytest.fixture
def shop(fake: FakeClient) -> Iterator[TestClient]:
    app = create_app(WebConfig.from_env({}), client=fake)  # type: ignore[arg-type]
    with TestClient(app, base_url="http://shop.test") as client:
        yield client


@pytest.mark.parametrize(("failure", "status", "heading"), [
    (NotFoundError("no such book"), 404, "Not found"),
    (PermissionDeniedError("admins only"), 403, "Not allowed"),
    (InvalidArgumentError("bad id"), 400, "That request was not valid"),
    (ConflictError("exists"), 409, "That clashes with something already there"),
    (FailedPreconditionError("too late"), 409, "Not possible right now"),
    (RateLimitedError("slow down"), 429, "Too many attempts"),
    (DeadlineExceededError("slow"), 504, "A service took too long"),
    (ServiceUnavailableError("cannot reach the inventory service at 10.0.0.1:50052",
                             service="inventory", address="10.0.0.1:50052"),
     503, "A service is unavailable"),
    (BookstoreClientError("odd", code=grpc.StatusCode.UNIMPLEMENTED), 502,
     "A service failed"),
])
def test_each_grpc_status_has_its_own_page(shop: TestClient, fake: FakeClient,
                                           failure: BookstoreClientError, status: int,
                                           heading: str) -> None:
    fake.failure = failure
    reply = shop.get("/books/b1")
    assert reply.status_code == status
    assert f"<h1>{heading}</h1>" in reply.text
    assert f"<title>{heading} · Bookstore</title>" in reply.text
    assert "10.0.0.1" not in reply.text  # addresses are for operators, not visitors


def test_an_expired_login_sends_the_visitor_to_log_in_again(shop: TestClient,
                                                            fake: FakeClient) -> None:
    fake.failure = AuthenticationError("token expired")
    reply = shop.get("/books/b1?x=1", follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/login?next=%2Fbooks%2Fb1%3Fx%3D1"


def test_service_text_is_escaped(shop: TestClient) -> None:
    for path in ("/", "/books/b1"):
        body = shop.get(path).text
        assert "<b>bold</b>" not in body
        assert "Dune &lt;b&gt;bold&lt;/b&gt;" in body
        assert "Frank &amp; Co" in body


def test_every_post_route_refuses_a_missing_or_wrong_csrf_token(shop: TestClient) -> None:
    posts = [route.path.replace("{book_id}", "b1").replace("{order_id}", "o1")
             for route in ROUTES if isinstance(route, Route) and "POST" in (route.methods or ())]
    assert "/checkout" in posts
    assert len(posts) >= 10
    for path in posts:
        assert shop.post(path, data={}).status_code == 403, path
        assert shop.post(path, data={"csrf_token": "forged"}).status_code == 403, path


def test_a_form_with_the_sessions_token_goes_through(shop: TestClient) -> None:
    token = csrf_token(shop.get("/books/b1").text)
    reply = shop.post("/cart/add", data={"csrf_token": token, "book_id": "b1",
                                         "quantity": "2"})
    assert reply.status_code == 200
    assert reply.url.path == "/cart"
    assert 'value="2"' in reply.text
    assert "25.00" in reply.text


def test_a_quantity_that_is_no_whole_number_is_a_400(shop: TestClient) -> None:
    token = csrf_token(shop.get("/books/b1").text)
    for bad in ("-1", "1.5", "100", "two"):
        reply = shop.post("/cart/add", data={"csrf_token": token, "book_id": "b1",
                                             "quantity": bad})
        assert reply.status_code == 400, bad


def test_anonymous_calls_carry_no_token(shop: TestClient, fake: FakeClient) -> None:
    shop.get("/")
    assert fake.tokens == [None]


def test_pages_carry_a_strict_content_security_policy(shop: TestClient) -> None:
    policy = shop.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


@pytest.mark.parametrize(("target", "kept"), [
    ("/orders", "/orders"), ("/books/1?x=2", "/books/1?x=2"), ("//evil.example", "/"),
    ("https://evil.example/", "/"), ("/\\evil.example", "/"), ("", "/"),
])
def test_log_in_returns_only_to_a_path_on_this_site(target: str, kept: str) -> None:
    assert safe_next(target) == kept


def test_the_address_comes_from_bookstore_web_addr() -> None:
    assert WebConfig.from_env({}).host_and_port == ("127.0.0.1", 8080)
    assert WebConfig.from_env({"BOOKSTORE_WEB_ADDR": "0.0.0.0:9000"}).host_and_port == \
        ("0.0.0.0", 9000)
    with pytest.raises(InvalidArgumentError, match="BOOKSTORE_WEB_ADDR"):
        WebConfig.from_env({"BOOKSTORE_WEB_ADDR": "no port"})


async def test_the_shared_client_acts_for_each_caller_over_the_same_channels() -> None:
    async with BookstoreClient(WebConfig.from_env({})) as shared:
        alice = shared.acting_as("alice-token", "alice")
        assert alice.token == "alice-token"
        assert alice.user_id == "alice"
        assert shared.token is None
        assert shared.user_id is None
        assert alice._transport.channel("user") is shared._transport.channel("user")
        assert ("x-forwarded-for", "203.0.113.9") not in alice._transport.metadata()
        visitor = shared.acting_as(None, None, address="203.0.113.9")
        assert ("x-forwarded-for", "203.0.113.9") in visitor._transport.metadata()


def test_the_storefront_loads_no_server_side_module() -> None:
    check = ("import client.web, client.web.__main__, sys; "
             f"print(sorted(m for m in {SERVER_SIDE!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.strip() == "[]"


def test_logs_are_one_json_object_a_line_like_the_services() -> None:
    script = ("import logging, logging.config; from client.web._logging import log_config; "
              "logging.config.dictConfig(log_config('json', 'INFO')); "
              "logging.getLogger('uvicorn.access').info('GET / 200'); "
              "logging.getLogger('uvicorn.access').debug('hidden')")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True, timeout=60)
    (line,) = result.stderr.splitlines()
    record = json.loads(line)
    assert record["message"] == "GET / 200"
    assert record["service"] == "web"
    assert record["level"] == "INFO"
    assert record["logger"] == "uvicorn.access"
    with pytest.raises(InvalidArgumentError, match="BOOKSTORE_LOG_FORMAT"):
        WebConfig.from_env({"BOOKSTORE_LOG_FORMAT": "xml"})


def test_each_call_names_the_visitors_address(fake: FakeClient) -> None:
    app = create_app(WebConfig.from_env({}), client=fake)  # type: ignore[arg-type]
    with TestClient(app, base_url="http://shop.test", client=("203.0.113.5", 50000)) as shop:
        assert shop.get("/").status_code == 200
    assert fake.addresses
    assert set(fake.addresses) == {"203.0.113.5"}
