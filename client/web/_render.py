"""What every page handler shares: the visitor, a client acting for them, templates, CSRF.

A handler reads the visitor with :func:`visitor`, calls the services through
:func:`client_for`, and answers with :func:`page`. Every POST handler starts with
:func:`form`, which refuses the request (403) unless it carries the session's CSRF token.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from client._client import BookstoreClient
from client._models import status_name
from client._parsing import format_cents
from client.web._sessions import Visitor

HERE = Path(__file__).resolve().parent
CSRF_FIELD = "csrf_token"


def templates() -> Environment:
    """Autoescape on for every template: whatever a service returns is text, never markup."""
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["money"] = format_cents
    env.filters["status"] = status_name
    return env


class CsrfRefused(HTTPException):
    """A form without this session's CSRF token: sent by another site, or a stale page."""

    def __init__(self) -> None:
        super().__init__(403, "This form has expired or was not sent from this site. "
                              "Go back, reload the page and try again.")


class LoginRequiredError(Exception):
    """The page needs a logged-in visitor; the handler sends them to the login form."""


def visitor(request: Request) -> Visitor:
    found: Visitor = request.state.visitor
    return found


def client_for(request: Request) -> BookstoreClient:
    """The shared client, calling with this visitor's token (if any) and address."""
    shared: BookstoreClient = request.app.state.client
    who = visitor(request)
    return shared.acting_as(who.access_token, who.user_id, address=visitor_address(request))


def visitor_address(request: Request) -> str | None:
    """The visitor's IP address as the server saw it, if it is one (a test client's is not)."""
    host = request.client.host if request.client else ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def require_login(request: Request) -> Visitor:
    who = visitor(request)
    if not who.logged_in:
        raise LoginRequiredError
    return who


def require_admin(request: Request) -> Visitor:
    who = require_login(request)
    if not who.is_admin:
        raise HTTPException(403, "This page is for administrators.")
    return who


async def form(request: Request) -> FormData:
    """The posted form, once its CSRF token matches the session's."""
    data = await request.form()
    token = data.get(CSRF_FIELD)
    if not isinstance(token, str) or not visitor(request).csrf_matches(token):
        raise CsrfRefused
    return data


def field(data: FormData, name: str) -> str:
    value = data.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def page(request: Request, template: str, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    """Render ``template`` with the visitor, the CSRF token and the flashes at hand."""
    env: Environment = request.app.state.templates
    who: Visitor | None = getattr(request.state, "visitor", None)
    html = env.get_template(template).render(
        request=request, visitor=who, csrf_token=who.csrf_token if who else "",
        flashes=who.take_flashes() if who else [], **context)
    return HTMLResponse(html, status_code=status_code,
                        headers={"cache-control": "no-store"})


def redirect(url: str) -> RedirectResponse:
    """After a POST: 303, so the browser follows with a GET and a reload posts nothing."""
    return RedirectResponse(url, status_code=303)
