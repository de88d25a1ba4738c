"""bcrypt hashing at the lowest cost, through the worker thread."""

from __future__ import annotations

import time

from user.passwords import PasswordHasher

PASSWORD = "correct horse battery"


async def test_hash_roundtrip() -> None:
    hasher = PasswordHasher(rounds=4)
    stored = await hasher.hash(PASSWORD)
    assert stored.startswith("$2b$04$")
    assert PASSWORD not in stored
    assert await hasher.verify(PASSWORD, stored)
    assert not await hasher.verify(PASSWORD + "!", stored)


async def test_hashes_are_salted() -> None:
    hasher = PasswordHasher(rounds=4)
    assert await hasher.hash(PASSWORD) != await hasher.hash(PASSWORD)


async def test_unknown_account_is_checked_against_a_dummy_and_refused() -> None:
    assert not await PasswordHasher(rounds=4).verify(PASSWORD, None)


async def test_overlong_candidate_is_refused_not_truncated() -> None:
    hasher = PasswordHasher(rounds=4)
    stored = await hasher.hash("a" * 72)
    assert await hasher.verify("a" * 72, stored)
    assert not await hasher.verify("a" * 73, stored)


async def test_multibyte_passwords_roundtrip() -> None:
    hasher = PasswordHasher(rounds=4)
    password = "пароль-密码-🔑"
    assert await hasher.verify(password, await hasher.hash(password))


async def test_unknown_account_costs_as_much_as_a_wrong_password() -> None:
    hasher = PasswordHasher(rounds=8)  # slow enough to measure, fast enough for a unit test
    stored = await hasher.hash(PASSWORD)
    await hasher.verify(PASSWORD, None)  # the dummy hash is made on first use

    async def fastest(stored_hash: str | None) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            await hasher.verify("wrong password", stored_hash)
            times.append(time.perf_counter() - started)
        return min(times)

    wrong_password, unknown_account = await fastest(stored), await fastest(None)
    assert unknown_account > wrong_password / 2
