"""`tizim conflicts list|resolve`: IMEIs two organisations registered, decided by staff."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from tizim.interfaces.cli.app import (
    EXIT_USAGE,
    NowOption,
    app,
    console,
    fail,
    open_runtime,
    resolve_now,
)
from tizim.services.registration_conflicts import (
    ConflictResolutionError,
    ConflictState,
    RegistrationConflict,
    Resolution,
    list_conflicts,
    resolve_conflict,
)

conflicts_app = typer.Typer(
    help="Registration conflicts: keep the existing registration or transfer it."
)
app.add_typer(conflicts_app, name="conflicts")


@conflicts_app.command("list")
def list_command(
    state: Annotated[
        ConflictState, typer.Option(help="open, resolved or all")
    ] = ConflictState.OPEN,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 1000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Conflicts in the order they were detected (default: the open ones)."""
    runtime = open_runtime()
    with runtime.engine.connect() as conn:
        found = list_conflicts(conn, state=state, limit=limit)
    if as_json:
        typer.echo(json.dumps([asdict(conflict) for conflict in found], default=str, indent=1))
        return
    table = Table(title=f"Registration conflicts ({state.value})")
    for column in ("id", "IMEI", "reported by", "registered to", "device ref", "detected (UTC)"):
        table.add_column(column)
    table.add_column("resolution")
    for conflict in found:
        table.add_row(
            str(conflict.id),
            conflict.imei,
            conflict.organisation,
            conflict.registered_organisation or "—",
            conflict.device_ref,
            conflict.detected_at.isoformat(timespec="seconds"),
            _resolution(conflict),
        )
    console.print(table)
    console.print(f"{len(found)} conflict(s)")


@conflicts_app.command("resolve")
def resolve_command(
    conflict_id: Annotated[int, typer.Argument(help="The conflict's id (`conflicts list`)")],
    note: Annotated[str, typer.Option(help="Why: recorded with the decision")],
    staff: Annotated[str, typer.Option(help="Who decides (recorded in the history)")],
    keep_existing: Annotated[
        bool, typer.Option("--keep-existing", help="The registration stays where it is")
    ] = False,
    transfer: Annotated[
        bool, typer.Option("--transfer", help="The reporting organisation gets the registration")
    ] = False,
    now: NowOption = None,
) -> None:
    """Close an open conflict: --keep-existing or --transfer, with --note and --staff."""
    if keep_existing == transfer:
        fail("say either --keep-existing or --transfer", EXIT_USAGE)
    if not note.strip():
        fail("a resolution needs --note: the reason for the decision", EXIT_USAGE)
    resolution = Resolution.TRANSFER if transfer else Resolution.KEEP_EXISTING
    runtime = open_runtime()
    try:
        with runtime.transaction() as conn:
            conflict = resolve_conflict(
                conn,
                conflict_id=conflict_id,
                resolution=resolution,
                note=note,
                resolved_by=staff,
                now=resolve_now(now),
                rules=runtime.rules,
            )
    except ConflictResolutionError as error:  # unknown id, already resolved: refused, exit 1
        fail(str(error))
    console.print(
        f"conflict {conflict.id} ({conflict.imei}): {_resolution(conflict)};"
        f" registered to {conflict.registered_organisation}"
    )


def _resolution(conflict: RegistrationConflict) -> str:
    if conflict.resolution is None:
        return "open"
    return f"{conflict.resolution.value} by {conflict.resolved_by}: {conflict.resolution_note}"
