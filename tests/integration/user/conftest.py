"""The user service served in-process on a real port, reached through a real channel."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeAlias

import grpc
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.user.v1 import user_pb2, user_pb2_grpc
from runtime.mongo import Document
from runtime.server import GrpcServer
from tests.integration.user.source_address import forwarder
from user.app import UserService, build
from user.config import UserSettings
from user.model import utc_now

Stub: TypeAlias = "user_pb2_grpc.UserServiceAsyncStub"  # exists in the stubs only
PASSWORD = "s3cret-passphrase"
MAX_FAILURES = 3


class FakeClock:
    """The service's clock for stored timestamps, moved forward by tests instead of waiting."""

    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Harness:
    stub: Stub
    service: UserService
    db: AsyncDatabase[Document]
    settings: UserSettings
    clock: FakeClock
    mail_dir: Path
    address: str  # where the server listens, for callers that reach it another way


@pytest.fixture
def user_settings(tmp_path: Path, environ: Callable[..., None]) -> UserSettings:
    # No growing delay here: these tests count failures; test_throttling.py covers delays.
    return UserSettings.load(data_dir=tmp_path, token_ttl_seconds=600, bcrypt_rounds=4,
                             login_max_failures=MAX_FAILURES, login_delay_seconds=0)


@pytest.fixture
async def harness(mongo_db: AsyncDatabase[Document],
                  user_settings: UserSettings) -> AsyncIterator[Harness]:
    clock = FakeClock()
    service = await build(mongo_db, user_settings, clock=clock)
    server = GrpcServer("127.0.0.1:0", [service.binding()])
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            yield Harness(user_pb2_grpc.UserServiceStub(channel), service, mongo_db,
                          user_settings, clock, user_settings.mail_dir, server.address)
    finally:
        await server.stop(0)


@pytest.fixture
def stub(harness: Harness) -> Stub:
    return harness.stub


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def register(stub: Stub, email: str = "ada@example.com", *, name: str = "Ada Lovelace",
                   password: str = PASSWORD) -> user_pb2.User:
    response = await stub.CreateUser(
        user_pb2.UserRequest(name=name, email=email, password=password), timeout=10)
    return response.user


async def login(stub: Stub, email: str = "ada@example.com",
                password: str = PASSWORD) -> user_pb2.AuthResponse:
    return await stub.AuthenticateUser(
        user_pb2.UserAuthRequest(email=email, password=password), timeout=10)


async def register_and_login(stub: Stub, email: str = "ada@example.com",
                             ) -> tuple[user_pb2.User, str]:
    user = await register(stub, email)
    return user, (await login(stub, email)).access_token


async def make_admin(harness: Harness, email: str = "root@example.com") -> tuple[str, str]:
    """An admin account's id and a fresh token for it."""
    user, _ = await harness.service.accounts.ensure_admin(email, "Root", PASSWORD)
    return user.id, (await login(harness.stub, email)).access_token


async def rpc_error(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    """The error a call ends with; fails the test if it succeeds."""
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc
    pytest.fail("the call succeeded but should have failed")


From = Callable[[str], Awaitable[Stub]]


@pytest.fixture
async def from_address(harness: Harness) -> AsyncIterator[From]:
    """``await from_address("127.0.0.N")``: a stub whose calls reach the server from there."""
    async with contextlib.AsyncExitStack() as stack:
        async def stub_from(source: str) -> Stub:
            address = await stack.enter_async_context(forwarder(harness.address, source))
            channel = await stack.enter_async_context(grpc.aio.insecure_channel(address))
            return user_pb2_grpc.UserServiceStub(channel)

        yield stub_from
