"""The storefront: a web shop in front of the services, through the client library only.

    python -m client.web          # listens on BOOKSTORE_WEB_ADDR (default 127.0.0.1:8080)

Starlette serves server-rendered Jinja2 pages; every call to the services goes through one
shared :class:`~client.BookstoreClient`, acting per request with the visitor's own token. The
token stays on the server (:mod:`client.web._sessions`); the browser holds only an opaque
session id in an HttpOnly cookie. The pages work without JavaScript; one small script makes
an order's status follow the saga live over server-sent events.
"""

from client.web._app import create_app
from client.web._config import WebConfig

__all__ = ["WebConfig", "create_app"]
