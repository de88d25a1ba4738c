"""``python -m user``: serve the user service; ``python -m user create-admin``: make an admin."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from runtime.errors import BookstoreError
from runtime.logs import configure_logging
from runtime.settings import Settings
from user import app
from user.config import UserConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m user", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the gRPC server (the default)")
    admin = commands.add_parser(
        "create-admin", help="create an admin account, or promote an existing one; the "
        "password comes from BOOKSTORE_ADMIN_PASSWORD or a prompt")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", default="Administrator")
    args = parser.parse_args(argv)

    settings = Settings.from_env("user")
    config = UserConfig.from_env(settings)
    configure_logging("user", settings.log_level, settings.log_format)
    if args.command != "create-admin":
        asyncio.run(app.run(settings, config))
        return 0
    password = os.environ.get("BOOKSTORE_ADMIN_PASSWORD") or _prompt_password()
    try:
        outcome = asyncio.run(app.create_admin(
            settings, config, email=args.email, name=args.name, password=password))
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


if __name__ == "__main__":
    sys.exit(main())
