"""`tizim feeds load KIND FILE` and `tizim register FILE --org CODE`: files into the registry.

KIND (FORMATS.md): tac, gsma-blacklist, police, repairs, customs, border, parcels. The state
registries (customs, border, parcels) are loaded by `tizim.services.state_feeds`, imported when
used so this command works while that module is being written.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from tizim.interfaces.cli.app import (
    EXIT_REFUSED,
    EXIT_USAGE,
    NowOption,
    app,
    console,
    fail,
    open_runtime,
    resolve_now,
)
from tizim.runtime import Runtime
from tizim.services.csv_input import FileRefused, UploadReport
from tizim.services.gsma_feeds import load_gsma_blacklist, load_tac_database
from tizim.services.orgs import OrganisationError
from tizim.services.police import load_police_reports
from tizim.services.registrations import register_devices
from tizim.services.repairs import load_repairs

ERRORS_SHOWN = 20

feeds_app = typer.Typer(help="Load reference and state feeds from files.")
app.add_typer(feeds_app, name="feeds")


class FeedKind(StrEnum):
    TAC = "tac"
    GSMA_BLACKLIST = "gsma-blacklist"
    POLICE = "police"
    REPAIRS = "repairs"
    CUSTOMS = "customs"
    BORDER = "border"
    PARCELS = "parcels"


FileArgument = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or CSV.gz file")
]


@feeds_app.command("load")
def load(
    kind: Annotated[FeedKind, typer.Argument(help="Which feed the file is")],
    path: FileArgument,
    now: NowOption = None,
    full: Annotated[
        bool, typer.Option("--full", help="gsma-blacklist: the file is the whole current list")
    ] = False,
    org: Annotated[
        str | None, typer.Option("--org", help="repairs/police: the reporting organisation")
    ] = None,
) -> None:
    """Load one feed file; prints its report. Exit 1 if the file was refused."""
    runtime = open_runtime()
    moment = resolve_now(now)
    if kind is FeedKind.REPAIRS and not org:
        fail("repairs need --org CODE (the service centre)", EXIT_USAGE)
    loader = _loader(kind, runtime, full=full, org=org)
    try:
        with runtime.transaction() as conn:
            report = loader(conn, path, moment)
    except OrganisationError as error:
        fail(str(error), EXIT_USAGE)
    except FileRefused as refusal:  # loaders that refuse by raising (state feeds)
        report = refusal.report or UploadReport(kind.value, path.name, "", refused=True)
        report.refusal = report.refusal or str(refusal)
        report.refused = True
    print_report(report)


def _loader(
    kind: FeedKind, runtime: Runtime, *, full: bool, org: str | None
) -> Callable[[Any, Path, datetime], UploadReport]:
    rules, threshold = runtime.rules, runtime.settings.bad_row_threshold
    common: dict[str, Any] = {"rules": rules, "bad_row_threshold": threshold}
    if kind is FeedKind.TAC:
        return lambda conn, path, now: load_tac_database(
            conn, path, now=now, loaded_by="cli", **common
        )
    if kind is FeedKind.GSMA_BLACKLIST:
        return lambda conn, path, now: load_gsma_blacklist(
            conn, path, now=now, loaded_by="cli", full=full, **common
        )
    if kind is FeedKind.POLICE:
        return lambda conn, path, now: load_police_reports(
            conn, path, now=now, loaded_by="cli", organisation=org, **common
        )
    if kind is FeedKind.REPAIRS:
        return lambda conn, path, now: load_repairs(
            conn, path, organisation=org or "", now=now, loaded_by="cli", **common
        )
    state_feeds = importlib.import_module("tizim.services.state_feeds")
    function = getattr(state_feeds, f"load_{kind.value}")
    return lambda conn, path, now: function(conn, path, now=now, rules=rules, loaded_by="cli")


@app.command()
def register(
    path: FileArgument,
    org: Annotated[str, typer.Option("--org", help="The importer's or manufacturer's code")],
    now: NowOption = None,
) -> None:
    """An importer's or manufacturer's trusted registrations: their devices become white."""
    runtime = open_runtime()
    try:
        with runtime.transaction() as conn:
            report = register_devices(
                conn,
                path,
                organisation=org,
                now=resolve_now(now),
                rules=runtime.rules,
                bad_row_threshold=runtime.settings.bad_row_threshold,
                uploaded_by="cli",
            )
    except OrganisationError as error:
        fail(str(error), EXIT_USAGE)
    print_report(report)


def print_report(report: UploadReport) -> None:
    """The report in plain words; exits 1 when the file was refused."""
    console.print(
        f"{report.kind} {report.file_name}: {report.rows_total} rows,"
        f" {report.rows_accepted} accepted, {report.rows_rejected} rejected"
    )
    if report.duplicate_of is not None:
        console.print(f"the same file was loaded before (upload {report.duplicate_of}): no change")
    for name, value in report.counts.items():
        console.print(f"  {name}: {value}")
    for error in report.errors[:ERRORS_SHOWN]:
        column = f" [{error.column}]" if error.column else ""
        console.print(
            f"  line {error.line}{column}: {error.code} — {error.message}", highlight=False
        )
    if report.errors_total > ERRORS_SHOWN:
        console.print(f"  … and {report.errors_total - ERRORS_SHOWN} more errors")
    if report.refused:
        fail(f"the file was refused: {report.refusal}", EXIT_REFUSED)
