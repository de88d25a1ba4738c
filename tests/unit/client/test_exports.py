"""The public names are pinned: removing one is a breaking change, so it must be deliberate."""

from __future__ import annotations

import client
from client.cli import app


def test_all_names_exist_and_none_is_private() -> None:
    for name in client.__all__:
        assert hasattr(client, name), name
        assert not name.startswith("_"), name


def test_core_names_are_exported() -> None:
    expected = {"BookstoreClient", "ClientConfig", "BookstoreClientError", "NotFoundError",
                "InvalidArgumentError", "AuthenticationError", "PermissionDeniedError",
                "ConflictError", "ServiceUnavailableError", "OrderLine", "parse_price",
                "format_cents", "parse_line", "map_rpc_error", "sample_catalogue", "seed"}
    assert expected <= set(client.__all__)


def test_every_error_shares_the_base() -> None:
    errors = [getattr(client, n) for n in client.__all__ if n.endswith("Error")]
    assert all(issubclass(e, client.BookstoreClientError) for e in errors)


def test_cli_entry_point_is_a_typer_app() -> None:
    assert app.info.name == "bookstore"
