"""Saga fixtures: a unique broker prefix per test (torn down after), databases, participants."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractRobustConnection
from pymongo.asynchronous.database import AsyncDatabase

from runtime.mongo import Document, make_client
from saga import SagaParticipant, Subscriptions
from tests.integration.saga.helpers import EVENTS, FAST

pytestmark = pytest.mark.integration


@pytest.fixture
def prefix() -> str:
    return f"test.{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def broker(amqp_url: str) -> AsyncIterator[AbstractRobustConnection]:
    """A plain connection for the test's own publishing and peeking."""
    connection = await aio_pika.connect_robust(amqp_url)
    yield connection
    await connection.close()


@pytest.fixture
async def make_db(mongo_url: str) -> AsyncIterator[Callable[[], AsyncDatabase[Document]]]:
    """Fresh databases (one per service, as in production), dropped afterwards."""
    client = make_client(mongo_url)
    names: list[str] = []

    def make() -> AsyncDatabase[Document]:
        names.append(f"test_saga_{uuid.uuid4().hex[:10]}")
        return client[names[-1]]

    yield make
    for name in names:
        await client.drop_database(name)
    await client.close()


@pytest.fixture
async def participant(
    amqp_url: str, prefix: str, broker: AbstractRobustConnection
) -> AsyncIterator[Callable[..., SagaParticipant]]:
    """Builds participants with fast test timings; deletes what their topology declared."""
    services: set[str] = set()

    def build(service: str, db: AsyncDatabase[Document], subscriptions: Subscriptions | None = None,
              **options: Any) -> SagaParticipant:
        services.add(service)
        options.setdefault("retry_backoff", FAST)
        options.setdefault("relay_poll_interval", 0.2)
        options.setdefault("relay_backoff", FAST)
        options.setdefault("events", EVENTS)
        return SagaParticipant(service=service, db=db, amqp_url=amqp_url,
                               subscriptions=subscriptions or {}, prefix=prefix, **options)

    yield build
    channel = await broker.channel()
    for service in services:
        for queue in (f"{prefix}.{service}", f"{prefix}.{service}.dead"):
            await channel.queue_delete(queue)
        await channel.exchange_delete(f"{prefix}.{service}.dead")
    await channel.exchange_delete(f"{prefix}.events")
    await channel.close()


