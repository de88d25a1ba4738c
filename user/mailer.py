"""Outgoing mail: a one-method interface and a file "mail drop" behind it.

The service only needs :class:`Mailer`. :class:`FileMailer`, the default, writes each message
as an ``.eml`` file (like Django's file-based email backend) so development and tests need no
SMTP server (:mod:`user.smtp` sends real mail when ``BOOKSTORE_SMTP_URL`` is set):
``<mail dir>/<UTC time>_<address>_<random>.eml``, where names sort by time and
``ls mail/ | grep alice@example.com | tail -1`` finds the newest mail for an address.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import tempfile
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

SENDER = "Bookstore <no-reply@bookstore.invalid>"
_UNSAFE = re.compile(r"[^a-z0-9@._+-]")


class MailDeliveryError(Exception):
    """A message could not be handed on; the caller decides whether that matters."""


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None:
        """Deliver one plain-text message or raise :class:`MailDeliveryError`."""


def compose(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    """One plain-text message, the same whichever way it leaves."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    message.set_content(body)
    return message


class FileMailer:
    """Writes every message to its own file in ``directory``, created on first use."""

    def __init__(self, directory: Path, sender: str = SENDER) -> None:
        self.directory = directory
        self.sender = sender

    async def send(self, to: str, subject: str, body: str) -> None:
        message = compose(self.sender, to, subject, body)
        try:
            await asyncio.to_thread(self._write, to, message.as_bytes())
        except OSError as exc:
            raise MailDeliveryError(f"cannot write mail to {self.directory}: {exc}") from exc

    def _write(self, to: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}_{mail_file_address(to)}_{secrets.token_hex(4)}.eml"
        # Written aside, then renamed: a reader never sees half a message.
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(tmp, self.directory / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def mail_file_address(address: str) -> str:
    """The address as it appears in file names: lower-case, path-safe."""
    return _UNSAFE.sub("_", address.lower())


def newest_mail(directory: Path, address: str) -> Path | None:
    """The most recent mail file for ``address`` in a :class:`FileMailer` directory."""
    marker = f"_{mail_file_address(address)}_"
    if not directory.is_dir():
        return None
    matches = sorted(p for p in directory.glob("*.eml") if marker in p.name)
    return matches[-1] if matches else None
