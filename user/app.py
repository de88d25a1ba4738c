"""Assembles the user service from its parts; shared by ``python -m user`` and the tests."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.user.v1 import user_pb2_grpc
from runtime.auth import TokenIssuer, TokenVerifier
from runtime.health import Dependency
from runtime.keys import load_private_key, load_public_key
from runtime.mongo import Document, open_database, ping_probe
from runtime.server import GrpcServer, ServiceBinding, serve
from runtime.settings import Settings
from user.accounts import Accounts, AdminOutcome
from user.config import UserConfig
from user.credentials import Credentials
from user.lockout import LoginThrottle
from user.mailer import FileMailer, Mailer
from user.model import Clock, utc_now
from user.passwords import PasswordHasher
from user.service import SERVICE_NAME, UserServicer
from user.store import LoginFailureStore, ResetTokenStore, UserStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UserService:
    accounts: Accounts
    credentials: Credentials
    servicer: UserServicer

    def binding(self) -> ServiceBinding:
        return ServiceBinding(SERVICE_NAME, self.servicer,
                              user_pb2_grpc.add_UserServiceServicer_to_server)


async def build(db: AsyncDatabase[Document], settings: Settings, config: UserConfig, *,
                mailer: Mailer | None = None, clock: Clock = utc_now) -> UserService:
    """Wire the service to ``db`` and make sure its indexes exist."""
    users, failures, resets = UserStore(db), LoginFailureStore(db), ResetTokenStore(db)
    await users.create_indexes()
    await failures.create_indexes(ttl_seconds=config.login_lockout_seconds)
    await resets.create_indexes()
    hasher = PasswordHasher(config.bcrypt_rounds)
    accounts = Accounts(users, resets, hasher, clock)
    credentials = Credentials(
        users=users, failures=failures, resets=resets, hasher=hasher,
        throttle=LoginThrottle(config.login_max_failures,
                               timedelta(seconds=config.login_lockout_seconds),
                               email_max_failures=config.login_email_max_failures,
                               delay=timedelta(seconds=config.login_delay_seconds)),
        issuer=TokenIssuer(load_private_key(settings),
                           timedelta(seconds=settings.token_ttl_seconds)),
        mailer=mailer or FileMailer(config.mail_dir),
        reset_ttl=timedelta(seconds=config.reset_token_ttl_seconds),
        clock=clock,
    )
    verifier = TokenVerifier(load_public_key(settings))
    return UserService(accounts, credentials, UserServicer(accounts, credentials, verifier))


async def bootstrap_admin(accounts: Accounts, config: UserConfig) -> AdminOutcome | None:
    """Ensure the configured first admin exists; does nothing unless both are configured."""
    if config.admin_email is None or config.admin_password is None:
        return None
    user, outcome = await accounts.ensure_admin(
        config.admin_email, config.admin_name, config.admin_password)
    log.info("admin account ensured", extra={"user_id": user.id, "outcome": outcome.value})
    return outcome


async def run(settings: Settings, config: UserConfig) -> None:
    """Serve until SIGTERM or SIGINT."""
    async with open_database(settings.mongo_url, settings.mongo_db) as db:
        service = await build(db, settings, config)
        await bootstrap_admin(service.accounts, config)
        server = GrpcServer(settings.listen_addr, [service.binding()],
                            dependencies=[Dependency("mongodb", ping_probe(db.client))],
                            probe_interval=settings.health_probe_seconds)
        await serve(server, settings.shutdown_grace_seconds)


async def create_admin(settings: Settings, config: UserConfig, *, email: str, name: str,
                       password: str) -> AdminOutcome:
    async with open_database(settings.mongo_url, settings.mongo_db) as db:
        service = await build(db, settings, config)
        _, outcome = await service.accounts.ensure_admin(email, name, password)
        return outcome
