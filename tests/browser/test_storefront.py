"""The storefront in a real browser, over the whole stack: what a shopper sees and does."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import SAGA_WAIT_MS
from tests.browser.journey import add_to_cart, check_out, log_in, log_out, register
from tests.storefront import StockedBook, Storefront


def snap(page: Page, folder: Path | None, name: str) -> None:
    if folder is not None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_a_customer_buys_two_books_and_sees_the_order_confirmed_live(
        page: Page, shelf: tuple[str, list[StockedBook]], screenshots: Path | None) -> None:
    word, (atlas, poems) = shelf
    email = register(page, name="Ada Reader")
    log_out(page)
    log_in(page, email)

    page.get_by_role("link", name="Catalogue").click()
    page.get_by_label("Search titles and authors").fill(word)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_title(f"“{word}” in the catalogue · Bookstore")
    expect(page.get_by_role("link", name=atlas.title)).to_be_visible()
    expect(page.get_by_role("link", name=poems.title)).to_be_visible()
    snap(page, screenshots, "catalogue")

    page.get_by_role("link", name=atlas.title).click()
    expect(page.get_by_role("heading", name=atlas.title)).to_be_visible()
    expect(page.locator("#availability")).to_contain_text("in stock")
    snap(page, screenshots, "book")
    add_to_cart(page, atlas.id, 1)
    add_to_cart(page, poems.id, 2)
    expect(page.locator("#cart-total")).to_have_text("50.48")  # 24.50 + 2 * 12.99
    snap(page, screenshots, "cart")

    order_id = check_out(page)
    # Mark this document: a reload would lose the mark, so CONFIRMED must come live.
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("#order-status")).to_have_text("CONFIRMED", timeout=SAGA_WAIT_MS)
    assert page.evaluate("window.__notReloaded === true")
    expect(page.locator("#live-note")).to_have_text("This page follows the order live.")
    expect(page).to_have_title(f"Order {order_id}: CONFIRMED · Bookstore")
    snap(page, screenshots, "order-confirmed")

    page.get_by_role("link", name="Orders", exact=True).click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=order_id))
    expect(row).to_contain_text("CONFIRMED")
    expect(row).to_contain_text("50.48")
    snap(page, screenshots, "history")


def test_a_declined_card_shows_the_reason_live(
        page: Page, shelf: tuple[str, list[StockedBook]], screenshots: Path | None) -> None:
    _word, (atlas, _poems) = shelf
    register(page)
    add_to_cart(page, atlas.id, 1)
    check_out(page, "Test card: declined")
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("#order-status")).to_have_text("CANCELLED", timeout=SAGA_WAIT_MS)
    expect(page.locator("#order-reason")).to_contain_text("card declined")
    expect(page.locator("#cancel-form")).to_be_hidden()
    assert page.evaluate("window.__notReloaded === true")
    snap(page, screenshots, "order-declined")


def test_another_customers_order_url_is_not_found(
        browser: Browser, storefront: Storefront, page: Page,
        shelf: tuple[str, list[StockedBook]]) -> None:
    _word, (atlas, _poems) = shelf
    register(page, name="Owner")
    add_to_cart(page, atlas.id, 1)
    order_id = check_out(page)
    stranger = browser.new_context(base_url=storefront.url)  # cookies of its own
    try:
        other = stranger.new_page()
        register(other, name="Stranger")
        reply = other.goto(f"/orders/{order_id}")
        assert reply is not None
        assert reply.status == 404
        expect(other.get_by_role("heading", name="Not found")).to_be_visible()
        expect(other).to_have_title("Not found · Bookstore")
    finally:
        stranger.close()


def test_a_form_posted_without_its_csrf_token_is_refused(page: Page) -> None:
    register(page, name="Careful")
    page.goto("/")
    page.locator("form[action='/logout'] input[name='csrf_token']").evaluate("e => e.remove()")
    with page.expect_response(re.compile(r"/logout$")) as posted:
        page.get_by_role("button", name="Log out Careful").click()
    assert posted.value.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    page.goto("/")
    expect(page.get_by_role("button", name="Log out Careful")).to_be_visible()  # still in


def test_a_phone_width_page_works_from_the_keyboard(
        context: BrowserContext, shelf: tuple[str, list[StockedBook]],
        screenshots: Path | None) -> None:
    word, (atlas, _poems) = shelf
    page = context.new_page()
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Search titles and authors")).to_be_focused()
    page.keyboard.type(word)
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name=atlas.title)).to_be_visible()
    assert_fits(page)
    snap(page, screenshots, "catalogue-phone")
    add_to_cart(page, atlas.id, 2)
    assert_fits(page)  # the cart's table becomes stacked cards
    expect(page.get_by_label(f"Quantity of {atlas.title}")).to_have_value("2")


def assert_fits(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than a phone's screen"


def test_the_cart_is_changed_from_the_keyboard(
        page: Page, shelf: tuple[str, list[StockedBook]]) -> None:
    _word, (atlas, poems) = shelf
    add_to_cart(page, atlas.id, 1)
    add_to_cart(page, poems.id, 1)
    quantity = page.get_by_label(f"Quantity of {atlas.title}")
    quantity.fill("3")
    quantity.press("Enter")  # submits the quantities, not the first Remove button
    expect(page.get_by_text("Your cart is updated.")).to_be_visible()
    expect(page.locator("#cart-total")).to_have_text("86.49")  # 3 * 24.50 + 12.99
    page.get_by_role("button", name=f"Remove {poems.title}").click()
    expect(page.locator("#cart-total")).to_have_text("73.50")
    expect(page.get_by_role("link", name=atlas.title)).to_be_visible()
