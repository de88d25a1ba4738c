"""The first admin account, made from configuration at start-up."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from contracts.bookstore.user.v1 import user_pb2
from runtime.auth import Role
from tests.integration.user.conftest import PASSWORD, Harness, login, register
from user.accounts import AdminOutcome
from user.app import bootstrap_admin

pytestmark = pytest.mark.integration


async def test_nothing_happens_without_configuration(harness: Harness) -> None:
    assert await bootstrap_admin(harness.service.accounts, harness.settings) is None
    assert await harness.db["users"].count_documents({}) == 0


async def test_bootstrap_creates_then_leaves_the_admin_alone(harness: Harness) -> None:
    config = harness.settings.model_copy(update={
        "admin_email": "Root@Example.com", "admin_password": SecretStr(PASSWORD)})
    assert await bootstrap_admin(harness.service.accounts, config) is AdminOutcome.CREATED
    assert await bootstrap_admin(harness.service.accounts, config) is AdminOutcome.UNCHANGED
    auth = await login(harness.stub, "root@example.com")
    assert auth.user.role == user_pb2.ROLE_ADMIN
    assert await harness.db["users"].count_documents({}) == 1


async def test_bootstrap_promotes_an_existing_account_and_keeps_its_password(
        harness: Harness) -> None:
    await register(harness.stub, "ada@example.com")
    config = harness.settings.model_copy(update={
        "admin_email": "ada@example.com", "admin_password": SecretStr("a-different-password")})
    assert await bootstrap_admin(harness.service.accounts, config) is AdminOutcome.PROMOTED
    auth = await login(harness.stub, "ada@example.com", PASSWORD)
    assert auth.user.role == user_pb2.ROLE_ADMIN


async def test_admin_created_with_a_bad_password_is_refused(harness: Harness) -> None:
    with pytest.raises(Exception, match="password: must be at least 8"):
        await harness.service.accounts.ensure_admin("root@example.com", "Root", "short")
    assert await harness.db["users"].count_documents({}) == 0


async def test_new_users_are_customers(harness: Harness) -> None:
    user = await register(harness.stub)
    stored = await harness.service.accounts.get(user.id)
    assert stored.role is Role.CUSTOMER
