"""`tizim staff add USER`: registry staff accounts for the web console."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tizim.interfaces.cli.app import app, console, fail, open_runtime, resolve_now
from tizim.services.staff_users import StaffUserError, create_staff_user

staff_app = typer.Typer(help="Registry staff accounts (web console).", no_args_is_help=True)
app.add_typer(staff_app, name="staff")


@staff_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name: lower-case letters, digits, . _ -")],
    name: Annotated[str, typer.Option("--name", help="Name shown in the console")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
) -> None:
    """Create a staff account; the password is asked for (never given as an argument)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    runtime = open_runtime()
    try:
        with runtime.transaction() as conn:
            user = create_staff_user(
                conn,
                username=username,
                password=password,
                display_name=name,
                now=resolve_now(None),
            )
    except StaffUserError as error:
        fail(str(error))
    finally:
        runtime.close()
    console.print(f"staff user {user.username} created")
