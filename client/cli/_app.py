"""The ``bookstore`` command: the sub-command groups and top-level commands in one place."""

from __future__ import annotations

import typer

from client.cli._account import account_app, login, logout, register, whoami
from client.cli._admin import admin_app, seed_command
from client.cli._books import books_app
from client.cli._demo import demo
from client.cli._messaging import dead_letters_app, outbox_app
from client.cli._orders import orders_app

app = typer.Typer(
    name="bookstore",
    help="The Bookstore from the command line: account, catalogue, orders and admin.\n\n"
         "Services are found through BOOKSTORE_USER_ADDR, BOOKSTORE_INVENTORY_ADDR and "
         "BOOKSTORE_ORDERS_ADDR (default 127.0.0.1:50051/50052/50053).\n\n"
         "Example: bookstore books list --in-stock",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

app.command(rich_help_panel="Account")(register)
app.command(rich_help_panel="Account")(login)
app.command(rich_help_panel="Account")(logout)
app.command(rich_help_panel="Account")(whoami)
app.add_typer(account_app, name="account", rich_help_panel="Account")
app.add_typer(books_app, name="books", rich_help_panel="Shopping")
app.add_typer(orders_app, name="order", rich_help_panel="Shopping")
admin_app.add_typer(dead_letters_app, name="dead-letters")
admin_app.add_typer(outbox_app, name="outbox")
app.add_typer(admin_app, name="admin", rich_help_panel="Admin")
app.command("seed", rich_help_panel="Admin")(seed_command)
app.command(rich_help_panel="Getting started")(demo)
