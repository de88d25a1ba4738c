"""Password reset end to end through a real SMTP server: the token arrives by mail."""

from __future__ import annotations

import email
import re
from collections.abc import AsyncIterator, Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import grpc
import pytest
from aiosmtpd.controller import Controller
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.user.v1 import user_pb2, user_pb2_grpc
from runtime.mongo import Document
from runtime.server import GrpcServer
from tests.integration.user.conftest import PASSWORD, Stub, login, register, rpc_error
from tests.stack import free_port
from tests.waiting import until
from user.app import build
from user.config import UserSettings

pytestmark = pytest.mark.integration

SENDER = "Bookstore Shop <shop@bookstore.example>"
NEW_PASSWORD = "a-password-from-the-mail"


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    async def wait_for(self, count: int, seconds: float = 10) -> list[Any]:
        """The mails once ``count`` arrived (polled: the server runs in a thread of its own)."""
        await until(lambda: len(self.envelopes) >= count, seconds, what=f"{count} mails")
        return self.envelopes


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
async def smtp_stub(mongo_db: AsyncDatabase[Document], tmp_path: Path,
                    smtp_inbox: tuple[Inbox, int]) -> AsyncIterator[Stub]:
    settings = UserSettings.load(
        data_dir=tmp_path, bcrypt_rounds=4, mail_from=SENDER, login_delay_seconds=0,
        smtp_url=f"smtp://127.0.0.1:{smtp_inbox[1]}")
    service = await build(mongo_db, settings)
    server = GrpcServer("127.0.0.1:0", [service.binding()])
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            yield user_pb2_grpc.UserServiceStub(channel)
    finally:
        await server.stop(0)


def reset_token(message: Message) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(r"^    (\S+)\r?$", body.decode(), re.MULTILINE)  # SMTP: CRLF
    assert found is not None, body
    return found.group(1)


async def test_a_reset_mailed_over_smtp_sets_the_new_password(
        smtp_stub: Stub, smtp_inbox: tuple[Inbox, int], tmp_path: Path) -> None:
    inbox, _ = smtp_inbox
    await register(smtp_stub, "ada@example.com")
    await smtp_stub.RequestPasswordReset(
        user_pb2.PasswordResetRequest(email="ada@example.com"), timeout=10)

    [envelope] = await inbox.wait_for(1)
    assert envelope.mail_from == "shop@bookstore.example"
    assert envelope.rcpt_tos == ["ada@example.com"]
    message = email.message_from_bytes(envelope.content)
    assert message["From"] == SENDER
    assert message["Subject"] == "Reset your Bookstore password"
    assert not (tmp_path / "mail").exists()  # nothing went to the file mail drop

    await smtp_stub.ResetPassword(user_pb2.ResetPasswordRequest(
        email="ada@example.com", reset_token=reset_token(message), new_password=NEW_PASSWORD),
        timeout=10)
    error = await rpc_error(login(smtp_stub, password=PASSWORD))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert (await login(smtp_stub, password=NEW_PASSWORD)).access_token
