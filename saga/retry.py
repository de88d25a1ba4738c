"""The one retry policy: exponential backoff, capped, with jitter, on tenacity.

Handler retries, the relay's publishing backoff, and a service's own calls to flaky
neighbours (a payment gateway, another service over gRPC) all wait the same way::

    async for attempt in Backoff(initial=0.05).retrying(4, retry_if=is_transient):
        with attempt:
            return await call()
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)
from tenacity.retry import retry_base

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Wait ``initial * 2**(n-1)`` seconds before try ``n + 1``, never more than ``maximum``."""

    initial: float = 0.1
    maximum: float = 5.0
    jitter: float = 0.1  # a fraction of the delay, so replicas do not retry in lockstep

    def delay(self, failures: int) -> float:
        """The wait after ``failures`` failures in a row (1 or more)."""
        base = min(self.initial * 2.0 ** max(failures - 1, 0), self.maximum)
        return base + random.uniform(0, base * self.jitter)  # noqa: S311 - not for secrets

    def retrying(
        self, max_attempts: int, *, give_up_on: tuple[type[BaseException], ...] = (),
        retry_if: Callable[[BaseException], bool] | None = None,
    ) -> AsyncRetrying:
        """A tenacity loop: up to ``max_attempts`` tries, re-raising the last failure.

        Every exception is retried except ``give_up_on`` (re-raised at once) and, when
        ``retry_if`` is given, those it does not accept. Cancellation is never retried.
        """
        # A cancelled task (shutdown, or its channel closed under it) must stay cancelled.
        retry: retry_base = retry_if_not_exception_type((asyncio.CancelledError, *give_up_on))
        if retry_if is not None:
            retry = retry & retry_if_exception(retry_if)
        return AsyncRetrying(
            stop=stop_after_attempt(max_attempts),
            wait=wait_exponential(multiplier=self.initial, max=self.maximum)
            + wait_random(0, self.initial * self.jitter),
            retry=retry,
            before_sleep=_log_retry,
            reraise=True,
        )


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning(
        "retrying after failure",
        extra={"attempt": state.attempt_number, "error": describe(exc),
               "wait_s": round(state.upcoming_sleep, 3)},
    )


def describe(exc: BaseException | None) -> str:
    """``Type: message``, as dead-lettered messages carry it in ``x-error``."""
    if exc is None:
        return ""
    return f"{type(exc).__name__}: {exc}"[:1000]
