"""What every response carries: the session cookie, and headers that shut off whole classes
of attack (inline scripts, framing, MIME sniffing, referrer leaks).

Both are plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``, so the live
order stream passes through them untouched and is cancelled at once when the browser leaves.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from client.web._sessions import COOKIE_NAME, SessionStore

#: No inline script or style at all: the one script is a file from this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}
#: Paths that need no session: files and the probe.
SESSIONLESS_PREFIXES = ("/static/", "/healthz")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Sessions:
    """Puts the visitor in ``request.state.visitor``; sets the cookie when its id changed
    (a new visitor, or ids renewed at log-in and log-out)."""

    def __init__(self, app: ASGIApp, store: SessionStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(SESSIONLESS_PREFIXES):
            await self.app(scope, receive, send)
            return
        sent_id = _cookie(scope, COOKIE_NAME)
        visitor = self.store.get(sent_id) or self.store.create()
        scope.setdefault("state", {})["visitor"] = visitor
        secure = scope.get("scheme") == "https"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                current = scope["state"]["visitor"]
                if current.id != sent_id:
                    headers = MutableHeaders(scope=message)
                    headers.append("set-cookie", session_cookie(current.id, secure=secure))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def session_cookie(session_id: str, *, secure: bool) -> str:
    """No Max-Age: the cookie ends with the browser; the server forgets idle sessions."""
    attributes = f"{COOKIE_NAME}={session_id}; Path=/; HttpOnly; SameSite=Lax"
    return attributes + ("; Secure" if secure else "")


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            return cookie_parser(value.decode("latin-1")).get(name)
    return None
