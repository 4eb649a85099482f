"""`tizim applications list|show|decide` for registry staff, and `tizim eds` TEST ONLY helpers.

The staff CLI runs on the registry's own machines by people allowed to see applications, so
`show` prints everything, personal data included; the HTTP API never does that for others.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tizim.adapters.reference_state import reference_registries
from tizim.eds_test_ca import sign_body, write_test_certificate
from tizim.i18n import LANGUAGES
from tizim.interfaces.cli.app import (
    EXIT_USAGE,
    NowOption,
    app,
    console,
    fail,
    open_runtime,
    resolve_now,
)
from tizim.services.applications import application_view, list_applications
from tizim.services.decisions import ApplicationStateError, staff_decide

applications_app = typer.Typer(help="Owner applications: the staff queue and decisions.")
eds_app = typer.Typer(help="TEST ONLY electronic-signature helpers (the shipped test CA).")
app.add_typer(applications_app, name="applications")
app.add_typer(eds_app, name="eds")


@applications_app.command("list")
def list_command(
    status: Annotated[
        str,
        typer.Option(help="in_review (the queue), awaiting_payment, paid, approved, refused, all"),
    ] = "in_review",
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
) -> None:
    """Applications by status, oldest first (default: the staff queue)."""
    runtime = open_runtime()
    with runtime.engine.connect() as conn:
        rows = list_applications(conn, status=None if status == "all" else status, limit=limit)
    table = Table(title=f"Applications ({status})")
    for column in ("number", "kind", "status", "IIN", "provider", "proof", "fee", "submitted"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["number"],
            row["kind"],
            row["status"],
            row["applicant_iin"],
            row["provider"] or "—",
            row["proof_kind"] or "—",
            str(row["fee_kzt"]),
            row["submitted_at"],
        )
    console.print(table)
    console.print(f"{len(rows)} application(s)")


@applications_app.command("show")
def show_command(
    number: Annotated[str, typer.Argument(help="e.g. KZ-2025-000123")],
    lang: Annotated[str, typer.Option(help="kk, ru or en")] = "ru",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Everything about one application: body, reasons in the chosen language, history."""
    if lang not in LANGUAGES:
        fail(f"--lang must be one of {', '.join(LANGUAGES)}", EXIT_USAGE)
    runtime = open_runtime()
    with runtime.engine.connect() as conn:
        view = application_view(conn, number, lang=lang, personal=True)
    if view is None:
        fail(f"no application {number}")
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False, indent=2))
        return
    console.print(f"[bold]{view['number']}[/] {view['kind']}: [bold]{view['status']}[/]")
    console.print(f"  applicant IIN: {view['applicant_iin']}   provider: {view['provider']}")
    console.print(f"  IMEIs: {', '.join(view['imeis'])}")
    console.print(
        f"  proof: {view['proof_kind']} {view['proof_reference'] or ''} {view['entry_date'] or ''}"
    )
    console.print(f"  fee: {view['fee_kzt']} KZT, paid {view['paid_kzt']} KZT")
    for reason in view["reasons"]:
        console.print(f"  [red]{reason['code']}[/] ({reason['field']}): {reason['message']}")
    for event in view["history"]:
        note = f" — {event['note']}" if event["note"] else ""
        console.print(f"  {event['at']}  {event['status']}  by {event['actor']}{note}")


@applications_app.command("decide")
def decide_command(
    number: Annotated[str, typer.Argument(help="e.g. KZ-2025-000123")],
    verdict: Annotated[str, typer.Argument(help="approve, refuse or recheck")],
    staff: Annotated[str, typer.Option(help="who decides (recorded in the history)")],
    note: Annotated[str | None, typer.Option(help="the reason the applicant reads")] = None,
    now: NowOption = None,
) -> None:
    """Decide a queued application: approve, refuse (with --note) or re-run the checks."""
    if verdict not in ("approve", "refuse", "recheck"):
        fail("the verdict is approve, refuse or recheck", EXIT_USAGE)
    if verdict == "refuse" and not note:
        fail("a refusal needs --note: the applicant must learn why", EXIT_USAGE)
    runtime = open_runtime()
    moment = resolve_now(now)
    try:
        with runtime.transaction() as conn:
            status = staff_decide(
                conn,
                number,
                verdict=verdict,
                staff=staff,
                now=moment,
                rules=runtime.rules,
                registries=reference_registries(conn, runtime.rules),
                note=note,
            )
    except LookupError:
        fail(f"no application {number}")
    except ApplicationStateError as error:
        fail(str(error))
    console.print(f"{number}: {status.value}")


@eds_app.command("issue-test-cert")
def issue_test_cert(
    iin: Annotated[str, typer.Option(help="the holder's 12-digit IIN")],
    out: Annotated[Path, typer.Option(help="directory for <iin>.cert.pem and <iin>.key.pem")],
    key: Annotated[str, typer.Option(help="ec or rsa")] = "ec",
    now: NowOption = None,
) -> None:
    """Issue a TEST ONLY signing certificate from the shipped test CA."""
    if not (iin.isdigit() and len(iin) == 12):
        fail("--iin must be 12 digits", EXIT_USAGE)
    if key not in ("ec", "rsa"):
        fail("--key is ec or rsa", EXIT_USAGE)
    cert_path, key_path = write_test_certificate(iin, out, now=resolve_now(now), key_kind=key)
    console.print(f"TEST ONLY certificate: {cert_path}\nTEST ONLY private key: {key_path}")


@eds_app.command("sign")
def sign(
    file: Annotated[Path, typer.Argument(help="the application body, a JSON object")],
    key: Annotated[Path, typer.Option(help="the signer's private key (PEM)")],
    cert: Annotated[Path, typer.Option(help="the signer's certificate (PEM)")],
) -> None:
    """Print the signed request {body, signature, certificate} for POST /api/v1/applications."""
    try:
        body = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        fail(f"{file}: not a readable JSON file ({error})")
    if not isinstance(body, dict):
        fail(f"{file}: the body must be a JSON object")
    try:
        signature = sign_body(body, key.read_text())
        certificate = cert.read_text()
    except (OSError, ValueError) as error:
        fail(f"cannot sign: {error}")
    typer.echo(
        json.dumps(
            {"body": body, "signature": signature, "certificate": certificate}, ensure_ascii=False
        )
    )
