"""``python -m client``: the ``bookstore`` command without installing its script."""

from client.cli import app

app(prog_name="bookstore")
