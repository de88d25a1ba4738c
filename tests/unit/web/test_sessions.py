"""Server-side sessions: ids that expire, a bounded store, ids renewed at log-in, CSRF."""

from __future__ import annotations

import pytest

from client.web._middleware import session_cookie
from client.web._sessions import SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_session_is_found_by_its_id_until_it_sits_idle_too_long(clock: Clock) -> None:
    store = SessionStore(idle_seconds=60, max_sessions=10, clock=clock)
    visitor = store.create()
    clock.now += 59
    assert store.get(visitor.id) is visitor
    clock.now += 59  # used a moment ago: still alive
    assert store.get(visitor.id) is visitor
    clock.now += 61
    assert store.get(visitor.id) is None
    assert len(store) == 0


def test_unknown_and_missing_ids_find_nothing(clock: Clock) -> None:
    store = SessionStore(idle_seconds=60, max_sessions=10, clock=clock)
    store.create()
    assert store.get(None) is None
    assert store.get("") is None
    assert store.get("made-up") is None


def test_the_least_recently_used_session_goes_first_beyond_the_limit(clock: Clock) -> None:
    store = SessionStore(idle_seconds=600, max_sessions=2, clock=clock)
    first, second = store.create(), store.create()
    clock.now += 1
    assert store.get(first.id) is first  # first is now the most recently used
    third = store.create()
    assert len(store) == 2
    assert store.get(second.id) is None
    assert store.get(first.id) is first
    assert store.get(third.id) is third


def test_renewing_keeps_the_cart_under_new_ids_and_forgets_the_old(clock: Clock) -> None:
    store = SessionStore(idle_seconds=600, max_sessions=10, clock=clock)
    before = store.create()
    before.cart["book-1"] = 2
    after = store.renew(before)
    assert after.id != before.id
    assert after.csrf_token != before.csrf_token
    assert after.cart == {"book-1": 2}
    assert store.get(before.id) is None
    assert store.get(after.id) is after


def test_ids_and_tokens_are_long_and_unguessable(clock: Clock) -> None:
    store = SessionStore(idle_seconds=600, max_sessions=100, clock=clock)
    visitors = [store.create() for _ in range(50)]
    assert len({v.id for v in visitors}) == 50
    assert min(len(v.id) for v in visitors) >= 40
    assert len({v.csrf_token for v in visitors}) == 50


def test_csrf_matches_only_its_own_token(clock: Clock) -> None:
    visitor = SessionStore(idle_seconds=600, max_sessions=10, clock=clock).create()
    assert visitor.csrf_matches(visitor.csrf_token)
    assert not visitor.csrf_matches("")
    assert not visitor.csrf_matches(visitor.csrf_token[:-1])
    assert not visitor.csrf_matches("é" + visitor.csrf_token)


def test_log_in_and_out(clock: Clock) -> None:
    visitor = SessionStore(idle_seconds=600, max_sessions=10, clock=clock).create()
    assert not visitor.logged_in
    visitor.log_in("token", "user-1", "Ada", is_admin=True)
    assert visitor.logged_in
    assert visitor.is_admin
    visitor.log_out()
    assert not visitor.logged_in
    assert visitor.access_token is None
    assert not visitor.is_admin


def test_flashes_are_shown_once(clock: Clock) -> None:
    visitor = SessionStore(idle_seconds=600, max_sessions=10, clock=clock).create()
    visitor.flash("one")
    visitor.flash("two")
    assert visitor.take_flashes() == ["one", "two"]
    assert visitor.take_flashes() == []


def test_the_cookie_is_httponly_lax_and_secure_only_over_https() -> None:
    plain = session_cookie("abc", secure=False)
    assert plain == "bookstore_session=abc; Path=/; HttpOnly; SameSite=Lax"
    assert session_cookie("abc", secure=True) == plain + "; Secure"
