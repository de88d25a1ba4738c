"""Assembles the user service from its parts; shared by ``python -m user`` and the tests.

``python -m user create-admin --email ... [--name ...]`` creates an admin account, or
promotes an existing one, through the same entry point; the password comes from
``BOOKSTORE_ADMIN_PASSWORD`` or a prompt.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.user.v1 import user_pb2_grpc
from runtime.auth import TokenIssuer, TokenVerifier
from runtime.entry import Command, ServiceApp
from runtime.errors import BookstoreError
from runtime.keys import load_private_key, load_public_key
from runtime.mongo import Document
from runtime.server import ServiceBinding
from user.accounts import Accounts, AdminOutcome
from user.config import UserSettings
from user.credentials import Credentials
from user.lockout import ClientAddresses, LoginThrottle
from user.mailer import FileMailer, Mailer
from user.model import Clock, utc_now
from user.passwords import PasswordHasher
from user.service import SERVICE_NAME, UserServicer
from user.smtp import SmtpMailer
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


async def build(db: AsyncDatabase[Document], settings: UserSettings, *,
                mailer: Mailer | None = None, clock: Clock = utc_now) -> UserService:
    """Wire the service to ``db`` and make sure its indexes exist."""
    users, failures, resets = UserStore(db), LoginFailureStore(db), ResetTokenStore(db)
    await users.create_indexes()
    await failures.create_indexes(ttl_seconds=settings.login_lockout_seconds)
    await resets.create_indexes()
    hasher = PasswordHasher(settings.bcrypt_rounds)
    accounts = Accounts(users, resets, hasher, clock)
    credentials = Credentials(
        users=users, failures=failures, resets=resets, hasher=hasher,
        throttle=LoginThrottle(settings.login_max_failures,
                               timedelta(seconds=settings.login_lockout_seconds),
                               email_max_failures=settings.login_email_max_failures,
                               delay=timedelta(seconds=settings.login_delay_seconds)),
        issuer=TokenIssuer(load_private_key(settings),
                           timedelta(seconds=settings.token_ttl_seconds)),
        mailer=mailer or choose_mailer(settings),
        reset_ttl=timedelta(seconds=settings.reset_token_ttl_seconds),
        clock=clock,
    )
    verifier = TokenVerifier(load_public_key(settings))
    clients = ClientAddresses(tuple(settings.trusted_proxies))
    return UserService(accounts, credentials,
                       UserServicer(accounts, credentials, verifier, clients))


def choose_mailer(settings: UserSettings) -> Mailer:
    """SMTP when BOOKSTORE_SMTP_URL is set, else the file mail drop."""
    smtp = settings.smtp
    if smtp is not None:
        log.info("mail goes through SMTP", extra={"smtp_server": str(smtp)})
        return SmtpMailer(smtp, settings.mail_from)
    return FileMailer(settings.mail_dir, settings.mail_from)


async def bootstrap_admin(accounts: Accounts, settings: UserSettings) -> AdminOutcome | None:
    """Ensure the configured first admin exists; does nothing unless both are configured."""
    if settings.admin_email is None or settings.admin_password is None:
        return None
    user, outcome = await accounts.ensure_admin(
        settings.admin_email, settings.admin_name, settings.admin_password.get_secret_value())
    log.info("admin account ensured", extra={"user_id": user.id, "outcome": outcome.value})
    return outcome


@asynccontextmanager
async def assemble(settings: UserSettings, db: AsyncDatabase[Document]
                   ) -> AsyncIterator[Sequence[ServiceBinding]]:
    """Build the service and ensure the configured admin; yields the gRPC service to serve."""
    service = await build(db, settings)
    await bootstrap_admin(service.accounts, settings)
    yield [service.binding()]


def _admin_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument("--name", default="Administrator")


async def create_admin(settings: UserSettings, db: AsyncDatabase[Document],
                       args: argparse.Namespace) -> int:
    """``create-admin``: make or promote the account; exit status 1 if the input is refused."""
    password = (settings.admin_password.get_secret_value() if settings.admin_password
                else _prompt_password())
    service = await build(db, settings)
    try:
        _, outcome = await service.accounts.ensure_admin(args.email, args.name, password)
    except BookstoreError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(f"admin {args.email.strip().lower()}: {outcome.value}")
    return 0


def _prompt_password() -> str:
    first = getpass.getpass("Password for the admin account: ")
    if getpass.getpass("Repeat the password: ") != first:
        raise SystemExit("error: the passwords differ")
    return first


APP = ServiceApp(UserSettings, assemble, {
    "create-admin": Command(
        help="create an admin account, or promote an existing one; the password comes from "
             "BOOKSTORE_ADMIN_PASSWORD or a prompt",
        arguments=_admin_arguments, run=create_admin),
})
