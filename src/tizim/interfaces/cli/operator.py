"""Operator data commands: `ingest observations`, `lists generate`, `clones report`."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from tizim.config import Settings
from tizim.interfaces.cli.app import (
    EXIT_REFUSED,
    EXIT_USAGE,
    NowOption,
    app,
    console,
    errors,
    fail,
    open_runtime,
    resolve_now,
)
from tizim.services.clones import CloneRules, clone_report
from tizim.services.csv_input import GZIP_MAGIC, UploadReport
from tizim.services.ingest import ingest_observations
from tizim.services.notifications import NotificationPlan
from tizim.services.operator_lists import generate_lists
from tizim.services.orgs import Role, get_organisation

ingest_app = typer.Typer(help="Load data sent by operators.", no_args_is_help=True)
lists_app = typer.Typer(help="List files for operators.", no_args_is_help=True)
clones_app = typer.Typer(help="Cloned-IMEI suspicions.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
app.add_typer(lists_app, name="lists")
app.add_typer(clones_app, name="clones")
ERRORS_SHOWN = 20


def plan_from(settings: Settings) -> NotificationPlan:
    return NotificationPlan(tuple(settings.notification_reminder_days))


@ingest_app.command("observations")
def ingest_observations_command(
    file: Annotated[Path, typer.Argument(help="CSV (or .csv.gz): seen_at,imei,imsi,msisdn[,rat]")],
    operator: Annotated[str, typer.Option("--operator", help="The operator's organisation code")],
    now: NowOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Load an operator's sightings; exit 1 if the file is refused (the report says why)."""
    if not file.is_file():
        fail(f"no such file: {file}", EXIT_USAGE)
    runtime = open_runtime()
    moment = resolve_now(now)
    with runtime.transaction() as conn:
        organisation = get_organisation(conn, operator)
        if organisation is None or organisation.role is not Role.OPERATOR:
            fail(f"{operator!r} is not a registered operator (tizim orgs add ...)", EXIT_USAGE)
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=errors,
            transient=True,
            disable=as_json,
        ) as bar:
            task = bar.add_task(f"reading {file.name}", total=_text_size(file))
            report = ingest_observations(
                conn,
                file,
                operator=operator,
                now=moment,
                rules=runtime.rules,
                bad_row_threshold=runtime.settings.bad_row_threshold,
                clone_rules=CloneRules.from_settings(runtime.settings),
                uploaded_by="cli",
                progress=lambda done: bar.update(task, completed=done),
            )
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        _print_report(report)
    if report.refused:
        raise typer.Exit(EXIT_REFUSED)


def _text_size(path: Path) -> int:
    """Bytes of text to read: the file size, or for gzip the size its trailer records."""
    with path.open("rb") as raw:
        if raw.read(2) != GZIP_MAGIC:
            return path.stat().st_size
        raw.seek(-4, 2)
        return int(struct.unpack("<I", raw.read(4))[0]) or path.stat().st_size


def _print_report(report: UploadReport) -> None:
    if report.duplicate_of is not None:
        console.print(
            f"{report.file_name}: already accepted (upload #{report.duplicate_of}); nothing changed"
        )
        return
    summary = Table(title=f"Observations {report.file_name}", show_header=False)
    summary.add_column("what")
    summary.add_column("count", justify="right")
    summary.add_row("rows read", f"{report.rows_total:,}")
    summary.add_row("rows accepted", f"{report.rows_accepted:,}")
    summary.add_row("rows rejected", f"{report.rows_rejected:,}")
    for name, value in report.counts.items():
        summary.add_row(name.replace("_", " "), f"{value:,}")
    console.print(summary)
    if report.errors:
        shown = Table(title=f"Rejected rows (first {min(ERRORS_SHOWN, len(report.errors))})")
        for column in ("line", "column", "reason", "message"):
            shown.add_column(column)
        for error in report.errors[:ERRORS_SHOWN]:
            shown.add_row(str(error.line), error.column or "", error.code, error.message)
        console.print(shown)
    if report.refused:
        errors.print(f"[bold red]refused:[/] {report.refusal}", highlight=False)


@lists_app.command("generate")
def generate_command(
    outdir: Annotated[Path, typer.Argument(help="Directory receiving generation-<id>/")],
    now: NowOption = None,
    compress: Annotated[bool, typer.Option("--gzip", help="Write .csv.gz files")] = False,
) -> None:
    """Write the black, grey, delta and notification lists and a manifest; record the run."""
    runtime = open_runtime()
    with runtime.transaction() as conn:
        generation = generate_lists(
            conn,
            outdir,
            now=resolve_now(now),
            rules=runtime.rules,
            plan=plan_from(runtime.settings),
            compress=compress,
        )
    table = Table(title=f"Generation {generation.id} in {generation.directory}")
    for column in ("file", "rows", "for", "sha256"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for entry in generation.files:
        table.add_row(entry.name, f"{entry.rows:,}", entry.audience, entry.sha256[:16] + "…")
    console.print(table)


@clones_app.command("report")
def clones_report_command(
    now: NowOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
    limit: Annotated[int, typer.Option(help="At most this many IMEIs")] = 1000,
) -> None:
    """IMEIs suspected of being cloned, for registry staff (no IMSI or MSISDN shown)."""
    runtime = open_runtime()
    with runtime.engine.connect() as conn:
        suspects = clone_report(
            conn,
            now=resolve_now(now),
            clone_rules=CloneRules.from_settings(runtime.settings),
            limit=limit,
        )
    if as_json:
        for suspect in suspects:
            typer.echo(
                json.dumps(
                    {
                        "imei": suspect.imei,
                        "list": suspect.list,
                        "suspected_at": suspect.suspected_at.isoformat()
                        if suspect.suspected_at
                        else None,
                        "why": suspect.why,
                        "imsis_in_window": suspect.imsis_in_window,
                        "operators": list(suspect.operators),
                    }
                )
            )
        return
    table = Table(title=f"Suspected clones ({len(suspects)})")
    for column in ("IMEI", "list", "since", "why", "IMSIs", "operators"):
        table.add_column(column)
    for suspect in suspects:
        table.add_row(
            suspect.imei,
            suspect.list,
            suspect.suspected_at.isoformat(timespec="seconds") if suspect.suspected_at else "",
            suspect.why,
            str(suspect.imsis_in_window),
            ", ".join(suspect.operators),
        )
    console.print(table)


__all__ = ["clones_app", "ingest_app", "lists_app"]
