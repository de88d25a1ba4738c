"""The storefront app in-process (Starlette's TestClient) against the services as processes.

Each test gets a fresh app, so fresh sessions; the services come from the session ``stack``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from client.web import WebConfig, create_app
from tests.stack import ADMIN_EMAIL, ADMIN_PASSWORD, Stack
from tests.storefront import csrf_token, fresh_email, web_env

PASSWORD = "a long password"
STATUS = re.compile(r'id="order-status"[^>]*>([A-Z]+)<')


def new_shop(stack: Stack, **env: str) -> TestClient:
    config = WebConfig.from_env(web_env(stack, **env))
    return TestClient(create_app(config), base_url="http://shop.test")


@pytest.fixture
def shop(stack: Stack) -> Iterator[TestClient]:
    with new_shop(stack) as client:
        yield client


@pytest.fixture
def make_shop(stack: Stack) -> Iterator[Callable[[], TestClient]]:
    """More visitors at once, each with a storefront of its own (a TestClient runs the app
    on an event loop of its own, and the gRPC channels belong to one loop)."""
    clients: list[TestClient] = []

    def make() -> TestClient:
        client = new_shop(stack)
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def submit(client: TestClient, page: str, action: str, data: dict[str, str],
           **kwargs: bool) -> httpx.Response:
    """Post a form the way a browser does: with the CSRF token from the page it is on."""
    token = csrf_token(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **data}, **kwargs)  # type: ignore[arg-type]


def register(client: TestClient, name: str = "Web Customer") -> str:
    email = fresh_email()
    reply = submit(client, "/register", "/register",
                   {"name": name, "email": email, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    assert f"Log out {name}" in reply.text
    return email


def log_in_as_admin(client: TestClient) -> None:
    reply = submit(client, "/login", "/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert "Add a book" in reply.text


def order_status(client: TestClient, order_id: str) -> str:
    reply = client.get(f"/orders/{order_id}")
    assert reply.status_code == 200, reply.text
    found = STATUS.search(reply.text)
    assert found, reply.text
    return found.group(1)


def until_status(client: TestClient, order_id: str, wanted: str, within: float = 60) -> None:
    """Reload the order's page until it shows ``wanted`` (the saga runs on its own time)."""
    deadline = time.monotonic() + within
    while (seen := order_status(client, order_id)) != wanted:
        assert time.monotonic() < deadline, f"order {order_id} stayed {seen}, not {wanted}"
        time.sleep(0.2)


def order_id_of(reply: httpx.Response) -> str:
    path = reply.url.path
    assert path.startswith("/orders/"), f"not an order page: {reply.url}"
    return path.removeprefix("/orders/")
