"""The tests' own waiting helpers: they return what held, and fail saying what never did."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.waiting import blocking_until, eventually, until


async def test_returns_the_first_true_answer() -> None:
    answers: Iterator[object] = iter([None, 0, [], "ready"])
    assert await until(lambda: next(answers), 5, interval=0) == "ready"


async def test_fails_at_the_deadline_naming_what_never_happened() -> None:
    with pytest.raises(AssertionError, match=r"not within 0\.1 s: the reply"):
        await until(lambda: False, 0.1, what="the reply")


async def test_a_check_hung_past_the_deadline_is_cut_off() -> None:
    async def books_in_stock() -> bool:
        await asyncio.Event().wait()  # never answers
        return True

    with pytest.raises(AssertionError, match=r"not within 0\.1 s: books in stock"):
        await eventually(books_in_stock, 0.1)


async def test_a_timeout_inside_the_check_is_not_taken_for_the_deadline() -> None:
    async def check() -> bool:
        raise TimeoutError("the check's own call timed out")

    with pytest.raises(TimeoutError, match="own call"):
        await eventually(check, 5)


def test_blocking_until_counts_ignored_errors_as_not_yet() -> None:
    attempts: list[int] = []

    def listening() -> int | None:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionRefusedError
        return len(attempts)

    assert blocking_until(listening, 5, interval=0, ignore=(OSError,)) == 3
    with pytest.raises(AssertionError, match=r"not within 0\.05 s: the condition"):
        blocking_until(lambda: None, 0.05)
