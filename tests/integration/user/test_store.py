"""Store details the RPC tests do not reach: index upkeep and single-use consumption."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from runtime.mongo import Document
from user.model import utc_now
from user.store import LoginFailureStore, ResetTokenStore, UserStore, object_id

pytestmark = pytest.mark.integration


async def test_changing_the_lockout_window_updates_the_ttl_index(
        mongo_db: AsyncDatabase[Document]) -> None:
    store = LoginFailureStore(mongo_db)
    await store.create_indexes(ttl_seconds=900)
    await store.create_indexes(ttl_seconds=900)  # idempotent
    await store.create_indexes(ttl_seconds=60)
    indexes = await mongo_db["login_failures"].index_information()
    assert indexes["at_ttl"]["expireAfterSeconds"] == 60


async def test_reset_token_is_consumed_once_and_not_after_expiry(
        mongo_db: AsyncDatabase[Document]) -> None:
    store = ResetTokenStore(mongo_db)
    await store.create_indexes()
    now = utc_now()
    await store.replace("u1", "hash-1", expires_at=now + timedelta(minutes=5), now=now)
    ticket = await store.find("hash-1")
    assert ticket is not None
    assert not ticket.used
    assert not await store.consume(ticket.id, now + timedelta(minutes=6))  # expired
    assert await store.consume(ticket.id, now)
    assert not await store.consume(ticket.id, now)
    used = await store.find("hash-1")
    assert used is not None
    assert used.used


async def test_malformed_ids_name_no_account(mongo_db: AsyncDatabase[Document]) -> None:
    users = UserStore(mongo_db)
    assert object_id("zz") is None
    assert object_id("65a1b2c3d4e5f60718293a4b") is not None
    assert await users.get("zz") is None
    assert await users.update("zz", {"name": "x"}, utc_now()) is None
    assert not await users.delete("zz")
