"""Mail through an SMTP server, chosen by ``BOOKSTORE_SMTP_URL``.

``smtp://user:pass@host:587`` submits with STARTTLS (required whenever credentials are given,
so a password never crosses the network in the clear); ``smtps://user:pass@host`` uses
implicit TLS (port 465 by default); ``smtp://host:25`` without credentials suits a local relay
and upgrades with STARTTLS only if the server offers it. User name and password are
percent-decoded, so ``p%40ss`` is ``p@ss``. The password appears in no ``repr``, no log line
and no error message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import aiosmtplib

from runtime.settings import SettingsError
from user.mailer import MailDeliveryError, compose

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}
#: Seconds for connecting and for each SMTP command: the reset RPC waits for the mail.
SMTP_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how to submit mail; ``str()`` names it without its credentials."""

    host: str
    port: int
    implicit_tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def require_starttls(self) -> bool | None:
        """True: insist on STARTTLS; None: use it if offered (no credentials to protect)."""
        if self.implicit_tls:
            return False
        return True if self.username else None

    def __str__(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp[s]://[user[:password]@]host[:port]``; SettingsError (never echoing it) if not."""
    parts = urlsplit(url.strip())
    problem = "expected smtp://[user:password@]host[:port] or smtps://…"
    try:
        port = parts.port
    except ValueError:
        raise SettingsError(f"BOOKSTORE_SMTP_URL has a bad port: {problem}") from None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise SettingsError(f"BOOKSTORE_SMTP_URL: {problem}")
    if parts.password is not None and not parts.username:
        raise SettingsError("BOOKSTORE_SMTP_URL has a password but no user name")
    return SmtpServer(host=parts.hostname, port=port or DEFAULT_PORTS[parts.scheme],
                      implicit_tls=parts.scheme == "smtps",
                      username=unquote(parts.username) if parts.username else None,
                      password=unquote(parts.password) if parts.password else None)


class SmtpMailer:
    """Submits each message on its own connection: resets are rare, a pool would idle."""

    def __init__(self, server: SmtpServer, sender: str) -> None:
        self.server = server
        self.sender = sender

    async def send(self, to: str, subject: str, body: str) -> None:
        message = compose(self.sender, to, subject, body)
        try:
            await aiosmtplib.send(
                message, hostname=self.server.host, port=self.server.port,
                username=self.server.username, password=self.server.password,
                use_tls=self.server.implicit_tls, start_tls=self.server.require_starttls,
                timeout=SMTP_TIMEOUT)
        except (aiosmtplib.SMTPException, OSError) as exc:
            # The server's own words (or the socket's), never our credentials.
            raise MailDeliveryError(
                f"cannot send mail through {self.server}: {type(exc).__name__}: {exc}"
            ) from exc
