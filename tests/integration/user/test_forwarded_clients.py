"""A front end trusted to name its visitors: throttling counts each visitor's address, not the
front end's, and nobody else can pick the address they are counted under.

The front end and an untrusted caller reach the server from their own loopback addresses
(127.0.0.N) through a forwarder; visitors' addresses travel as ``x-forwarded-for``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from contracts.bookstore.user.v1 import user_pb2
from runtime.settings import SettingsError
from tests.integration.user.conftest import (
    MAX_FAILURES,
    PASSWORD,
    From,
    Harness,
    Stub,
    register,
    rpc_error,
)
from user.config import UserSettings

pytestmark = pytest.mark.integration

FRONT_END = "127.0.0.20"
ELSEWHERE = "127.0.0.21"
WRONG = "wrong-password"


@pytest.fixture
def user_settings(tmp_path: Path, environ: Callable[..., None]) -> UserSettings:
    environ(BOOKSTORE_TRUSTED_PROXIES=f"{FRONT_END}/32, 192.0.2.0/24")
    return UserSettings.load(data_dir=tmp_path, token_ttl_seconds=600, bcrypt_rounds=4,
                             login_max_failures=MAX_FAILURES, login_delay_seconds=0)


async def login_for(stub: Stub, visitor: str, password: str = PASSWORD
                    ) -> user_pb2.AuthResponse:
    return await stub.AuthenticateUser(
        user_pb2.UserAuthRequest(email="ada@example.com", password=password), timeout=10,
        metadata=(("x-forwarded-for", visitor),))


async def test_one_visitor_locked_out_leaves_the_owner_free_on_the_same_front_end(
    harness: Harness, from_address: From,
) -> None:
    await register(harness.stub)
    front_end = await from_address(FRONT_END)
    for _ in range(MAX_FAILURES):
        error = await rpc_error(login_for(front_end, "203.0.113.7", WRONG))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    locked = await rpc_error(login_for(front_end, "203.0.113.7"))
    assert locked.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert (await login_for(front_end, "198.51.100.9")).access_token  # the owner, elsewhere
    assert await harness.db["login_failures"].distinct("client") == ["203.0.113.7"]


async def test_an_untrusted_caller_cannot_choose_the_address_it_is_counted_under(
    harness: Harness, from_address: From,
) -> None:
    await register(harness.stub)
    intruder = await from_address(ELSEWHERE)
    for n in range(MAX_FAILURES):  # a fresh claimed address for every guess
        error = await rpc_error(login_for(intruder, f"203.0.113.{n + 1}", WRONG))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    locked = await rpc_error(login_for(intruder, "203.0.113.99"))
    assert locked.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert await harness.db["login_failures"].distinct("client") == [ELSEWHERE]


async def test_the_last_forwarded_address_counts_and_a_bad_one_is_refused(
    harness: Harness, from_address: From,
) -> None:
    await register(harness.stub)
    front_end = await from_address(FRONT_END)
    # A visitor's own claim first, then the address the front end saw: the latter counts.
    await rpc_error(login_for(front_end, "10.9.9.9, 203.0.113.50", WRONG))
    assert await harness.db["login_failures"].distinct("client") == ["203.0.113.50"]
    bad = await rpc_error(login_for(front_end, "not-an-address"))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "x-forwarded-for" in (bad.details() or "")


def test_trusted_proxies_are_networks(tmp_path: Path, environ: Callable[..., None]) -> None:
    environ(BOOKSTORE_TRUSTED_PROXIES="10.0.0.0/8,::1")
    assert [str(n) for n in UserSettings.load(data_dir=tmp_path).trusted_proxies] == [
        "10.0.0.0/8", "::1/128"]
    environ(BOOKSTORE_TRUSTED_PROXIES="10.0.0.0/8,storefront")
    with pytest.raises(SettingsError, match="BOOKSTORE_TRUSTED_PROXIES"):
        UserSettings.load(data_dir=tmp_path)
