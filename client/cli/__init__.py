"""The ``bookstore`` command line: ``client.cli:app`` is the console script's entry point."""

from client.cli._app import app

__all__ = ["app"]
