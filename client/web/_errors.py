"""The one place a failure becomes a page: each gRPC status its own HTTP status and words.

Handlers let :class:`~client.BookstoreClientError` escape unless they can do better on the
spot (a form shown again with its message); here it becomes an error page a person can act
on. An expired login sends the visitor to the login form instead.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from client._errors import (
    AuthenticationError,
    BookstoreClientError,
    ConflictError,
    DeadlineExceededError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceUnavailableError,
)
from client.web._render import LoginRequiredError, page, redirect, visitor

#: Client error → (HTTP status, page heading). First match wins, so subclasses come first.
PAGES: list[tuple[type[BookstoreClientError], int, str]] = [
    (NotFoundError, 404, "Not found"),
    (PermissionDeniedError, 403, "Not allowed"),
    (InvalidArgumentError, 400, "That request was not valid"),
    (ConflictError, 409, "That clashes with something already there"),
    (FailedPreconditionError, 409, "Not possible right now"),
    (RateLimitedError, 429, "Too many attempts"),
    (DeadlineExceededError, 504, "A service took too long"),
    (ServiceUnavailableError, 503, "A service is unavailable"),
]
HTTP_HEADINGS = {400: "Bad request", 403: "Not allowed", 404: "Not found",
                 405: "Method not allowed"}


def status_and_heading(exc: BookstoreClientError) -> tuple[int, str]:
    for kind, status, heading in PAGES:
        if isinstance(exc, kind):
            return status, heading
    return 502, "A service failed"


def login_redirect(request: Request) -> Response:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"/login?next={quote(path, safe='')}")


async def on_client_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BookstoreClientError)
    if isinstance(exc, AuthenticationError):  # the token expired: log in again
        who = visitor(request)
        who.log_out()
        who.flash("Your session has expired; please log in again.")
        return login_redirect(request)
    status, heading = status_and_heading(exc)
    message = exc.message
    if isinstance(exc, ServiceUnavailableError):  # no addresses or variable names to visitors
        message = "Part of the shop cannot be reached just now. Please try again shortly."
    return page(request, "error.html", status, heading=heading, message=message)


async def on_login_required(request: Request, exc: Exception) -> Response:
    visitor(request).flash("Please log in first.")
    return login_redirect(request)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    heading = HTTP_HEADINGS.get(exc.status_code, "Something went wrong")
    if getattr(request.state, "visitor", None) is None:  # e.g. a missing static file
        return Response(exc.detail, status_code=exc.status_code, media_type="text/plain")
    return page(request, "error.html", exc.status_code, heading=heading, message=exc.detail)


HANDLERS = {BookstoreClientError: on_client_error, LoginRequiredError: on_login_required,
            HTTPException: on_http_error}
