"""Logging in, throttling failed logins, tokens, and changing a password."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.bookstore.user.v1 import user_pb2
from runtime.auth import Role, TokenIssuer, TokenVerifier
from runtime.keys import load_private_key, load_public_key
from tests.integration.user.conftest import (
    MAX_FAILURES,
    PASSWORD,
    Harness,
    Stub,
    bearer,
    login,
    register,
    register_and_login,
    rpc_error,
)

pytestmark = pytest.mark.integration


async def test_login_returns_a_verifiable_bearer_token(harness: Harness) -> None:
    user = await register(harness.stub)
    auth = await login(harness.stub, "  ADA@example.com ")
    assert auth.token_type == "Bearer"
    assert auth.user == user
    principal = TokenVerifier(load_public_key(harness.settings)).verify(auth.access_token)
    assert (principal.user_id, principal.role) == (user.id, Role.CUSTOMER)
    expires = auth.expires_at.ToDatetime(tzinfo=UTC)
    assert abs(expires - (datetime.now(UTC) + timedelta(seconds=600))) < timedelta(seconds=30)


async def test_wrong_password_and_unknown_email_look_the_same(stub: Stub) -> None:
    await register(stub)
    wrong_password = await rpc_error(login(stub, "ada@example.com", "not-the-password"))
    unknown_email = await rpc_error(login(stub, "nobody@example.com", PASSWORD))
    assert wrong_password.code() == unknown_email.code() == grpc.StatusCode.UNAUTHENTICATED
    assert wrong_password.details() == unknown_email.details()


async def test_failures_lock_the_email_even_for_the_right_password(harness: Harness) -> None:
    stub = harness.stub
    await register(stub)
    for _ in range(MAX_FAILURES):
        error = await rpc_error(login(stub, password="wrong-password"))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    locked = await rpc_error(login(stub))
    assert locked.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "try again in 15 min" in (locked.details() or "")
    # Refused attempts do not extend the lock: once the window passes, login works.
    harness.clock.advance(minutes=15, seconds=1)
    assert (await login(stub)).access_token


async def test_unknown_emails_are_throttled_the_same_way(stub: Stub) -> None:
    for _ in range(MAX_FAILURES):
        error = await rpc_error(login(stub, "Ghost@Example.com", "whatever-pass"))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    locked = await rpc_error(login(stub, "ghost@example.com ", "whatever-pass"))
    assert locked.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_lock_is_per_email(stub: Stub) -> None:
    await register(stub, "ada@example.com")
    await register(stub, "bob@example.com")
    for _ in range(MAX_FAILURES):
        await rpc_error(login(stub, "ada@example.com", "wrong-password"))
    assert (await login(stub, "bob@example.com")).access_token


async def test_success_clears_earlier_failures(harness: Harness) -> None:
    stub = harness.stub
    await register(stub)
    for _ in range(MAX_FAILURES - 1):
        await rpc_error(login(stub, password="wrong-password"))
    await login(stub)
    assert await harness.db["login_failures"].count_documents({}) == 0
    for _ in range(MAX_FAILURES - 1):
        await rpc_error(login(stub, password="wrong-password"))
    assert (await login(stub)).access_token


async def test_concurrent_guesses_cannot_exceed_the_limit(stub: Stub) -> None:
    await register(stub)
    results = await asyncio.gather(
        *(login(stub, password=f"guess-{i:04d}") for i in range(10)), return_exceptions=True)
    codes = [r.code() for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(codes) == 10
    assert codes.count(grpc.StatusCode.UNAUTHENTICATED) <= MAX_FAILURES
    assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) >= 10 - MAX_FAILURES


async def test_failures_collection_is_indexed_with_a_ttl(harness: Harness) -> None:
    indexes = await harness.db["login_failures"].index_information()
    keys = {tuple(k for k, _ in spec["key"]): spec for spec in indexes.values()}
    assert ("email", "at") in keys
    assert keys[("at",)]["expireAfterSeconds"] == harness.settings.login_lockout_seconds


async def test_expired_token_is_unauthenticated(harness: Harness) -> None:
    user = await register(harness.stub)
    issuer = TokenIssuer(load_private_key(harness.settings), timedelta(minutes=5))
    stale = issuer.issue(user.id, Role.CUSTOMER, now=datetime.now(UTC) - timedelta(hours=1))
    error = await rpc_error(harness.stub.GetUser(user_pb2.UserIDRequest(user_id=user.id),
                                                 metadata=bearer(stale.token)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "expired" in (error.details() or "")


async def test_token_from_another_key_is_unauthenticated(stub: Stub) -> None:
    user = await register(stub)
    forged = TokenIssuer(Ed25519PrivateKey.generate(), timedelta(minutes=5))
    token = forged.issue(user.id, Role.ADMIN).token
    error = await rpc_error(stub.GetUser(user_pb2.UserIDRequest(user_id=user.id),
                                         metadata=bearer(token)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_change_password(stub: Stub) -> None:
    user, token = await register_and_login(stub)
    await stub.ChangePassword(user_pb2.ChangePasswordRequest(
        user_id=user.id, current_password=PASSWORD, new_password="brand-new-pass"),
        metadata=bearer(token))
    assert (await rpc_error(login(stub))).code() == grpc.StatusCode.UNAUTHENTICATED
    assert (await login(stub, password="brand-new-pass")).access_token


async def test_change_password_needs_the_current_one(stub: Stub) -> None:
    user, token = await register_and_login(stub)
    error = await rpc_error(stub.ChangePassword(user_pb2.ChangePasswordRequest(
        user_id=user.id, current_password="not-it-at-all", new_password="brand-new-pass"),
        metadata=bearer(token)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert (await login(stub)).access_token


async def test_change_password_validates_the_new_one(stub: Stub) -> None:
    user, token = await register_and_login(stub)
    error = await rpc_error(stub.ChangePassword(user_pb2.ChangePasswordRequest(
        user_id=user.id, current_password=PASSWORD, new_password="é" * 36 + "a"),
        metadata=bearer(token)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith("new_password:")
    assert (await login(stub)).access_token


async def test_malformed_login_requests_are_invalid(stub: Stub) -> None:
    for email, password in (("not-an-email", PASSWORD), ("ada@example.com", "")):
        error = await rpc_error(login(stub, email, password))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
