"""Forgotten passwords: a mailed single-use token sets a new one."""

from __future__ import annotations

import asyncio
import email
import re
from pathlib import Path

import grpc
import pytest

from contracts.bookstore.user.v1 import user_pb2
from tests.integration.user.conftest import (
    MAX_FAILURES,
    PASSWORD,
    Harness,
    Stub,
    login,
    register,
    rpc_error,
)
from user.mailer import newest_mail

pytestmark = pytest.mark.integration

NEW_PASSWORD = "a-fresh-passphrase"


async def request_token(harness: Harness, address: str = "ada@example.com") -> str:
    await harness.stub.RequestPasswordReset(user_pb2.PasswordResetRequest(email=address))
    return mailed_token(harness.mail_dir, address)


def mailed_token(mail_dir: Path, address: str) -> str:
    path = newest_mail(mail_dir, address)
    assert path is not None, f"no mail for {address} in {mail_dir}"
    message = email.message_from_bytes(path.read_bytes())
    assert message["To"] == address
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(r"^    (\S+)$", body.decode(), re.MULTILINE)
    assert found is not None
    return found.group(1)


def reset(stub: Stub, token: str, password: str = NEW_PASSWORD,
          address: str = "ada@example.com") -> grpc.aio.UnaryUnaryCall[
              user_pb2.ResetPasswordRequest, user_pb2.ResetPasswordResponse]:
    return stub.ResetPassword(user_pb2.ResetPasswordRequest(
        email=address, reset_token=token, new_password=password))


async def test_reset_flow_sets_the_new_password(harness: Harness) -> None:
    await register(harness.stub)
    token = await request_token(harness, "ada@example.com")
    stored = await harness.db["password_resets"].find_one({})
    assert stored is not None
    assert token not in str(stored)  # only the hash is kept
    await reset(harness.stub, token, address=" ADA@example.com")
    assert (await rpc_error(login(harness.stub))).code() == grpc.StatusCode.UNAUTHENTICATED
    assert (await login(harness.stub, password=NEW_PASSWORD)).access_token


async def test_unknown_email_gets_the_same_answer_and_no_mail(harness: Harness) -> None:
    response = await harness.stub.RequestPasswordReset(
        user_pb2.PasswordResetRequest(email="nobody@example.com"))
    assert response == user_pb2.PasswordResetResponse()
    assert newest_mail(harness.mail_dir, "nobody@example.com") is None
    assert await harness.db["password_resets"].count_documents({}) == 0


async def test_token_works_once(harness: Harness) -> None:
    await register(harness.stub)
    token = await request_token(harness)
    await reset(harness.stub, token)
    error = await rpc_error(reset(harness.stub, token, "yet-another-pass"))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "already used" in (error.details() or "")
    assert (await login(harness.stub, password=NEW_PASSWORD)).access_token


async def test_concurrent_use_of_one_token_lets_one_through(harness: Harness) -> None:
    await register(harness.stub)
    token = await request_token(harness)
    results = await asyncio.gather(
        *(reset(harness.stub, token, f"racing-pass-{i}") for i in range(5)),
        return_exceptions=True)
    winners = [r for r in results if isinstance(r, user_pb2.ResetPasswordResponse)]
    losers = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(winners) == 1
    assert {e.code() for e in losers} == {grpc.StatusCode.UNAUTHENTICATED}


async def test_expired_token_fails(harness: Harness) -> None:
    await register(harness.stub)
    token = await request_token(harness)
    harness.clock.advance(seconds=harness.settings.reset_token_ttl_seconds + 1)
    assert (await rpc_error(reset(harness.stub, token))).code() == grpc.StatusCode.UNAUTHENTICATED
    assert (await login(harness.stub)).access_token


async def test_newer_token_replaces_the_older(harness: Harness) -> None:
    await register(harness.stub)
    first = await request_token(harness)
    second = await request_token(harness)
    assert first != second
    assert (await rpc_error(reset(harness.stub, first))).code() == grpc.StatusCode.UNAUTHENTICATED
    await reset(harness.stub, second)


async def test_token_is_bound_to_its_email(harness: Harness) -> None:
    await register(harness.stub, "ada@example.com")
    await register(harness.stub, "bob@example.com")
    token = await request_token(harness, "ada@example.com")
    error = await rpc_error(reset(harness.stub, token, address="bob@example.com"))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    await reset(harness.stub, token)  # a refused attempt does not burn it


async def test_wrong_token_fails(harness: Harness) -> None:
    await register(harness.stub)
    await request_token(harness)
    error = await rpc_error(reset(harness.stub, "made-up-token"))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_invalid_new_password_keeps_the_token_usable(harness: Harness) -> None:
    await register(harness.stub)
    token = await request_token(harness)
    error = await rpc_error(reset(harness.stub, token, "é" * 36 + "a"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    await reset(harness.stub, token)


async def test_reset_clears_the_login_lock(harness: Harness) -> None:
    await register(harness.stub)
    for _ in range(MAX_FAILURES):
        await rpc_error(login(harness.stub, password="wrong-password"))
    assert (await rpc_error(login(harness.stub))).code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    await reset(harness.stub, await request_token(harness))
    assert (await login(harness.stub, password=NEW_PASSWORD)).access_token


async def test_empty_token_is_invalid(harness: Harness) -> None:
    error = await rpc_error(reset(harness.stub, ""))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith("reset_token:")


async def test_deleting_the_account_retires_its_tokens(harness: Harness) -> None:
    user = await register(harness.stub)
    await request_token(harness)
    await harness.service.accounts.delete(user.id)
    assert await harness.db["password_resets"].count_documents({}) == 0


async def test_password_kept_after_reset_request_until_used(harness: Harness) -> None:
    await register(harness.stub)
    await request_token(harness)
    assert (await login(harness.stub, password=PASSWORD)).access_token
