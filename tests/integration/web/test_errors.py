"""Each failure a page of its own: the service away, headers every response carries."""

from __future__ import annotations

from starlette.testclient import TestClient

from client.web import WebConfig, create_app
from client.web._middleware import CONTENT_SECURITY_POLICY
from tests.stack import Stack, free_port
from tests.storefront import web_env


def test_a_service_that_is_away_is_a_503_page(stack: Stack) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    config = WebConfig.from_env(web_env(stack, BOOKSTORE_INVENTORY_ADDR=nowhere,
                                        BOOKSTORE_CLIENT_RETRY_ATTEMPTS="1",
                                        BOOKSTORE_CLIENT_TIMEOUT="3"))
    with TestClient(create_app(config)) as shop:
        reply = shop.get("/")
        assert reply.status_code == 503
        assert "<h1>A service is unavailable</h1>" in reply.text
        assert nowhere not in reply.text  # no addresses shown to visitors
        assert shop.get("/login").status_code == 200  # the rest of the shop still answers


def test_every_page_carries_the_security_headers(shop: TestClient) -> None:
    for path in ("/", "/login", "/books/000000000000000000000000", "/static/style.css"):
        reply = shop.get(path)
        assert reply.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["x-frame-options"] == "DENY"


def test_the_probe_answers_without_a_session(shop: TestClient) -> None:
    reply = shop.get("/healthz")
    assert reply.text == "ok"
    assert "set-cookie" not in reply.headers
