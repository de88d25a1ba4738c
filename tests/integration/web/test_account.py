"""Register, log in, log out: the token stays server-side, the cookie is an opaque id."""

from __future__ import annotations

from collections.abc import Callable

from starlette.testclient import TestClient

from client.web._sessions import COOKIE_NAME
from tests.integration.web.conftest import PASSWORD, new_shop, register, submit
from tests.stack import Stack
from tests.storefront import csrf_token


def test_register_logs_the_new_customer_in(shop: TestClient) -> None:
    register(shop, name="Ada Lovelace")
    home = shop.get("/")
    assert "Log out Ada Lovelace" in home.text
    assert 'href="/orders"' in home.text
    assert "Add a book" not in home.text  # a customer is no admin


def test_the_session_cookie_is_httponly_samesite_and_renewed_at_login(shop: TestClient) -> None:
    first = shop.get("/")
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http here
    before = shop.cookies[COOKIE_NAME]
    email = register(shop)
    after = shop.cookies[COOKIE_NAME]
    assert after != before  # a session id planted before log-in is worthless after it
    token_like = [value for value in (before, after) if "." in value]
    assert token_like == []  # an opaque id, not a JWT
    assert email not in shop.get("/").headers.get("set-cookie", "")


def test_the_cookie_is_secure_over_https(stack: Stack) -> None:
    with new_shop(stack) as client:
        client.base_url = "https://shop.test"
        assert "; Secure" in client.get("/").headers["set-cookie"]


def test_a_wrong_password_shows_the_form_again_with_the_reason(shop: TestClient) -> None:
    email = register(shop)
    submit(shop, "/", "/logout", {})
    reply = submit(shop, "/login", "/login", {"email": email, "password": "not the password"})
    assert reply.status_code == 400
    assert 'id="form-error"' in reply.text
    assert f'value="{email}"' in reply.text  # the email is kept, the password is not
    assert "not the password" not in reply.text


def test_log_out_then_log_in_again(shop: TestClient) -> None:
    email = register(shop, name="Grace Hopper")
    out = submit(shop, "/", "/logout", {})
    assert "You are logged out." in out.text
    assert "Log out Grace Hopper" not in out.text
    assert shop.get("/orders", follow_redirects=False).status_code == 303
    back = submit(shop, "/login?next=%2Forders", "/login",
                  {"email": email, "password": PASSWORD, "next": "/orders"})
    assert back.url.path == "/orders"
    assert "<title>Your orders · Bookstore</title>" in back.text


def test_log_in_never_redirects_off_site(shop: TestClient) -> None:
    email = register(shop)
    submit(shop, "/", "/logout", {})
    reply = submit(shop, "/login", "/login",
                   {"email": email, "password": PASSWORD, "next": "//evil.example/"},
                   follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/"


def test_registering_an_email_twice_says_so(shop: TestClient) -> None:
    email = register(shop)
    submit(shop, "/", "/logout", {})
    reply = submit(shop, "/register", "/register",
                   {"name": "Again", "email": email, "password": PASSWORD})
    assert reply.status_code == 400
    assert 'id="form-error"' in reply.text


def test_a_form_without_its_csrf_token_is_refused(shop: TestClient) -> None:
    email = register(shop)
    no_token = shop.post("/logout", data={})
    assert no_token.status_code == 403
    assert "not sent from this site" in no_token.text
    wrong = shop.post("/logout", data={"csrf_token": "forged"})
    assert wrong.status_code == 403
    assert "Log out" in shop.get("/").text  # still logged in: nothing happened
    assert email  # the account exists; only the forged posts failed


def test_another_sessions_token_is_refused(make_shop: Callable[[], TestClient]) -> None:
    mallory, alice = make_shop(), make_shop()
    register(alice)
    mallorys = csrf_token(mallory.get("/login").text)
    reply = alice.post("/logout", data={"csrf_token": mallorys})
    assert reply.status_code == 403
