"""The storefront's ASGI app: routes, the shared client's lifetime, middleware, error pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from client._client import BookstoreClient
from client.web import _account, _admin, _cart, _catalogue, _orders
from client.web._config import WebConfig
from client.web._errors import HANDLERS
from client.web._middleware import SecurityHeaders, Sessions
from client.web._render import HERE, templates
from client.web._sessions import SessionStore


async def healthz(request: Request) -> Response:
    """Liveness and readiness: the storefront holds no state worth waiting for, and a page
    whose service is away explains that itself."""
    return PlainTextResponse("ok")


ROUTES = [
    Route("/", _catalogue.catalogue, name="catalogue"),
    Route("/books/{book_id}", _catalogue.book, name="book"),
    Route("/register", _account.register_form, methods=["GET"]),
    Route("/register", _account.register, methods=["POST"]),
    Route("/login", _account.login_form, methods=["GET"]),
    Route("/login", _account.login, methods=["POST"]),
    Route("/logout", _account.logout, methods=["POST"]),
    Route("/cart", _cart.show, methods=["GET"]),
    Route("/cart/add", _cart.add, methods=["POST"]),
    Route("/cart/update", _cart.update, methods=["POST"]),
    Route("/checkout", _cart.checkout, methods=["POST"]),
    Route("/orders", _orders.history, methods=["GET"]),
    Route("/admin/orders", _orders.find, methods=["GET"]),
    Route("/orders/{order_id}", _orders.show, methods=["GET"]),
    Route("/orders/{order_id}/events", _orders.events, methods=["GET"]),
    Route("/orders/{order_id}/cancel", _orders.cancel, methods=["POST"]),
    Route("/orders/{order_id}/status", _orders.set_status, methods=["POST"]),
    Route("/admin/books/new", _admin.new_form, methods=["GET"]),
    Route("/admin/books/new", _admin.add, methods=["POST"]),
    Route("/admin/books/{book_id}/edit", _admin.edit_form, methods=["GET"]),
    Route("/admin/books/{book_id}/edit", _admin.update, methods=["POST"]),
    Route("/healthz", healthz),
    Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
]


def create_app(config: WebConfig | None = None, *,
               client: BookstoreClient | None = None) -> Starlette:
    """The storefront for ``config`` (default: from the environment). A ``client`` given is
    used as is and left open; otherwise one is made at start and closed at stop."""
    settings = config or WebConfig.from_env()
    sessions = SessionStore(idle_seconds=settings.web_session_idle_seconds,
                            max_sessions=settings.web_max_sessions)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.client = client or BookstoreClient(settings)
        try:
            yield
        finally:
            if client is None:
                await app.state.client.close()

    app = Starlette(routes=ROUTES, lifespan=lifespan, exception_handlers=HANDLERS,
                    middleware=[Middleware(SecurityHeaders),
                                Middleware(Sessions, store=sessions)])
    app.state.config = settings
    app.state.sessions = sessions
    app.state.templates = templates()
    return app
