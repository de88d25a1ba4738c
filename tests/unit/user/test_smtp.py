"""BOOKSTORE_SMTP_URL: how each form is read, and the password kept out of every message."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from runtime.settings import SettingsError
from tests.stack import free_port
from user.config import UserSettings
from user.mailer import MailDeliveryError
from user.smtp import SmtpMailer, SmtpServer, parse_smtp_url


@pytest.mark.parametrize(("url", "expected", "starttls"), [
    ("smtp://user:p%40ss@mail.example:587",
     SmtpServer("mail.example", 587, False, "user", "p@ss"), True),
    ("smtps://user:pw@mail.example", SmtpServer("mail.example", 465, True, "user", "pw"), False),
    ("smtp://relay.local:25", SmtpServer("relay.local", 25), None),
    ("smtp://relay.local", SmtpServer("relay.local", 587), None),
])
def test_url_forms(url: str, expected: SmtpServer, starttls: bool | None) -> None:
    server = parse_smtp_url(url)
    assert server == expected
    assert server.require_starttls is starttls


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "smtp://host:notaport",
                                 "smtp://:secret-pw@host", "mail.example:25"])
def test_bad_urls_are_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(SettingsError, match="BOOKSTORE_SMTP_URL") as info:
        parse_smtp_url(url)
    assert "secret-pw" not in str(info.value)


def test_the_password_is_in_no_repr_or_name(environ: Callable[..., None]) -> None:
    environ(BOOKSTORE_SMTP_URL="smtp://ada:hunter2@mx:587",
            BOOKSTORE_MAIL_FROM="Shop <shop@example.com>")
    config = UserSettings.load()
    assert config.smtp is not None
    assert config.smtp.password == "hunter2"
    assert config.mail_from == "Shop <shop@example.com>"
    assert "hunter2" not in repr(config)
    assert str(config.smtp) == "smtp://ada@mx:587"


def test_without_a_url_the_file_drop_stays(environ: Callable[..., None]) -> None:
    assert UserSettings.load().smtp is None


def test_a_bad_url_is_refused_at_start_without_echoing_it(environ: Callable[..., None]) -> None:
    environ(BOOKSTORE_SMTP_URL="ftp://ada:secret-pw@mx")
    with pytest.raises(SettingsError, match="BOOKSTORE_SMTP_URL") as info:
        UserSettings.load()
    assert "secret-pw" not in str(info.value)


async def test_an_unreachable_server_is_a_delivery_error_without_the_password() -> None:
    port = free_port()
    mailer = SmtpMailer(SmtpServer("127.0.0.1", port, username="ada", password="hunter2"),
                        "Shop <shop@example.com>")
    with pytest.raises(MailDeliveryError, match=f"smtp://ada@127.0.0.1:{port}") as info:
        await mailer.send("bob@example.com", "Hi", "body")
    assert "hunter2" not in str(info.value)
