"""Login throttling keyed by client address and email: an attacker cannot lock the owner out.

Each caller reaches the server from its own loopback address (127.0.0.N) through a forwarder,
so the server sees distinct peers, as it would for distinct machines.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from runtime.settings import SettingsError
from tests.integration.user.conftest import (
    MAX_FAILURES,
    From,
    Harness,
    Stub,
    login,
    register,
    rpc_error,
)
from user.config import UserSettings

pytestmark = pytest.mark.integration

EMAIL_MAX_FAILURES = 2 * MAX_FAILURES + 1
WRONG = "wrong-password"


@pytest.fixture
def user_settings(tmp_path: Path, environ: Callable[..., None]) -> UserSettings:
    return UserSettings.load(data_dir=tmp_path, token_ttl_seconds=600, bcrypt_rounds=4,
                             login_max_failures=MAX_FAILURES,
                             login_email_max_failures=EMAIL_MAX_FAILURES, login_delay_seconds=1)


async def fail_until_locked(harness: Harness, stub: Stub) -> None:
    """Guess wrong ``MAX_FAILURES`` times, waiting out each growing delay in between."""
    for failures in range(MAX_FAILURES):
        error = await rpc_error(login(stub, password=WRONG))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        harness.clock.advance(seconds=2**failures)


async def test_attacker_is_throttled_while_the_owner_logs_in_from_elsewhere(
    harness: Harness, from_address: From,
) -> None:
    await register(harness.stub)
    attacker, owner = await from_address("127.0.0.2"), await from_address("127.0.0.3")
    await fail_until_locked(harness, attacker)
    locked = await rpc_error(login(attacker))  # even the right password
    assert locked.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "from your address" in (locked.details() or "")
    assert (await login(owner)).access_token
    # The owner's success clears only the owner's record: the attacker stays locked.
    assert (await rpc_error(login(attacker))).code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    stored = await harness.db["login_failures"].distinct("client")
    assert stored == ["127.0.0.2"]


async def test_each_failure_doubles_the_wait_from_that_address(
    harness: Harness, from_address: From,
) -> None:
    await register(harness.stub)
    attacker, owner = await from_address("127.0.0.4"), await from_address("127.0.0.5")
    for wait in (1, 2):
        assert (await rpc_error(login(attacker, password=WRONG))).code() == (
            grpc.StatusCode.UNAUTHENTICATED)
        early = await rpc_error(login(attacker, password=WRONG))
        assert early.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert f"try again in {wait} s" in (early.details() or "")
        assert (await login(owner)).access_token  # no wait for anyone else
        harness.clock.advance(seconds=wait)
    assert (await login(attacker)).access_token  # the wait is over


async def test_the_per_email_ceiling_trips_only_under_many_addresses(
    harness: Harness, from_address: From,
) -> None:
    await register(harness.stub)
    owner = await from_address("127.0.0.10")
    for n in (11, 12):  # two addresses, each at its own limit: below the ceiling
        await fail_until_locked(harness, await from_address(f"127.0.0.{n}"))
    assert (await login(owner)).access_token
    third = await from_address("127.0.0.13")
    assert (await rpc_error(login(third, password=WRONG))).code() == (
        grpc.StatusCode.UNAUTHENTICATED)  # the ceiling's failure
    locked = await rpc_error(login(owner))
    assert locked.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "for this email;" in (locked.details() or "")
    # until the oldest counted failure, 14 s before (two addresses' waits), is 15 min old
    assert "try again in 14 min 46 s" in (locked.details() or "")


def test_the_ceiling_must_be_above_the_per_address_limit(environ: Callable[..., None]) -> None:
    environ(BOOKSTORE_LOGIN_MAX_FAILURES="5", BOOKSTORE_LOGIN_EMAIL_MAX_FAILURES="5")
    with pytest.raises(SettingsError, match="LOGIN_EMAIL_MAX_FAILURES"):
        UserSettings.load()
