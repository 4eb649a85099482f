"""Write-behind of real-time checks: every S13/N5g-eir/batch check is a network sighting.

A check must answer in microseconds, so it only appends `(imei, operator, imsi, time)` to an
in-memory deque (thread-safe, no lock). A background thread drains it every `flush_seconds`
(default 1 s), folds repeated checks of the same IMEI-operator-IMSI into one row with first
and last time, and writes the batch in one transaction:
1. `ensure_imeis` (tizim.services.facts): rows for IMEIs never met, with their authenticity;
2. `sightings` upserted per IMEI-operator-IMSI (MSISDN is "": S13 and N5g-eir do not carry it);
3. `imeis.first_seen_at/last_seen_at` widened (earliest/latest, as `record_sighting` does);
4. `refresh_statuses` for the touched IMEIs: a first check starts the grace period, a check
   of a retired IMEI blocks it — the same rules as every other fact.

Durability: `stop()` (clean shutdown: Ctrl-C, SIGTERM) drains and writes everything, so no
sighting is lost. A failed write keeps the batch in memory and retries at the next flush.
A crash (kill -9, power loss) loses what was not yet written: at most `flush_seconds` of
checks plus the batch in flight. That is accepted: devices attach again and again, and the
next attach records the sighting (its time then being a little later than the first).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, bindparam, func, update
from sqlalchemy.dialects import postgresql, sqlite

from tizim.clock import Clock, SystemClock
from tizim.domain.rules import Rules
from tizim.services.facts import ensure_imeis
from tizim.services.status_index import clock_seconds
from tizim.storage.refresh import refresh_statuses
from tizim.storage.schema import imeis, sightings
from tizim.storage.types import UtcDateTime

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
REFRESH_SOURCE = "realtime-check"
_CHUNK = 5_000

Key = tuple[str, str, str]  # imei, operator, imsi


class CheckRecorder:
    """Queue checks as sightings; a thread writes them behind. `stop()` flushes everything."""

    def __init__(
        self,
        engine: Engine,
        rules: Rules,
        clock: Clock | None = None,
        *,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        self.engine = engine
        self.rules = rules
        self.clock = clock or SystemClock()
        self.flush_seconds = flush_seconds
        self._seconds = clock_seconds(self.clock)
        self._queue: deque[tuple[str, str, str, float]] = deque()
        self._pending: dict[Key, list[float]] = {}  # drained, not yet written
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0

    def record(self, imei: str, operator: str, imsi: str | None) -> None:
        """Queue one sighting of a 15-digit IMEI, timed now. Cheap: one deque append."""
        self._queue.append((imei, operator, imsi or "", self._seconds()))

    def start(self) -> CheckRecorder:
        self._thread = threading.Thread(target=self._run, name="check-recorder", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and write every queued sighting (raises if the database refuses)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            try:
                self.flush()
            except Exception:  # keep the batch; the next flush retries it
                log.exception("writing checked sightings failed; will retry")

    @property
    def queued(self) -> int:
        return len(self._queue) + len(self._pending)

    def flush(self) -> int:
        """Write everything queued so far; returns how many sighting rows were written."""
        with self._flush_lock:
            self._drain()
            if not self._pending:
                return 0
            batch = self._pending
            with self.engine.begin() as conn:
                write_sightings(conn, batch, now=self.clock.now(), rules=self.rules)
            self._pending = {}
            self.written += len(batch)
            return len(batch)

    def _drain(self) -> None:
        queue, pending = self._queue, self._pending
        popleft = queue.popleft
        for _ in range(len(queue)):
            imei, operator, imsi, seen = popleft()
            times = pending.get((imei, operator, imsi))
            if times is None:
                pending[(imei, operator, imsi)] = [seen, seen]
            elif seen < times[0]:
                times[0] = seen
            elif seen > times[1]:
                times[1] = seen


def write_sightings(
    conn: Connection, batch: Mapping[Key, Sequence[float]], *, now: datetime, rules: Rules
) -> int:
    """Record aggregated sightings (key -> first, last POSIX seconds); returns list changes."""
    rows = [
        {
            "imei": imei,
            "operator": operator[:32],
            "imsi": imsi if len(imsi) <= 15 and imsi.isdigit() else "",
            "msisdn": "",
            "first_seen_at": _utc(first),
            "last_seen_at": _utc(last),
        }
        for (imei, operator, imsi), (first, last) in batch.items()
    ]
    touched = sorted({row["imei"] for row in rows})
    ensure_imeis(conn, touched, now=now, rules=rules)
    _upsert_sightings(conn, rows)
    _widen_imei_sightings(conn, rows)
    changed = 0
    for chunk in _chunks(touched):
        changed += refresh_statuses(
            conn, imeis.c.imei.in_(chunk), now=now, rules=rules, source=REFRESH_SOURCE
        )
    return changed


def _upsert_sightings(conn: Connection, rows: list[dict[str, object]]) -> None:
    postgres = conn.dialect.name == "postgresql"
    statement = (postgresql if postgres else sqlite).insert(sightings)
    earliest = func.least if postgres else func.min
    latest = func.greatest if postgres else func.max
    statement = statement.on_conflict_do_update(
        index_elements=["imei", "operator", "imsi", "msisdn"],
        set_={
            "first_seen_at": earliest(sightings.c.first_seen_at, statement.excluded.first_seen_at),
            "last_seen_at": latest(sightings.c.last_seen_at, statement.excluded.last_seen_at),
        },
    )
    for start in range(0, len(rows), _CHUNK):
        conn.execute(statement, rows[start : start + _CHUNK])


def _widen_imei_sightings(conn: Connection, rows: list[dict[str, object]]) -> None:
    """First/last sighting of each IMEI: earliest and latest of the stored and the new times."""
    span: dict[str, list[datetime]] = {}
    for row in rows:
        first, last = row["first_seen_at"], row["last_seen_at"]
        assert isinstance(first, datetime) and isinstance(last, datetime)
        known = span.setdefault(str(row["imei"]), [first, last])
        known[0], known[1] = min(known[0], first), max(known[1], last)
    first = bindparam("new_first", type_=UtcDateTime)
    last = bindparam("new_last", type_=UtcDateTime)
    if conn.dialect.name == "postgresql":  # least/greatest ignore NULL
        first_expr = func.least(imeis.c.first_seen_at, first)
        last_expr = func.greatest(imeis.c.last_seen_at, last)
    else:  # SQLite's min/max return NULL if any argument is NULL
        first_expr = func.coalesce(func.min(imeis.c.first_seen_at, first), first)
        last_expr = func.coalesce(func.max(imeis.c.last_seen_at, last), last)
    statement = (
        update(imeis)
        .where(imeis.c.imei == bindparam("which"))
        .values(first_seen_at=first_expr, last_seen_at=last_expr)
    )
    params = [
        {"which": imei, "new_first": earliest, "new_last": latest}
        for imei, (earliest, latest) in span.items()
    ]
    for start in range(0, len(params), _CHUNK):
        conn.execute(statement, params[start : start + _CHUNK])


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
