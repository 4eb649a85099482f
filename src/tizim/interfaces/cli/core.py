"""Registry core commands: init, check, history, sweep, stats, demo."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import exists, select
from sqlalchemy.engine import make_url

from tizim.config import Settings
from tizim.domain.imei import read_imei
from tizim.interfaces.cli.app import NowOption, app, console, open_runtime, resolve_now
from tizim.runtime import Runtime
from tizim.services.check import check_imei
from tizim.services.demo import build_demo_country, clear_registry
from tizim.services.history import imei_history
from tizim.services.stats import RegistryStats, registry_stats
from tizim.services.sweep import sweep
from tizim.storage.migrate import upgrade_schema
from tizim.storage.schema import imeis


@app.command()
def init() -> None:
    """Create the database schema, or migrate it to the newest version."""
    runtime = open_runtime(require_schema=False)
    revision = upgrade_schema(runtime.engine)
    url = make_url(runtime.settings.database_url).render_as_string(hide_password=True)
    console.print(f"schema at [bold]{revision}[/] in {url}")


@app.command()
def check(
    imei: Annotated[str, typer.Argument(help="14 or 15 digits, or a 16-digit IMEISV")],
    now: NowOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object (FORMATS.md)")] = False,
) -> None:
    """Which list an IMEI is on, and why. An invalid IMEI is an answer, not an error."""
    runtime = open_runtime()
    with runtime.engine.connect() as conn:
        result = check_imei(conn, imei, now=resolve_now(now), rules=runtime.rules)
    if as_json:
        typer.echo(json.dumps(result.as_json(), ensure_ascii=False))
        return
    colour = {"white": "green", "grey": "yellow", "black": "red"}.get(result.list.value, "white")
    console.print(f"IMEI {result.imei}: [bold {colour}]{result.list.value}[/]")
    console.print(f"  reasons: {', '.join(result.reasons)}")
    if result.grace_deadline:
        console.print(f"  grace deadline: {result.grace_deadline.isoformat()}")
    if result.device:
        console.print(f"  device: {result.device.brand} {result.device.model}")


@app.command()
def history(imei: Annotated[str, typer.Argument(help="The IMEI (14, 15 or 16 digits)")]) -> None:
    """Every list change of an IMEI and every fact recorded about it."""
    runtime = open_runtime()
    reading = read_imei(imei)
    key = reading.imei or imei
    with runtime.engine.connect() as conn:
        found = imei_history(conn, key)
    if not found.changes and not found.facts:
        console.print(f"IMEI {key}: the registry holds nothing about it.")
        return
    changes = Table(title=f"List changes of {key}")
    for column in ("when (UTC)", "from", "to", "reasons", "source"):
        changes.add_column(column)
    for change in found.changes:
        changes.add_row(
            change.changed_at.isoformat(timespec="seconds"),
            change.from_list or "—",
            change.to_list,
            ", ".join(change.reasons),
            change.source + (f" ({change.detail})" if change.detail else ""),
        )
    console.print(changes)
    if found.facts:
        facts = Table(title=f"Facts about {key}")
        for column in ("occurred (UTC)", "fact", "source", "reference"):
            facts.add_column(column)
        for fact in found.facts:
            facts.add_row(
                fact.occurred_at.isoformat(timespec="seconds"),
                fact.kind,
                fact.source,
                fact.reference or "",
            )
        console.print(facts)


@app.command("sweep")
def sweep_command(now: NowOption = None) -> None:
    """Apply every time-driven transition (expired grace → black), re-checking each IMEI."""
    runtime = open_runtime()
    moment = resolve_now(now)
    started = time.perf_counter()
    with runtime.transaction() as conn:
        result = sweep(conn, now=moment, rules=runtime.rules)
    elapsed = time.perf_counter() - started
    console.print(
        f"sweep at {moment.isoformat()}: {result.changed} IMEIs changed list ({elapsed:.2f} s)"
    )


@app.command()
def stats(now: NowOption = None) -> None:
    """Counts per list (IMEIs and devices), blocked today, grey IMEIs by deadline week."""
    runtime = open_runtime()
    with runtime.engine.connect() as conn:
        print_stats(registry_stats(conn, now=resolve_now(now), rules=runtime.rules), runtime)


def print_stats(found: RegistryStats, runtime: Runtime) -> None:
    lists = Table(
        title=f"Registry at {found.now.astimezone(runtime.rules.zone):%Y-%m-%d %H:%M} (Almaty)"
    )
    lists.add_column("list")
    lists.add_column("IMEIs", justify="right")
    lists.add_column("devices", justify="right")
    for name, count in found.lists.items():
        lists.add_row(name.value, f"{count.imeis:,}", f"{count.devices:,}")
    console.print(lists)
    console.print(f"blocked today: [bold]{found.blocked_today:,}[/]")
    weeks = Table(title="Grey IMEIs by week their grace period ends")
    weeks.add_column("week of (Mon)")
    weeks.add_column("IMEIs", justify="right")
    for monday, count in found.grace_by_week.items():
        weeks.add_row(monday.isoformat(), f"{count:,}")
    console.print(weeks)


@app.command()
def demo(
    now: NowOption = None,
    devices: Annotated[int, typer.Option(help="How many devices to invent")] = 52_000,
    fresh: Annotated[bool, typer.Option(help="Empty the registry first")] = False,
    serve: Annotated[bool, typer.Option(help="Serve the interfaces until Ctrl-C")] = True,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    http_port: Annotated[int, typer.Option()] = 8000,
    s13_port: Annotated[int, typer.Option()] = 3868,
) -> None:
    """Build a synthetic country (~100k IMEIs), sweep it, print the stats, then serve."""
    runtime = Runtime(Settings())
    upgrade_schema(runtime.engine)
    moment = resolve_now(now)
    with runtime.transaction() as conn:
        if fresh:
            clear_registry(conn)
        populated = conn.execute(select(exists().select_from(imeis))).scalar()
        if populated:
            console.print("The registry already has data: showing it (use --fresh to rebuild).")
        else:
            started = time.perf_counter()
            built = build_demo_country(
                conn, now=moment, rules=runtime.rules, devices_wanted=devices
            )
            console.print(
                f"Built {built.devices:,} devices with {built.imeis:,} IMEIs"
                f" in {time.perf_counter() - started:.1f} s; the sweep at"
                f" {moment.isoformat(timespec='seconds')} blocked {built.sweep.changed:,}."
            )
            # A demo convenience: real keys are handed to their organisation only, once.
            console.print("Demo organisations' API keys (shown this once):")
            for code, key in built.api_keys.items():
                console.print(f"  {code}: {key}", markup=False)
    with runtime.engine.connect() as conn:
        print_stats(registry_stats(conn, now=moment, rules=runtime.rules), runtime)
    if serve:
        from tizim.interfaces.cli.serve import serve_forever

        serve_forever(runtime, host=host, http_port=http_port, s13_port=s13_port)
