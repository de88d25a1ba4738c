"""bcrypt hashing at the lowest cost, through the worker thread."""

from __future__ import annotations

import bcrypt
import pytest

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


async def test_unknown_account_costs_as_much_as_a_wrong_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not timed: each way of being refused runs exactly one bcrypt check, against a hash of
    the configured cost, and that check is the whole cost of a verification."""
    hasher = PasswordHasher(rounds=5)
    stored = await hasher.hash(PASSWORD)
    await hasher.verify(PASSWORD, None)  # the dummy hash is made on first use
    checked: list[bytes] = []  # the hash each bcrypt check ran against
    check = bcrypt.checkpw

    def counting_check(password: bytes, hashed: bytes) -> bool:
        checked.append(hashed)
        return check(password, hashed)

    def no_hashing(password: bytes, salt: bytes) -> bytes:
        raise AssertionError("a verification hashed something")

    monkeypatch.setattr(bcrypt, "checkpw", counting_check)
    monkeypatch.setattr(bcrypt, "hashpw", no_hashing)

    async def checks_run(password: str, stored_hash: str | None) -> list[int]:
        """The cost of each bcrypt check one refused verification ran."""
        checked.clear()
        assert not await hasher.verify(password, stored_hash)
        return [int(hashed.split(b"$")[2]) for hashed in checked]

    assert await checks_run("wrong password", stored) == [5]
    assert await checks_run("wrong password", None) == [5]  # unknown account
    assert await checks_run("a" * 73, stored) == [5]  # longer than any stored password
