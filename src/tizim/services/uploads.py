"""The record of every upload and feed load: who, when, which file (SHA-256), counts, report."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from tizim.services.csv_input import UploadReport
from tizim.storage.schema import uploads


def outcome_of(report: UploadReport) -> str:
    if report.refused:
        return "refused"
    if report.duplicate_of is not None:
        return "duplicate"
    return "partially_accepted" if report.errors_total else "accepted"


def record_upload(
    conn: Connection,
    report: UploadReport,
    *,
    organisation: str | None,
    uploaded_by: str | None,
    now: datetime,
) -> int:
    """Store the upload and its report; returns its id, also set as `report.upload_id`.

    Refused files are recorded too. Callers learn the id from here, never by looking the
    file up again: two organisations may send the very same bytes at the same moment.
    """
    report.upload_id = int(
        conn.execute(
            uploads.insert()
            .values(
                kind=report.kind,
                organisation=organisation,
                file_name=report.file_name,
                sha256=report.sha256,
                outcome=outcome_of(report),
                rows_total=report.rows_total,
                rows_accepted=report.rows_accepted,
                rows_rejected=report.rows_rejected,
                report=json.dumps(report.as_dict(), ensure_ascii=False),
                uploaded_by=uploaded_by,
                uploaded_at=now,
            )
            .returning(uploads.c.id)
        ).scalar_one()
    )
    return report.upload_id


def previous_acceptance(
    conn: Connection, *, kind: str, organisation: str | None, sha256: str
) -> int | None:
    """The id of an earlier accepted load of the very same file, if any (idempotency)."""
    return conn.execute(
        select(uploads.c.id)
        .where(
            uploads.c.kind == kind,
            uploads.c.sha256 == sha256,
            uploads.c.organisation.is_(None)
            if organisation is None
            else uploads.c.organisation == organisation,
            uploads.c.outcome.in_(("accepted", "partially_accepted")),
        )
        .order_by(uploads.c.id)
        .limit(1)
    ).scalar()


def stored_report(conn: Connection, upload_id: int) -> dict[str, Any] | None:
    text = conn.execute(select(uploads.c.report).where(uploads.c.id == upload_id)).scalar()
    return json.loads(text) if text else None
