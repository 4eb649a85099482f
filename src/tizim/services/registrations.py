"""Trusted registrations: importers and manufacturers declare devices, whose IMEIs become white.

File: `device_ref,imei,brand,model,document,registered_on` (FORMATS.md). Rows with the same
`device_ref` are the 1-4 IMEIs of one device. **The rows of one device must be adjacent**
(every export we know of writes them so): grouping then needs only the current device in
memory, and a file of a million devices streams in one pass. A `device_ref` that comes back
after other devices is reported as an error on those rows, never silently merged.

A device is accepted whole or rejected whole: every IMEI must be valid and appear once in the
file; with a TAC database loaded, every TAC must be known, all IMEIs must be of one model and
there may be no more of them than the model's `sim_slots`. Checked rows are staged, and the
merge (conflicts, devices, IMEIs, facts, lists) is set-based SQL in `registrations_merge`.
On PostgreSQL the file is checked in a thread and merged in chunks meanwhile
(`registrations_pipeline`), inside a savepoint. Above the bad-row threshold the file is
refused and nothing of it is stored.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from tizim.clock import parse_moment
from tizim.domain.rules import Rules
from tizim.services.csv_input import FileRefused, RowError, UploadReport, file_sha256
from tizim.services.feed_common import Record, csv_records, rewrite_upload
from tizim.services.imei_reading import clean_imei, read_imei_fast
from tizim.services.orgs import OrganisationError, Role, get_organisation
from tizim.services.registrations_merge import (
    RegistrationStaging,
    clear_staging,
    draw_device_ids,
    merge_registrations,
    next_device_id,
    registration_staging,
)
from tizim.services.registrations_pipeline import CheckedChunks, Row
from tizim.services.uploads import previous_acceptance, record_upload
from tizim.storage.schema import tacs
from tizim.storage.staging import RowWriter

KIND = "registrations"
COLUMNS = ("device_ref", "imei", "brand", "model", "document", "registered_on")
MAX_IMEIS_PER_DEVICE = 4
REGISTERING_ROLES = frozenset({Role.IMPORTER, Role.MANUFACTURER})
# IMEIs merged at a time on PostgreSQL (whole devices): a small first chunk, growing to the most.
FIRST_CHUNK_ROWS, MOST_CHUNK_ROWS = 50_000, 400_000


@dataclass(frozen=True)
class TacModel:
    brand: str
    model: str
    sim_slots: int


def register_devices(
    conn: Connection,
    path: Path,
    *,
    organisation: str,
    now: datetime,
    rules: Rules,
    bad_row_threshold: float,
    file_name: str | None = None,
    uploaded_by: str | None = None,
) -> UploadReport:
    """Load one registrations file for `organisation`; the report is recorded and returned.

    Refused files (bad header, too many bad rows) come back with `refused=True` and change
    nothing but the upload record; the same file accepted before comes back as a duplicate.
    """
    org = get_organisation(conn, organisation)
    if org is None:
        raise OrganisationError(f"no organisation {organisation!r}")
    if org.role not in REGISTERING_ROLES:
        raise OrganisationError(
            f"{organisation} is a {org.role.value}: only importers and manufacturers register"
        )
    report = UploadReport(KIND, file_name or path.name, file_sha256(path))
    earlier = previous_acceptance(conn, kind=KIND, organisation=org.code, sha256=report.sha256)
    if earlier is not None:
        report.duplicate_of = earlier
        report.counts = {"devices_accepted": 0, "imeis_registered": 0}
        record_upload(conn, report, organisation=org.code, uploaded_by=uploaded_by, now=now)
        return report
    # Written first: the merged rows and conflicts carry its id. Rewritten with the final report.
    upload_id = record_upload(conn, report, organisation=org.code, uploaded_by=uploaded_by, now=now)
    checker = _DeviceChecker(report, _tac_models(conn), rules, now)
    merge = partial(
        merge_registrations, conn, organisation=org.code, upload_id=upload_id, now=now, rules=rules
    )
    with registration_staging(conn) as staging, _without_cycle_collection():
        try:
            if conn.dialect.name == "postgresql":
                counts = _check_and_merge_in_chunks(
                    conn, path, checker, staging, merge, bad_row_threshold
                )
            else:
                _check_into_staging(conn, path, checker, staging)
                report.refuse_if_too_bad(bad_row_threshold)  # before the merge: no savepoint
                counts = merge(staging)
        except FileRefused as refusal:
            report.refused, report.refusal = True, str(refusal)
            rewrite_upload(conn, upload_id, report)
            return report
    report.counts = {"devices_accepted": checker.devices_accepted, **counts}
    report.counts["devices_rejected"] = checker.devices_rejected
    rewrite_upload(conn, upload_id, report)
    return report


def _check_and_merge_in_chunks(
    conn: Connection,
    path: Path,
    checker: _DeviceChecker,
    staging: RegistrationStaging,
    merge: Callable[[RegistrationStaging], dict[str, int]],
    bad_row_threshold: float,
) -> dict[str, int]:
    """PostgreSQL: chunks are checked in a thread while earlier ones merge (see the pipeline).

    Chunks are merged before the file is known to be acceptable; a refusal (too many bad
    rows, a damaged file) rolls back to the savepoint, and nothing of the file remains.
    """
    savepoint = conn.begin_nested()
    counts: Counter[str] = Counter()
    try:
        chunks = CheckedChunks(partial(checker.check_file, path), FIRST_CHUNK_ROWS, MOST_CHUNK_ROWS)
        for rows in chunks:
            _stage_chunk(conn, staging, rows)
            chunks.resume()  # checks the next chunk while the server merges this one
            counts.update(merge(staging, first_chunk=not counts))
            clear_staging(conn, staging)
        checker.report.refuse_if_too_bad(bad_row_threshold)
        if not counts:  # nothing staged: the report still lists every count, as zeros
            counts.update(merge(staging))
    except FileRefused:
        savepoint.rollback()
        raise
    savepoint.commit()
    return dict(counts)


def _stage_chunk(conn: Connection, staging: RegistrationStaging, rows: list[Row]) -> None:
    """Copy one chunk (sorted by IMEI) with device ids drawn now, in first-IMEI order."""
    ids = iter(draw_device_ids(conn, sum(row[5] is not None for row in rows)))
    id_of: dict[int, int] = {}
    devices: list[Row] = []
    with RowWriter(conn, staging.imeis, staging.imei_columns, typed=True) as out:
        write = out.write
        for imei, seq, ref, document, registered_on, model in rows:
            device_id = id_of.get(seq)
            if device_id is None:
                device_id = id_of[seq] = next(ids)
            if model is not None:
                devices.append((device_id, *model))
            write((imei, device_id, ref, document, registered_on))
    with RowWriter(conn, staging.devices, staging.device_columns, typed=True) as out:
        out.write_many(devices)


def _check_into_staging(
    conn: Connection, path: Path, checker: _DeviceChecker, staging: RegistrationStaging
) -> None:
    """SQLite: the whole file streamed into staging; device ids follow the current maximum."""
    base = next_device_id(conn) - 1
    with (
        RowWriter(conn, staging.imeis, staging.imei_columns) as imei_out,
        RowWriter(conn, staging.devices, staging.device_columns) as device_out,
    ):

        def write(row: Row) -> None:
            imei, seq, ref, document, registered_on, model = row
            if model is not None:
                device_out.write((base + seq, *model))
            imei_out.write((imei, base + seq, ref, document, registered_on))

        checker.check_file(path, write)


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while a file is checked.

    A million-device file leaves millions of long-lived objects (the IMEIs and device_refs
    seen so far); each full collection walks them all, a fifth of the checking time, to find
    no cycles: the checker makes none. Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _tac_models(conn: Connection) -> dict[str, TacModel]:
    """The whole TAC table (a few hundred thousand rows at most): one dict look-up per IMEI."""
    return {
        row.tac: TacModel(row.brand, row.model, row.sim_slots)
        for row in conn.execute(select(tacs.c.tac, tacs.c.brand, tacs.c.model, tacs.c.sim_slots))
    }


class _DeviceChecker:
    """Streams the file, groups adjacent rows by device_ref, checks and stages each device.

    Nearly every device of a large file is clean; it takes a fast path (one pass, no
    per-row objects). Anything unusual goes through the full checks, which name each fault.
    """

    def __init__(
        self, report: UploadReport, models: dict[str, TacModel], rules: Rules, now: datetime
    ) -> None:
        self.report = report
        self.models = models
        self.rules = rules
        self.prefixes = rules.reserved_tac_prefixes
        self.now = now
        self.finished_refs: set[str] = set()
        self.accepted_imeis: set[int] = set()  # ints: half the memory of 1.5 M strings
        self.moments: dict[str, datetime | None] = {"": None}  # parsed, valid, not future
        self.devices_accepted = 0
        self.devices_rejected = 0
        self.write: Callable[[tuple[Any, ...]], None]
        self.device_done: Callable[[], None] | None = None

    def check_file(
        self,
        path: Path,
        write: Callable[[tuple[Any, ...]], None],
        device_done: Callable[[], None] | None = None,
    ) -> None:
        """Check every row; each accepted device's rows go to `write`, then `device_done()`."""
        self.write = write
        self.device_done = device_done
        finish = self._finish
        ref: str | None = None
        rows: list[Record] = []
        error: str | None = None
        with csv_records(path, COLUMNS) as records:
            for record in records:
                self.report.rows_total += 1
                if record[1][0] != ref:
                    if rows:
                        finish(ref or "", rows, error)
                    ref, rows, error = record[1][0], [], None
                    if not ref:
                        error = "device_ref is empty"
                    elif ref in self.finished_refs:
                        error = (
                            f"device_ref {ref!r} appeared earlier in the file:"
                            " the rows of one device must be adjacent"
                        )
                rows.append(record)
        if rows:
            finish(ref or "", rows, error)

    def _finish(self, ref: str, rows: list[Record], error: str | None) -> None:
        self.finished_refs.add(ref)
        if error is None and len(rows) <= MAX_IMEIS_PER_DEVICE and self._stage_if_clean(ref, rows):
            return
        self._check_in_full(ref, rows, error)

    def _stage_if_clean(self, ref: str, rows: list[Record]) -> bool:
        """Stage a device whose every row is plainly valid; False (nothing done) otherwise."""
        models, moments, prefixes = self.models, self.moments, self.prefixes
        model: TacModel | None = None
        seen: list[str] = []
        for _line, values, extra in rows:
            imei = values[1]
            if extra is not None or not clean_imei(imei, prefixes) or imei in seen:
                return False
            if int(imei) in self.accepted_imeis or values[5] not in moments:
                return False
            if models:
                found = models.get(imei[:8])
                if found is None or (
                    model is not None and (found.brand, found.model) != (model.brand, model.model)
                ):
                    return False
                if model is None or found.sim_slots < model.sim_slots:
                    model = found
            seen.append(imei)
        if model is not None and len(rows) > model.sim_slots:
            return False
        self._stage(ref, [(line, values[1], values) for line, values, _extra in rows], model)
        return True

    def _check_in_full(self, ref: str, rows: list[Record], whole: str | None) -> None:
        errors: dict[int, RowError] = {}
        imeis: list[tuple[int, str, list[str]]] = []
        for line, values, extra in rows:
            found = self._row_error(line, values, extra, {imei for _, imei, _ in imeis})
            if isinstance(found, RowError):
                errors[line] = found
            else:
                imeis.append((line, found, values))
        whole = whole or self._device_error(len(rows), [imei for _, imei, _ in imeis])
        if whole is None and not errors:
            model = self.models.get(imeis[0][1][:8]) if self.models else None
            self._stage(ref, imeis, model)
            return
        self.devices_rejected += 1
        first_bad = min(errors) if errors else rows[0][0]
        for line, _values, _extra in rows:
            error = errors.get(line) or RowError(
                line,
                "device_ref",
                "DEVICE_REJECTED",
                whole or f"another row of device {ref!r} (line {first_bad}) is invalid",
            )
            self.report.add_error(error)

    def _row_error(
        self, line: int, values: list[str], extra: str | None, in_device: set[str]
    ) -> RowError | str:
        """The row's 15-digit IMEI, or what is wrong with the row."""
        if extra is not None:
            return RowError(line, None, "EXTRA_FIELDS", "the row has more fields than the header")
        raw = values[1]
        reading = read_imei_fast(raw, self.prefixes)
        if reading.invalid_reason is not None or reading.imei is None:
            reason = reading.invalid_reason.value if reading.invalid_reason else "INVALID_FORMAT"
            return RowError(line, "imei", reason, f"{raw!r} is not a valid IMEI ({reason})")
        imei = reading.imei
        if imei in in_device or int(imei) in self.accepted_imeis:
            return RowError(line, "imei", "DUPLICATE_IMEI", f"IMEI {imei} is already in the file")
        if self.models and imei[:8] not in self.models:
            return RowError(
                line, "imei", "UNKNOWN_TAC", f"TAC {imei[:8]} is not in the TAC database"
            )
        text = values[5]
        if text not in self.moments:
            try:
                registered_on = parse_moment(text)
            except ValueError:
                return RowError(line, "registered_on", "BAD_TIME", f"{text!r} is not ISO 8601")
            if registered_on > self.now:
                return RowError(
                    line, "registered_on", "FUTURE_TIME", "registered_on is in the future"
                )
            self.moments[text] = registered_on  # parsed once per distinct (valid) value
        return imei

    def _device_error(self, row_count: int, imeis: list[str]) -> str | None:
        if row_count > MAX_IMEIS_PER_DEVICE:
            return f"a device has 1 to {MAX_IMEIS_PER_DEVICE} IMEIs, not {row_count}"
        if not self.models or not imeis:
            return None
        models = {(m.brand, m.model) for m in (self.models[imei[:8]] for imei in imeis)}
        if len(models) > 1:
            return "the IMEIs of one device belong to different models in the TAC database"
        slots = min(self.models[imei[:8]].sim_slots for imei in imeis)
        if row_count > slots:
            return f"the model has {slots} SIM slot(s) but the device lists {row_count} IMEIs"
        return None

    def _stage(
        self, ref: str, imeis: list[tuple[int, str, list[str]]], model: TacModel | None
    ) -> None:
        self.devices_accepted += 1
        seq = self.devices_accepted
        first = imeis[0][2]
        brand = model.brand if model else first[2][:100] or None
        name = model.model if model else first[3][:200] or None
        ref = ref[:100]
        write, accepted, moments = self.write, self.accepted_imeis, self.moments
        device: tuple[str | None, str | None] | None = (brand, name)  # rides on the first IMEI
        for _line, imei, values in imeis:
            accepted.add(int(imei))
            write((imei, seq, ref, values[4][:200] or None, moments[values[5]], device))
            device = None
        self.report.rows_accepted += len(imeis)
        if self.device_done is not None:
            self.device_done()
