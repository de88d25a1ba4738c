"""Steps a shopper takes, written once for every browser test."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

PASSWORD = "a long password"


def register(page: Page, name: str = "Browser Customer") -> str:
    email = f"browser-{uuid.uuid4().hex[:12]}@shop.example"
    page.goto("/register")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("button", name=f"Log out {name}")).to_be_visible()
    return email


def log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()


def add_to_cart(page: Page, book_id: str, quantity: int) -> None:
    page.goto(f"/books/{book_id}")
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/cart$"))


def check_out(page: Page, card_label: str = "Test card: approved") -> str:
    """Pay with the test card; returns the new order's id from the page it lands on."""
    page.goto("/cart")
    page.get_by_label(card_label).check()
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_text("Thank you: your order is placed.")).to_be_visible()
    order_id = page.locator("#order").get_attribute("data-order-id")
    assert order_id
    return order_id
