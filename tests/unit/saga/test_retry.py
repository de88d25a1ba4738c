"""The backoff policy: growth, cap, jitter bounds, and which failures are retried."""

from __future__ import annotations

import asyncio

import pytest
from tenacity import AsyncRetrying

from saga.errors import PoisonMessage
from saga.retry import Backoff, describe

NO_WAIT = Backoff(initial=0.0, maximum=0.0)


def test_delay_doubles_up_to_the_cap_with_bounded_jitter() -> None:
    backoff = Backoff(initial=0.1, maximum=1.0, jitter=0.1)
    for failures, base in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (30, 1.0)]:
        delay = backoff.delay(failures)
        assert base <= delay <= base * 1.1


async def keep_failing(retrying: AsyncRetrying, error: BaseException, tries: list[int]) -> None:
    async for attempt in retrying:
        with attempt:
            tries.append(attempt.retry_state.attempt_number)
            raise error


async def test_retrying_stops_after_max_attempts_and_reraises() -> None:
    tries: list[int] = []
    with pytest.raises(ConnectionError):
        await keep_failing(NO_WAIT.retrying(3), ConnectionError("down"), tries)
    assert tries == [1, 2, 3]


async def test_give_up_on_is_not_retried() -> None:
    tries: list[int] = []
    with pytest.raises(PoisonMessage):
        await keep_failing(NO_WAIT.retrying(5, give_up_on=(PoisonMessage,)),
                           PoisonMessage("never"), tries)
    assert tries == [1]


async def test_cancellation_is_never_retried() -> None:
    tries: list[int] = []
    with pytest.raises(asyncio.CancelledError):
        await keep_failing(NO_WAIT.retrying(5), asyncio.CancelledError(), tries)
    assert tries == [1]


def test_describe_names_the_type_and_caps_the_length() -> None:
    assert describe(ValueError("bad")) == "ValueError: bad"
    assert describe(None) == ""
    assert len(describe(RuntimeError("x" * 5000))) == 1000


async def test_retry_if_limits_what_is_retried() -> None:
    tries: list[int] = []
    only_timeouts = NO_WAIT.retrying(5, retry_if=lambda e: isinstance(e, TimeoutError))
    with pytest.raises(ValueError, match="bad"):
        await keep_failing(only_timeouts, ValueError("bad"), tries)
    assert tries == [1]
    tries.clear()
    with pytest.raises(TimeoutError):
        await keep_failing(NO_WAIT.retrying(3, retry_if=lambda e: isinstance(e, TimeoutError)),
                           TimeoutError("slow"), tries)
    assert tries == [1, 2, 3]
