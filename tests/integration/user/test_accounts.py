"""Registering, reading, changing and deleting accounts, and who may do so."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

from contracts.bookstore.user.v1 import user_pb2
from tests.integration.user.conftest import (
    PASSWORD,
    Harness,
    Stub,
    bearer,
    make_admin,
    register,
    register_and_login,
    rpc_error,
)

pytestmark = pytest.mark.integration


async def test_create_user_returns_the_account(stub: Stub) -> None:
    user = await register(stub, "  Ada@Example.COM ", name="  Ada Lovelace ")
    assert len(user.id) == 24
    assert (user.name, user.email, user.role) == (
        "Ada Lovelace", "ada@example.com", user_pb2.ROLE_CUSTOMER)
    created = user.created_at.ToDatetime(tzinfo=UTC)
    assert abs(created - datetime.now(UTC)) < timedelta(minutes=1)
    assert user.updated_at == user.created_at


async def test_stored_document_holds_a_bcrypt_hash_not_the_password(harness: Harness) -> None:
    await register(harness.stub)
    doc = await harness.db["users"].find_one({"email": "ada@example.com"})
    assert doc is not None
    assert doc["password_hash"].startswith("$2b$04$")
    assert PASSWORD not in str(doc)


async def test_duplicate_email_is_refused_whatever_its_case(harness: Harness) -> None:
    await register(harness.stub, "ada@example.com")
    error = await rpc_error(register(harness.stub, " ADA@example.com"))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert await harness.db["users"].count_documents({}) == 1


async def test_concurrent_registrations_of_one_email_let_exactly_one_through(
        harness: Harness) -> None:
    results = await asyncio.gather(
        *(register(harness.stub, f"{' ' * i}Race@Example.com") for i in range(6)),
        return_exceptions=True)
    successes = [r for r in results if isinstance(r, user_pb2.User)]
    failures = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(successes) == 1
    assert len(failures) == 5
    assert {f.code() for f in failures} == {grpc.StatusCode.ALREADY_EXISTS}
    assert await harness.db["users"].count_documents({"email": "race@example.com"}) == 1


@pytest.mark.parametrize(("name", "email", "password", "field"), [
    ("", "ada@example.com", PASSWORD, "name"),
    ("Ada", "not-an-email", PASSWORD, "email"),
    ("Ada", "ada@example.com", "1234567", "password"),
    ("Ada", "ada@example.com", "é" * 36 + "a", "password"),  # 73 bytes
])
async def test_invalid_registration_names_the_field_and_stores_nothing(
        harness: Harness, name: str, email: str, password: str, field: str) -> None:
    error = await rpc_error(register(harness.stub, email, name=name, password=password))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith(f"{field}:")
    assert await harness.db["users"].count_documents({}) == 0


@pytest.mark.parametrize("name", [
    "نیما مهدی\u200cزاده",  # noqa: RUF001 (ZWNJ, as Persian is spelled)
    "\U0001F469\u200D\U0001F4BB Ada",  # an emoji ZWJ sequence
])
async def test_names_with_joiners_are_registered_as_written(stub: Stub, name: str) -> None:
    user = await register(stub, name=name)
    assert user.name == name


async def test_name_with_a_bidirectional_override_is_refused(harness: Harness) -> None:
    error = await rpc_error(register(harness.stub, name="Ada \u202eecilA"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith("name:")
    assert "bidirectional" in (error.details() or "")
    assert await harness.db["users"].count_documents({}) == 0


async def test_73_byte_password_error_names_the_limit(stub: Stub) -> None:
    error = await rpc_error(register(stub, password="é" * 36 + "a"))
    assert "72 bytes" in (error.details() or "")


async def test_get_own_account(stub: Stub) -> None:
    user, token = await register_and_login(stub)
    got = await stub.GetUser(user_pb2.UserIDRequest(user_id=user.id), metadata=bearer(token))
    assert got.user == user


async def test_update_name_only_keeps_email(harness: Harness) -> None:
    stub = harness.stub
    user, token = await register_and_login(stub)
    harness.clock.advance(seconds=5)
    updated = (await stub.UpdateUser(user_pb2.UserUpdateRequest(user_id=user.id, name=" Ada L. "),
                                     metadata=bearer(token))).user
    assert (updated.name, updated.email) == ("Ada L.", "ada@example.com")
    assert updated.created_at == user.created_at
    assert updated.updated_at.ToDatetime() > user.updated_at.ToDatetime()


async def test_update_email_is_normalized_and_stays_unique(stub: Stub) -> None:
    user, token = await register_and_login(stub)
    await register(stub, "taken@example.com")
    updated = (await stub.UpdateUser(
        user_pb2.UserUpdateRequest(user_id=user.id, email=" New@Example.com"),
        metadata=bearer(token))).user
    assert updated.email == "new@example.com"
    error = await rpc_error(stub.UpdateUser(
        user_pb2.UserUpdateRequest(user_id=user.id, email="TAKEN@example.com"),
        metadata=bearer(token)))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_update_with_nothing_set_is_invalid(stub: Stub) -> None:
    user, token = await register_and_login(stub)
    error = await rpc_error(stub.UpdateUser(user_pb2.UserUpdateRequest(user_id=user.id),
                                            metadata=bearer(token)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_update_with_empty_name_is_invalid(stub: Stub) -> None:
    user, token = await register_and_login(stub)
    error = await rpc_error(stub.UpdateUser(
        user_pb2.UserUpdateRequest(user_id=user.id, name="  "), metadata=bearer(token)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith("name:")


async def test_delete_own_account(harness: Harness) -> None:
    stub = harness.stub
    user, token = await register_and_login(stub)
    await stub.DeleteUser(user_pb2.UserIDRequest(user_id=user.id), metadata=bearer(token))
    assert await harness.db["users"].count_documents({}) == 0
    error = await rpc_error(stub.GetUser(user_pb2.UserIDRequest(user_id=user.id),
                                         metadata=bearer(token)))
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_customer_cannot_touch_another_account(harness: Harness) -> None:
    stub = harness.stub
    _, token = await register_and_login(stub, "ada@example.com")
    other = await register(stub, "bob@example.com")
    calls: list[Awaitable[Any]] = [
        stub.GetUser(user_pb2.UserIDRequest(user_id=other.id), metadata=bearer(token)),
        stub.UpdateUser(user_pb2.UserUpdateRequest(user_id=other.id, name="Mallory"),
                        metadata=bearer(token)),
        stub.DeleteUser(user_pb2.UserIDRequest(user_id=other.id), metadata=bearer(token)),
        stub.ChangePassword(user_pb2.ChangePasswordRequest(
            user_id=other.id, current_password=PASSWORD, new_password="another-pass"),
            metadata=bearer(token)),
    ]
    for call in calls:
        assert (await rpc_error(call)).code() == grpc.StatusCode.PERMISSION_DENIED
    doc = await harness.db["users"].find_one({"email": "bob@example.com"})
    assert doc is not None
    assert doc["name"] == "Ada Lovelace"  # register()'s default name, unchanged


async def test_customer_probing_unknown_ids_learns_nothing(stub: Stub) -> None:
    _, token = await register_and_login(stub)
    for user_id in ("65a1b2c3d4e5f60718293a4b", "not-an-id"):
        error = await rpc_error(stub.GetUser(user_pb2.UserIDRequest(user_id=user_id),
                                             metadata=bearer(token)))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_admin_can_read_update_and_delete_any_account(harness: Harness) -> None:
    stub = harness.stub
    _, admin_token = await make_admin(harness)
    user = await register(stub)
    got = await stub.GetUser(user_pb2.UserIDRequest(user_id=user.id), metadata=bearer(admin_token))
    assert got.user.email == "ada@example.com"
    updated = await stub.UpdateUser(user_pb2.UserUpdateRequest(user_id=user.id, name="Countess"),
                                    metadata=bearer(admin_token))
    assert updated.user.name == "Countess"
    await stub.DeleteUser(user_pb2.UserIDRequest(user_id=user.id), metadata=bearer(admin_token))
    assert await harness.db["users"].count_documents({"_id": {"$exists": True}}) == 1


async def test_admin_cannot_change_another_users_password(harness: Harness) -> None:
    _, admin_token = await make_admin(harness)
    user = await register(harness.stub)
    error = await rpc_error(harness.stub.ChangePassword(user_pb2.ChangePasswordRequest(
        user_id=user.id, current_password=PASSWORD, new_password="another-pass"),
        metadata=bearer(admin_token)))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("user_id", ["65a1b2c3d4e5f60718293a4b", "not-an-object-id"])
async def test_unknown_or_malformed_id_is_not_found(harness: Harness, user_id: str) -> None:
    _, admin_token = await make_admin(harness)
    for call in (harness.stub.GetUser, harness.stub.DeleteUser):
        error = await rpc_error(call(user_pb2.UserIDRequest(user_id=user_id),
                                     metadata=bearer(admin_token)))
        assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_empty_user_id_is_invalid_and_named(stub: Stub) -> None:
    _, token = await register_and_login(stub)
    error = await rpc_error(stub.GetUser(user_pb2.UserIDRequest(), metadata=bearer(token)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "user_id" in (error.details() or "")


async def test_calls_without_a_token_are_unauthenticated(stub: Stub) -> None:
    user = await register(stub)
    calls: list[Awaitable[Any]] = [
        stub.GetUser(user_pb2.UserIDRequest(user_id=user.id)),
        stub.UpdateUser(user_pb2.UserUpdateRequest(user_id=user.id, name="x")),
        stub.DeleteUser(user_pb2.UserIDRequest(user_id=user.id)),
        stub.ChangePassword(user_pb2.ChangePasswordRequest(user_id=user.id)),
        stub.GetUser(user_pb2.UserIDRequest(user_id=user.id),
                     metadata=(("authorization", "Basic abc"),)),
    ]
    for call in calls:
        assert (await rpc_error(call)).code() == grpc.StatusCode.UNAUTHENTICATED
