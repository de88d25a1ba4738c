"""The simulated gateway's documented decline rules."""

from __future__ import annotations

import pytest

from orders.payments import DEFAULT_LIMIT_CENTS, decline_reason


@pytest.mark.parametrize(("amount", "token", "reason"), [
    (1000, "tok_visa", ""),
    (1000, "", ""),
    (1000, "tok_transient", ""),
    (1000, "tok_declined", "card declined"),
    (1000, "tok_insufficient_funds", "insufficient funds"),
    (DEFAULT_LIMIT_CENTS, "tok_visa", ""),
    (DEFAULT_LIMIT_CENTS + 1, "tok_visa", "amount exceeds the card limit"),
])
def test_decline_rules(amount: int, token: str, reason: str) -> None:
    assert decline_reason(amount, token, DEFAULT_LIMIT_CENTS) == reason


def test_default_limit_is_one_hundred_thousand() -> None:
    assert DEFAULT_LIMIT_CENTS == 10_000_000
    assert decline_reason(501, "tok_visa", 500) == "amount exceeds the card limit"
