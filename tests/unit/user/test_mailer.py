"""The file mail drop: one readable file per message, easy to find by address."""

from __future__ import annotations

import email
from email.message import Message
from pathlib import Path

import pytest

from user.mailer import FileMailer, MailDeliveryError, newest_mail


def read(path: Path) -> Message:
    return email.message_from_bytes(path.read_bytes())


async def test_each_message_is_one_file_named_for_its_address(tmp_path: Path) -> None:
    mailer = FileMailer(tmp_path / "mail")
    await mailer.send("ada@example.com", "First", "one")
    await mailer.send("bob@example.com", "Other", "two")
    await mailer.send("ada@example.com", "Second", "three")
    files = sorted((tmp_path / "mail").iterdir())
    assert len(files) == 3
    assert all(f.suffix == ".eml" for f in files)
    newest = newest_mail(tmp_path / "mail", "ADA@example.com")
    assert newest is not None
    message = read(newest)
    assert message["Subject"] == "Second"
    assert message["To"] == "ada@example.com"
    assert message.get_payload(decode=True) == b"three\n"


def test_no_mail_means_none(tmp_path: Path) -> None:
    assert newest_mail(tmp_path / "absent", "ada@example.com") is None


async def test_unwritable_directory_raises_delivery_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(MailDeliveryError):
        await FileMailer(blocker / "mail").send("ada@example.com", "s", "b")
