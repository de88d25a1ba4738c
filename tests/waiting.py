"""Waiting for a condition in tests: polled with a deadline, never a fixed sleep.

For state that sends no notification (a database, a queue, another process). Where something
can be awaited (an event, a condition, a task), await it instead. The sleep between two checks
only paces the polling; the deadline alone decides failure, with a message saying what never
happened.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

T = TypeVar("T")

WAIT = 15.0  # seconds one expectation may take before the test fails
POLL = 0.05  # seconds between two checks


async def eventually(check: Callable[[], Awaitable[T | None]], within: float = WAIT, *,
                     what: str | None = None, interval: float = POLL) -> T:
    """Await ``check`` until it returns something true, and return that; a check still
    running at the deadline is cancelled. Fails with ``what`` (or the check's name)."""
    deadline = asyncio.timeout(within)
    try:
        async with deadline:
            while True:
                if result := await check():
                    return result
                await asyncio.sleep(interval)
    except TimeoutError:
        if not deadline.expired():
            raise  # the check's own, not the deadline
        raise AssertionError(f"not within {within} s: {what or _name(check)}") from None


async def until(condition: Callable[[], T | None], within: float = WAIT, *,
                what: str | None = None, interval: float = POLL) -> T:
    """:func:`eventually` for a plain (not awaitable) condition, in an async test."""

    async def check() -> T | None:
        return condition()

    return await eventually(check, within, what=what or _name(condition), interval=interval)


def blocking_until(condition: Callable[[], T | None], within: float = WAIT, *,
                   what: str | None = None, interval: float = POLL,
                   ignore: tuple[type[BaseException], ...] = ()) -> T:
    """:func:`until` for a synchronous test: blocks the thread between checks. A check that
    raises one of ``ignore`` (say, OSError while a server is not listening yet) counts as
    false."""
    deadline = time.monotonic() + within
    while True:
        try:
            if result := condition():
                return result
        except ignore:
            pass
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {within} s: {what or _name(condition)}")
        time.sleep(interval)


async def until_serving(channel: grpc.aio.Channel, process: asyncio.subprocess.Process,
                        output: Callable[[], str], *, name: str, service: str = "",
                        within: float = 30) -> None:
    """Poll a started server's health until it answers SERVING; fails with the process's
    ``output`` as soon as it exits, or at the deadline."""
    health = health_pb2_grpc.HealthStub(channel)

    async def serving() -> bool:
        if process.returncode is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{output()}")
        try:
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=1)
        except grpc.aio.AioRpcError:
            return False  # not listening yet
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    try:
        await eventually(serving, within, interval=0.1)
    except AssertionError:
        pytest.fail(f"{name} did not serve within {within} s:\n{output()}")


def _name(check: Callable[[], object]) -> str:
    name = getattr(check, "__name__", "")
    return "the condition" if name in ("", "<lambda>") else name.replace("_", " ")
