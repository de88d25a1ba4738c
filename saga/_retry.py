"""Backoff policy shared by handler retries and the relay: exponential, capped, with jitter."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

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
        self, max_attempts: int, *, give_up_on: tuple[type[BaseException], ...] = ()
    ) -> AsyncRetrying:
        """A tenacity loop: up to ``max_attempts`` tries, at once re-raising ``give_up_on``."""
        return AsyncRetrying(
            stop=stop_after_attempt(max_attempts),
            wait=wait_exponential(multiplier=self.initial, max=self.maximum)
            + wait_random(0, self.initial * self.jitter),
            # A cancelled task (shutdown, or its channel closed under it) must stay cancelled.
            retry=retry_if_not_exception_type((asyncio.CancelledError, *give_up_on)),
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
