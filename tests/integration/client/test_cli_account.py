"""Account management through ``bookstore``: update, password change and reset, deletion."""

from __future__ import annotations

import json
import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.integration.client.conftest import Cli, Stack, mail_dir
from tests.integration.client.test_cli_journey import PASSWORD, register_and_login
from user.mailer import newest_mail

pytestmark = pytest.mark.integration
NEW_PASSWORD = "a brand new passphrase"


def reset_token_from_mail(mail_dir: Path, email: str) -> str:
    path = newest_mail(mail_dir, email)
    assert path is not None, f"no mail for {email} in {mail_dir}"
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(r"reset token is:\s+(\S+)", body.get_content())
    assert found, body.get_content()
    return found.group(1)


def test_update_change_password_reset_and_delete(cli: Cli, stack: Stack) -> None:
    email = register_and_login(cli)
    updated = json.loads(cli.ok("account", "update", "--name", "Ada King", "--json").stdout)
    assert updated["name"] == "Ada King"
    assert json.loads(cli.ok("whoami", "--json").stdout)["name"] == "Ada King"

    cli.ok("account", "password", "--password-stdin",
           input=f"{PASSWORD}\n{NEW_PASSWORD}\n")
    assert cli("login", email, "--password-stdin", input=PASSWORD + "\n").exit_code == 1
    cli.ok("login", email, "--password-stdin", input=NEW_PASSWORD + "\n")

    cli.ok("account", "reset-request", email)
    token = reset_token_from_mail(mail_dir(stack), email)
    cli.ok("account", "reset", email, "--token", token, "--password-stdin",
           input=PASSWORD + "\n")
    cli.ok("login", email, "--password-stdin", input=PASSWORD + "\n")

    cli.ok("logout")
    assert cli("whoami").exit_code == 1
    cli.ok("login", email, "--password-stdin", input=PASSWORD + "\n")
    cli.ok("account", "delete", "--yes")
    session = Path(cli.env["BOOKSTORE_CONFIG_DIR"]) / "session.json"
    assert not session.exists()
    result = cli("login", email, "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 1
