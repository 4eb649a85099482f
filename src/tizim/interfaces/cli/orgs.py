"""`tizim orgs add|list|new-key|revoke-key`: organisations and their API keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tizim.interfaces.cli.app import EXIT_USAGE, NowOption, app, console, fail, open_runtime
from tizim.interfaces.cli.app import resolve_now as _resolve_now
from tizim.services.orgs import (
    OrganisationError,
    Role,
    create_organisation,
    issue_api_key,
    list_api_keys,
    list_organisations,
    revoke_api_key,
)

orgs_app = typer.Typer(help="Organisations (importers, operators, police, …) and their API keys.")
app.add_typer(orgs_app, name="orgs")


@orgs_app.command("add")
def add(
    code: Annotated[str, typer.Argument(help="Short code, e.g. KCELL or IMP-TECHNODOM")],
    role: Annotated[Role, typer.Option("--role", help="What the organisation may do")],
    name: Annotated[str | None, typer.Option("--name", help="Full name")] = None,
    mcc_mnc: Annotated[
        list[str] | None, typer.Option("--mcc-mnc", help="An operator's MCC-MNC (repeatable)")
    ] = None,
    now: NowOption = None,
) -> None:
    """Create an organisation and print its first API key (shown this once only)."""
    runtime = open_runtime()
    try:
        with runtime.transaction() as conn:
            organisation, key = create_organisation(
                conn, code=code, role=role, name=name, mcc_mncs=mcc_mnc or (), now=_resolve_now(now)
            )
    except OrganisationError as error:
        fail(str(error), EXIT_USAGE)
    console.print(f"organisation {organisation.code} ({organisation.role.value}) created")
    console.print("API key (store it now: it is not shown again):", style="bold")
    typer.echo(key)


@orgs_app.command("new-key")
def new_key(code: Annotated[str, typer.Argument()], now: NowOption = None) -> None:
    """Issue another API key for an organisation (e.g. to rotate keys)."""
    runtime = open_runtime()
    try:
        with runtime.transaction() as conn:
            key = issue_api_key(conn, code=code, now=_resolve_now(now))
    except OrganisationError as error:
        fail(str(error), EXIT_USAGE)
    typer.echo(key)


@orgs_app.command("list")
def list_command() -> None:
    """Every organisation with its role and keys (key ids only, never secrets)."""
    runtime = open_runtime()
    with runtime.engine.connect() as conn:
        organisations = list_organisations(conn)
        keys = list_api_keys(conn)
    table = Table(title="Organisations")
    for column in ("code", "role", "name", "MCC-MNC", "keys (id: state)"):
        table.add_column(column)
    for organisation in organisations:
        own = [key for key in keys if key.organisation == organisation.code]
        table.add_row(
            organisation.code,
            organisation.role.value,
            organisation.name,
            ",".join(organisation.mcc_mncs),
            ", ".join(f"{k.public_id}: {'revoked' if k.revoked_at else 'live'}" for k in own),
        )
    console.print(table)


@orgs_app.command("revoke-key")
def revoke_key(
    key_id: Annotated[str, typer.Argument(help="The key's id (tz_<id>_…) or the whole key")],
    now: NowOption = None,
) -> None:
    """Revoke an API key at once; calls with it are then refused (401)."""
    runtime = open_runtime()
    try:
        with runtime.transaction() as conn:
            info = revoke_api_key(conn, key_or_public_id=key_id, now=_resolve_now(now))
    except OrganisationError as error:
        fail(str(error), EXIT_USAGE)
    console.print(f"key {info.public_id} of {info.organisation} revoked at {info.revoked_at}")
