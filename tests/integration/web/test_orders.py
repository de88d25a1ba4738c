"""Cart, checkout, the order page and its live stream, history, cancel: the saga end to end
through the storefront's pages."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from starlette.testclient import TestClient

from tests.integration.web.conftest import (
    log_in_as_admin,
    order_id_of,
    order_status,
    register,
    submit,
    until_status,
)
from tests.stack import Stack
from tests.storefront import StockedBook, add_books, unique_word


def fill_cart(client: TestClient, *lines: tuple[StockedBook, int]) -> None:
    for book, quantity in lines:
        reply = submit(client, f"/books/{book.id}", "/cart/add",
                       {"book_id": book.id, "quantity": str(quantity)})
        assert reply.url.path == "/cart"


def checkout(client: TestClient, card: str = "tok_visa") -> str:
    reply = submit(client, "/cart", "/checkout", {"payment_token": card})
    assert reply.status_code == 200, reply.text
    assert "Thank you: your order is placed." in reply.text
    return order_id_of(reply)


def sse_events(body: str) -> list[tuple[str, dict[str, object]]]:
    events = []
    for block in body.split("\n\n"):
        name = re.search(r"^event: (\w+)$", block, re.M)
        data = re.search(r"^data: (.*)$", block, re.M)
        if name and data:
            events.append((name.group(1), json.loads(data.group(1))))
    return events


def test_two_books_in_the_cart_become_a_confirmed_order(shop: TestClient,
                                                        stack: Stack) -> None:
    atlas, poems = add_books(stack, (f"{unique_word()} Atlas", 1500, 5),
                             (f"{unique_word()} Poems", 700, 5))
    register(shop)
    fill_cart(shop, (atlas, 1), (poems, 2), (atlas, 1))
    cart = shop.get("/cart")
    assert f'name="quantity-{atlas.id}" type="number" min="0" max="99" value="2"' in cart.text
    assert '<td id="cart-total">44.00</td>' in cart.text
    order_id = checkout(shop)
    until_status(shop, order_id, "CONFIRMED")
    page = shop.get(f"/orders/{order_id}").text
    assert atlas.title in page
    assert poems.title in page
    assert "44.00" in page
    assert "Your cart is empty" in shop.get("/cart").text
    history = shop.get("/orders").text
    assert f'href="/orders/{order_id}"' in history


def test_a_declined_card_streams_the_order_to_cancelled_with_the_reason(
        shop: TestClient, stack: Stack) -> None:
    [book] = add_books(stack, (f"{unique_word()} Declined", 1200, 5))
    register(shop)
    fill_cart(shop, (book, 1))
    order_id = checkout(shop, "tok_declined")
    reply = shop.get(f"/orders/{order_id}/events")  # ends once the order is final
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = sse_events(reply.text)
    statuses = [data["status"] for name, data in events if name == "order"]
    assert statuses[-1] == "CANCELLED"
    final = [data for name, data in events if name == "order"][-1]
    assert "declined" in str(final["reason"])
    assert final["final"] is True
    assert events[-1][0] == "end"
    page = shop.get(f"/orders/{order_id}").text
    assert "card declined" in page


def test_an_order_beyond_the_stock_is_rejected_with_the_reason_per_line(
        shop: TestClient, stack: Stack) -> None:
    [book] = add_books(stack, (f"{unique_word()} Scarce", 1200, 1))
    register(shop)
    fill_cart(shop, (book, 3))
    order_id = checkout(shop)
    until_status(shop, order_id, "REJECTED")
    page = shop.get(f"/orders/{order_id}").text
    assert re.search(r'class="line-reason" data-book-id="[^"]+">[^<]+</span>', page)


def test_another_customers_order_is_not_found(make_shop: Callable[[], TestClient],
                                              stack: Stack) -> None:
    [book] = add_books(stack, (f"{unique_word()} Private", 800, 5))
    alice, bob = make_shop(), make_shop()
    register(alice)
    fill_cart(alice, (book, 1))
    order_id = checkout(alice)
    register(bob)
    for path in (f"/orders/{order_id}", f"/orders/{order_id}/events"):
        reply = bob.get(path)
        assert reply.status_code == 404, path
    assert "<h1>Not found</h1>" in bob.get(f"/orders/{order_id}").text
    cancel = submit(bob, "/", f"/orders/{order_id}/cancel", {})
    assert cancel.status_code == 404
    assert order_status(alice, order_id) in {"PENDING", "CONFIRMED"}


def test_a_customer_cancels_a_confirmed_order(shop: TestClient, stack: Stack) -> None:
    [book] = add_books(stack, (f"{unique_word()} Regret", 800, 5))
    register(shop)
    fill_cart(shop, (book, 1))
    order_id = checkout(shop)
    until_status(shop, order_id, "CONFIRMED")
    reply = submit(shop, f"/orders/{order_id}", f"/orders/{order_id}/cancel", {})
    assert "Your order is cancelled." in reply.text
    assert order_status(shop, order_id) == "CANCELLED"
    again = submit(shop, f"/orders/{order_id}", f"/orders/{order_id}/cancel", {})
    assert "cannot be cancelled" in again.text


def test_checkout_needs_a_login_and_keeps_the_cart(shop: TestClient, stack: Stack) -> None:
    [book] = add_books(stack, (f"{unique_word()} Anonymous", 800, 5))
    fill_cart(shop, (book, 1))
    cart = shop.get("/cart").text
    assert 'action="/checkout"' not in cart
    assert "to check out" in cart
    refused = submit(shop, "/cart", "/checkout", {"payment_token": "tok_visa"},
                     follow_redirects=False)
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/login?next=")
    register(shop)
    assert book.title in shop.get("/cart").text  # the cart survived logging in


def test_an_admin_ships_an_order(make_shop: Callable[[], TestClient], stack: Stack) -> None:
    [book] = add_books(stack, (f"{unique_word()} Shipped", 800, 5))
    customer, admin = make_shop(), make_shop()
    register(customer)
    fill_cart(customer, (book, 1))
    order_id = checkout(customer)
    until_status(customer, order_id, "CONFIRMED")
    assert "Set the status (admin)" not in customer.get(f"/orders/{order_id}").text
    forbidden = submit(customer, "/", f"/orders/{order_id}/status", {"status": "SHIPPED"})
    assert forbidden.status_code == 403
    log_in_as_admin(admin)
    found = admin.get("/admin/orders", params={"order_id": order_id})
    assert found.url.path == f"/orders/{order_id}"
    customer_id = re.search(r'href="/orders\?user_id=([^"]+)"', found.text)
    assert customer_id, "the admin sees whose order it is"
    theirs = admin.get(f"/orders?user_id={customer_id.group(1)}")
    assert f'href="/orders/{order_id}"' in theirs.text
    assert customer.get("/admin/orders", params={"order_id": order_id}).status_code == 403
    mine = customer.get("/orders", params={"user_id": "someone-else"})  # ignored: own orders
    assert f'href="/orders/{order_id}"' in mine.text
    shipped = submit(admin, f"/orders/{order_id}", f"/orders/{order_id}/status",
                     {"status": "SHIPPED", "reason": "sent by post"})
    assert "The order is now SHIPPED." in shipped.text
    assert order_status(customer, order_id) == "SHIPPED"
    assert 'id="cancel-form" hidden' in customer.get(f"/orders/{order_id}").text
