"""Account commands: register, log in and out, who am I, and managing the account."""

from __future__ import annotations

from typing import Annotated

import typer

from client._client import BookstoreClient
from client._models import role_name, to_dict
from client._session import StoredSession
from client.cli._render import print_user
from client.cli._runtime import (
    JsonOption,
    PasswordStdin,
    anonymous_client,
    emit_json,
    out,
    read_password,
    run,
    session_client,
    sessions,
)

account_app = typer.Typer(help="Manage your account: details, password, reset, deletion."
                          "\n\nExample: bookstore account update --name \"Ada King\"",
                          no_args_is_help=True)

Email = Annotated[str, typer.Argument(help="The account's email address.")]


def register(email: Email,
             name: Annotated[str, typer.Option("--name", "-n", prompt=True,
                                               help="Your name as shown on orders.")],
             password_stdin: PasswordStdin = False) -> None:
    """Create a customer account; the password is asked twice, hidden.

    Example: bookstore register ada@example.com --name "Ada Lovelace"
    """
    password = read_password(password_stdin, confirm=True)

    async def main() -> None:
        async with BookstoreClient.from_env() as bs:
            user = await bs.register(name, email, password)
        out().print(f"[green]registered[/] {user.email} (id {user.id}); "
                    f"now run: bookstore login {user.email}")

    run(main())


def login(email: Email, password_stdin: PasswordStdin = False) -> None:
    """Log in and keep the access token for the following commands (file mode 0600).

    Example: bookstore login ada@example.com
    """
    password = read_password(password_stdin)

    async def main() -> None:
        async with BookstoreClient.from_env() as bs:
            reply = await bs.login(email, password)
        expires = reply.expires_at.ToDatetime().isoformat() + "Z"
        path = sessions().save(StoredSession(
            token=reply.access_token, user_id=reply.user.id, email=reply.user.email,
            name=reply.user.name, role=role_name(reply.user.role), expires_at=expires))
        out().print(f"[green]logged in[/] as {reply.user.name} <{reply.user.email}> "
                    f"({role_name(reply.user.role)}); token valid until {expires}, "
                    f"kept in {path}")

    run(main())


def logout() -> None:
    """Forget the stored access token.

    Example: bookstore logout
    """
    if sessions().clear():
        out().print("logged out")
    else:
        out().print("not logged in")


def whoami(as_json: JsonOption = False) -> None:
    """Show the logged-in account, as the user service knows it now.

    Example: bookstore whoami --json
    """
    async def main() -> None:
        client, _ = session_client()
        async with client:
            user = await client.get_user()
        if as_json:
            emit_json(to_dict(user))
        else:
            print_user(out(), user)

    run(main())


@account_app.command("update")
def update(name: Annotated[str | None, typer.Option(help="A new name.")] = None,
           email: Annotated[str | None, typer.Option(help="A new email address.")] = None,
           as_json: JsonOption = False) -> None:
    """Change your name and/or email; options left out stay as they are.

    Example: bookstore account update --name "Ada King"
    """
    if name is None and email is None:
        raise typer.BadParameter("give --name and/or --email")

    async def main() -> None:
        client, session = session_client()
        async with client:
            user = await client.update_user(name=name, email=email)
        sessions().save(StoredSession(
            token=session.token, user_id=user.id, email=user.email, name=user.name,
            role=session.role, expires_at=session.expires_at))
        if as_json:
            emit_json(to_dict(user))
        else:
            print_user(out(), user)

    run(main())


@account_app.command("password")
def change_password(password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the current, then the new password, one per line.")]
        = False) -> None:
    """Change your password; the current one is required.

    Example: bookstore account password
    """
    current = read_password(password_stdin, prompt="Current password")
    new = read_password(password_stdin, prompt="New password", confirm=True)

    async def main() -> None:
        client, _ = session_client()
        async with client:
            await client.change_password(current, new)
        out().print("[green]password changed[/]")

    run(main())


@account_app.command("reset-request")
def reset_request(email: Email) -> None:
    """Ask for a password reset token, sent by mail if the account exists.

    Example: bookstore account reset-request ada@example.com
    """
    async def main() -> None:
        async with BookstoreClient.from_env() as bs:
            await bs.request_password_reset(email)
        out().print(f"if {email} has an account, a reset token is on its way; then run: "
                    f"bookstore account reset {email} --token TOKEN")

    run(main())


@account_app.command("reset")
def reset(email: Email,
          token: Annotated[str, typer.Option(prompt="Reset token",
                                             help="The token from the reset mail.")],
          password_stdin: PasswordStdin = False) -> None:
    """Set a new password with the token from the reset mail.

    Example: bookstore account reset ada@example.com --token 3f9c...
    """
    new = read_password(password_stdin, prompt="New password", confirm=True)

    async def main() -> None:
        async with anonymous_client() as bs:
            await bs.reset_password(email, token, new)
        out().print(f"[green]password reset[/]; now run: bookstore login {email}")

    run(main())


@account_app.command("delete")
def delete(yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False) -> None:
    """Delete your account for good, and log out.

    Example: bookstore account delete --yes
    """
    stored = sessions().load()
    if not yes:
        typer.confirm(f"Delete {stored.email if stored else 'your account'} for good?",
                      abort=True)

    async def main() -> None:
        client, session = session_client()
        async with client:
            await client.delete_user()
        sessions().clear()
        out().print(f"[green]deleted[/] {session.email}; logged out")

    run(main())
