"""Shared fixtures: real infrastructure, one fresh database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from runtime.mongo import Document, make_client
from tests.infrastructure import amqp_server, mongo_server
from tests.stack import Stack, running_stack


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Replace every ``BOOKSTORE_*`` variable of this process with the ones given, for one
    test: settings read the process environment."""
    for name in [n for n in os.environ if n.startswith("BOOKSTORE_")]:
        monkeypatch.delenv(name)

    def set_env(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return set_env


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    with mongo_server() as url:
        yield url


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    with amqp_server() as url:
        yield url


@pytest.fixture
def database_name() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def mongo_db(mongo_url: str, database_name: str) -> AsyncIterator[AsyncDatabase[Document]]:
    """A database no other test sees, dropped afterwards."""
    client = make_client(mongo_url)
    try:
        yield client[database_name]
        await client.drop_database(database_name)
    finally:
        await client.close()


@pytest.fixture(scope="session")
def stack(mongo_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Stack]:
    """The three services as real processes, shared by every suite that drives the whole
    system (three interpreters are not cheap to start per test)."""
    with running_stack(mongo_url, amqp_url, tmp_path_factory.mktemp("stack")) as running:
        yield running
