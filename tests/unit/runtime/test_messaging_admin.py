"""The messaging admin's pure parts: page tokens, argument checks, the dead-letter gauge."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from runtime import messaging_admin
from runtime.errors import InvalidArgument
from saga import Topology
from tests.integration.saga.helpers import eventually


class CountingOperations:
    """As much of SagaOperations as the gauge reads."""

    def __init__(self) -> None:
        self.topology = Topology("test-gauge", "orders")
        self.kept = 3

    async def dead_letter_count(self) -> int:
        return self.kept


def kept_on_gauge() -> float | None:
    return REGISTRY.get_sample_value("bookstore_dead_letters",
                                     {"queue": "test-gauge.orders.dead"})


async def test_the_gauge_follows_the_dead_letters_kept() -> None:
    ops = CountingOperations()
    task = asyncio.create_task(
        messaging_admin.follow_dead_letters(ops, interval=0.01))  # type: ignore[arg-type]

    async def shows(count: float) -> bool:
        return kept_on_gauge() == count

    try:
        await eventually(lambda: shows(3), within=5)
        ops.kept = 0
        await eventually(lambda: shows(0), within=5)
    finally:
        task.cancel()


def test_a_page_token_resumes_where_the_last_page_ended() -> None:
    at = datetime(2026, 5, 1, 9, 30, 0, 123000, tzinfo=UTC)
    token = messaging_admin.encode_token((at, "m-1"), "q")
    assert messaging_admin.decode_token(token, "q") == (at, "m-1")
    assert messaging_admin.decode_token("", "q") is None
    with pytest.raises(InvalidArgument, match="page_token"):
        messaging_admin.decode_token(token, "another query")
    with pytest.raises(InvalidArgument, match="page_token"):
        messaging_admin.decode_token("not a token!", "q")


@pytest.mark.parametrize("value", ["", "   ", "x" * 201])
def test_an_id_that_names_nothing_is_refused(value: str) -> None:
    with pytest.raises(InvalidArgument, match=r"^id: "):
        messaging_admin.record_id(value)
