"""Register, log in, log out: the token goes into the server-side session, never the page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from client._errors import (
    AuthenticationError,
    ConflictError,
    InvalidArgumentError,
    RateLimitedError,
)
from client._models import Session, role_name
from client.web._render import client_for, field, form, page, redirect, visitor
from client.web._sessions import Visitor


def safe_next(target: str) -> str:
    """Only a path on this site: never ``//evil.example`` or ``https://...``."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _start_session(request: Request, session: Session, email: str) -> Visitor:
    """Log the visitor in under a fresh session id, keeping their cart."""
    who: Visitor = request.app.state.sessions.renew(visitor(request))
    who.log_in(session.access_token, session.user.id, session.user.name or email,
               is_admin=role_name(session.user.role) == "admin")
    request.state.visitor = who
    return who


async def login_form(request: Request) -> Response:
    return page(request, "login.html", email="", error="",
                next=safe_next(request.query_params.get("next", "/")))


async def login(request: Request) -> Response:
    data = await form(request)
    email, password = field(data, "email"), str(data.get("password", ""))
    target = safe_next(field(data, "next") or "/")
    client = client_for(request)
    try:
        session = await client.login(email, password)
    except (AuthenticationError, InvalidArgumentError, RateLimitedError) as exc:
        status = 429 if isinstance(exc, RateLimitedError) else 400
        return page(request, "login.html", status, email=email, error=exc.message,
                    next=target)
    who = _start_session(request, session, email)
    who.flash(f"Welcome, {who.user_name}.")
    return redirect(target)


async def register_form(request: Request) -> Response:
    return page(request, "register.html", name="", email="", error="")


async def register(request: Request) -> Response:
    data = await form(request)
    name, email = field(data, "name"), field(data, "email")
    password = str(data.get("password", ""))
    client = client_for(request)
    try:
        await client.register(name, email, password)
        session = await client.login(email, password)
    except (ConflictError, InvalidArgumentError, AuthenticationError,
            RateLimitedError) as exc:
        return page(request, "register.html", 400, name=name, email=email, error=exc.message)
    who = _start_session(request, session, email)
    who.flash(f"Welcome, {who.user_name}: your account is ready.")
    return redirect("/")


async def logout(request: Request) -> Response:
    await form(request)
    store = request.app.state.sessions
    who = store.renew(visitor(request))
    who.cart.clear()
    request.state.visitor = who
    who.flash("You are logged out.")
    return redirect("/")
