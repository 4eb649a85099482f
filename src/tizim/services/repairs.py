"""Service-centre repairs: a GSM-module replacement links an old IMEI to a new one.

File: `old_imei,new_imei,repaired_on,document`. The new IMEI joins the old one's device. If the
device was white through a trusted source, a verification or a pairing — or its old IMEI is
white for any reason, such as grandfathering — the new IMEI inherits that: the authorised
service centre is itself a trusted source (seed 003), so the new IMEI gets a
TRUSTED_REGISTRATION fact from it. A device that is black or grey passes nothing on: a repair
must not launder a stolen phone. The old IMEI is retired (RETIRED_BY_REPAIR) and is blocked if
it is seen in a network after the repair. The old IMEI must be known to the registry.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, select, update

from tizim.domain.imei import read_imei
from tizim.domain.rules import Rules
from tizim.domain.status import ListName
from tizim.services.csv_input import FileRefused, RowError, UploadReport, csv_rows
from tizim.services.facts import Fact, FactKind, ensure_imeis, record_facts
from tizim.services.feed_common import (
    MomentReader,
    earlier_delta,
    extra_fields_error,
    finish,
    new_report,
)
from tizim.storage.schema import imeis
from tizim.storage.tables_orgs import repairs

KIND = "repairs"
COLUMNS = ("old_imei", "new_imei", "repaired_on", "document")
_Repair = tuple[int, str, str, datetime, str | None]


def load_repairs(
    conn: Connection,
    path: Path,
    *,
    organisation: str,
    now: datetime,
    rules: Rules,
    loaded_by: str | None = None,
    bad_row_threshold: float = 0.05,
    file_name: str | None = None,
) -> UploadReport:
    """Apply a service centre's repairs; counts: repairs, inherited, not_inherited, …"""
    report = new_report(KIND, path, file_name)
    earlier = earlier_delta(conn, report, organisation)
    if earlier is not None:
        report.duplicate_of = earlier
        return finish(conn, report, organisation=organisation, loaded_by=loaded_by, now=now)
    try:
        found = _read_file(path, report, now, rules)
        known = _known_imeis(conn, {old for _, old, _, _, _ in found})
        for line, old, *_ in found:
            if old not in known:
                report.add_error(
                    RowError(line, "old_imei", "UNKNOWN_IMEI", f"{old} is not in the registry")
                )
        report.refuse_if_too_bad(bad_row_threshold)
    except FileRefused as refusal:
        report.refused, report.refusal = True, str(refusal)
        return finish(conn, report, organisation=organisation, loaded_by=loaded_by, now=now)
    accepted = [repair for repair in found if repair[1] in known]
    report.rows_accepted = len(accepted)
    report.counts = _apply(conn, accepted, known, organisation, now, rules)
    return finish(conn, report, organisation=organisation, loaded_by=loaded_by, now=now)


def _known_imeis(conn: Connection, wanted: set[str]) -> dict[str, tuple[int | None, bool]]:
    """IMEI → (device id, passes white on to a new IMEI)."""
    rows = conn.execute(
        select(
            imeis.c.imei,
            imeis.c.device_id,
            imeis.c.list,
            imeis.c.trusted_source,
            imeis.c.verified,
            imeis.c.paired,
            imeis.c.gsma_blacklisted,
            imeis.c.reported_stolen,
        ).where(imeis.c.imei.in_(sorted(wanted)))
    )
    return {
        row.imei: (
            row.device_id,
            not (row.gsma_blacklisted or row.reported_stolen)
            and (
                row.list == ListName.WHITE.value
                or bool(row.trusted_source or row.verified or row.paired)
            ),
        )
        for row in rows
    }


def _apply(
    conn: Connection,
    accepted: list[_Repair],
    known: dict[str, tuple[int | None, bool]],
    organisation: str,
    now: datetime,
    rules: Rules,
) -> dict[str, int]:
    facts: list[Fact] = []
    inherited = applied = 0
    ensure_imeis(conn, (new for _, _, new, _, _ in accepted), now=now, rules=rules)
    for _line, old, new, repaired_at, document in accepted:
        device_id, passes_white = known[old]
        pair = (repairs.c.old_imei == old, repairs.c.new_imei == new)
        if conn.execute(select(repairs.c.id).where(*pair)).first() is not None:
            continue  # recorded by an earlier file: applying it again would change nothing
        applied += 1
        conn.execute(
            repairs.insert().values(
                old_imei=old,
                new_imei=new,
                organisation=organisation,
                document=document,
                repaired_at=repaired_at,
                recorded_at=now,
            )
        )
        if device_id is not None:
            conn.execute(update(imeis).where(imeis.c.imei == new).values(device_id=device_id))
        reference = f"repair {document or ''} {old}->{new}".strip()
        facts.append(Fact(old, FactKind.RETIRED_BY_REPAIR, organisation, repaired_at, reference))
        if passes_white:
            inherited += 1
            facts.append(
                Fact(new, FactKind.TRUSTED_REGISTRATION, organisation, repaired_at, reference)
            )
    changed = record_facts(conn, facts, now=now, rules=rules, source=f"repair:{organisation}")
    return {
        "repairs": applied,
        "already_recorded": len(accepted) - applied,
        "inherited": inherited,
        "not_inherited": applied - inherited,
        "list_changes": changed,
    }


def _read_file(path: Path, report: UploadReport, now: datetime, rules: Rules) -> list[_Repair]:
    found: list[_Repair] = []
    pairs: set[tuple[str, str]] = set()
    moments = MomentReader(now)
    with csv_rows(path, COLUMNS) as rows:
        for line, row in rows:
            report.rows_total += 1
            read = extra_fields_error(line, row) or _read_row(line, row, moments, rules)
            if isinstance(read, RowError):
                report.add_error(read)
            elif (read[1], read[2]) in pairs:
                report.add_error(RowError(line, None, "DUPLICATE_ROW", "the repair is repeated"))
            else:
                pairs.add((read[1], read[2]))
                found.append(read)
    return found


def _read_row(
    line: int, row: dict[str, str], moments: MomentReader, rules: Rules
) -> _Repair | RowError:
    imeis_read: list[str] = []
    for column in ("old_imei", "new_imei"):
        reading = read_imei(row[column], rules.reserved_tac_prefixes)
        if reading.imei is None or reading.invalid_reason is not None:
            reason = reading.invalid_reason.value if reading.invalid_reason else "INVALID_FORMAT"
            return RowError(line, column, reason, f"{row[column]!r} is not a valid IMEI ({reason})")
        imeis_read.append(reading.imei)
    old, new = imeis_read
    if old == new:
        return RowError(line, "new_imei", "SAME_IMEI", "old and new IMEI are the same")
    moment = moments.read(line, "repaired_on", row["repaired_on"], required=True)
    if isinstance(moment, RowError):
        return moment
    return line, old, new, moment, row["document"][:200] or None
