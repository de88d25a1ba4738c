"""Seeding a fresh stack: log in as the admin and import the sample catalogue, idempotently.

Shared by ``bookstore seed`` and ``scripts/stack.py`` so both seed the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from client._catalogue import ImportReport, RowResult, import_books, sample_catalogue
from client._client import BookstoreClient

#: The development admin the local stack creates; override with the same variables.
DEV_ADMIN_EMAIL = "admin@bookstore.local"
DEV_ADMIN_PASSWORD = "change-me-admin"


def admin_credentials(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``BOOKSTORE_ADMIN_EMAIL`` / ``BOOKSTORE_ADMIN_PASSWORD``, else the development admin."""
    env = os.environ if env is None else env
    return (env.get("BOOKSTORE_ADMIN_EMAIL", "").strip() or DEV_ADMIN_EMAIL,
            env.get("BOOKSTORE_ADMIN_PASSWORD", "") or DEV_ADMIN_PASSWORD)


async def seed(client: BookstoreClient, email: str, password: str,
               on_result: Callable[[RowResult], None] | None = None) -> ImportReport:
    """Log ``client`` in as the admin and add every sample book not yet in the catalogue."""
    await client.login(email, password)
    return await import_books(client, sample_catalogue(), on_result)
