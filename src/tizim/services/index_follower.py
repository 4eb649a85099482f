"""Loading the status index from `imeis` and keeping it current by tailing `status_changes`.

Every list change in the registry goes through `refresh_statuses`, which appends a row to
`status_changes` (tizim.storage.refresh). The follower reads the rows after the last id it
has seen, every `poll_seconds` (default 1 s), and re-reads those IMEIs' current list and
deadline from `imeis`; re-reading makes applying a change twice harmless.

Staleness bound (documented in README): a change committed at time t is in the index by
t + poll_seconds + the time of one poll (milliseconds), i.e. <= 2 s with the defaults, well
inside the promised 5 s. Where that needs care:
- ids are taken before commit, so a transaction can commit an id *below* ones already read
  (a gap). Each skipped id is asked for again at every poll for `gap_seconds` (30 s), so a
  late commit is seen at the next poll after it; an id still missing then was rolled back.
- after a bulk load of more than `reload_backlog` changes (500,000) the follower rebuilds
  the whole index from `imeis` instead of replaying them one by one (~10-20 s per 10 M).
- every `reconcile_seconds` (15 min) the index is rebuilt from `imeis` anyway, which bounds
  what any missed change (a transaction open longer than 30 s) can cost.

Loading uses a binary COPY on PostgreSQL (fixed-width rows parsed by numpy: 10 M IMEIs in
seconds) and a plain cursor on SQLite.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence

import numpy as np
from sqlalchemy import Connection, Engine, func, select

from tizim.clock import Clock
from tizim.domain.rules import Rules
from tizim.services.status_index import StatusIndex, deadline_day, pack
from tizim.storage.schema import imeis, status_changes, tacs

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
GAP_SECONDS = 30.0
BATCH = 20_000
RELOAD_BACKLOG = 500_000
RECONCILE_SECONDS = 900.0
MAX_GAPS = 10_000
_CHUNK = 5_000


def load_index(engine: Engine, rules: Rules, clock: Clock | None = None) -> tuple[StatusIndex, int]:
    """A fresh index of every IMEI, and the last `status_changes` id it already reflects."""
    with engine.connect() as conn:
        high_water = _latest_change_id(conn)
        known_tacs = _tacs(conn)
        if conn.dialect.name == "postgresql":
            keys, values = _copy_postgresql(conn, rules)
        else:
            keys, values = _select_rows(conn, rules)
    index = StatusIndex.from_arrays(keys, values, rules, clock, known_tacs)
    return index, high_water


def _latest_change_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(status_changes.c.id), 0))).scalar_one())


def _tacs(conn: Connection) -> list[str] | None:
    """The TAC database, or None while none is loaded (the UNKNOWN_TAC rule is then off)."""
    found = list(conn.execute(select(tacs.c.tac)).scalars())
    return found or None


_ROW = np.dtype([("n", ">i2"), ("l1", ">i4"), ("key", ">i8"), ("l2", ">i4"), ("value", ">i4")])
_BINARY_HEADER, _BINARY_TRAILER = 19, 2


def _copy_postgresql(conn: Connection, rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    from psycopg import sql

    statement = sql.SQL(
        "COPY (SELECT imei::int8, (COALESCE(ceil(extract(epoch FROM grace_deadline"
        " AT TIME ZONE {tz}) / 86400)::int4, 0) << 2) | CASE list WHEN 'white' THEN 0"
        " WHEN 'black' THEN 1 WHEN 'grey' THEN 2 ELSE 3 END"
        " FROM imeis WHERE imei ~ '^[0-9]{{15}}$') TO STDOUT (FORMAT BINARY)"
    ).format(tz=sql.Literal(rules.timezone))
    raw = conn.connection.driver_connection
    buffer = bytearray()
    with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for chunk in copy:
            buffer += chunk
    count = (len(buffer) - _BINARY_HEADER - _BINARY_TRAILER) // _ROW.itemsize
    rows = np.frombuffer(buffer, dtype=_ROW, count=count, offset=_BINARY_HEADER)
    return rows["key"].astype(np.int64), rows["value"].astype(np.int32)


def _select_rows(conn: Connection, rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    keys: list[int] = []
    values: list[int] = []
    query = select(imeis.c.imei, imeis.c.list, imeis.c.grace_deadline)
    for imei, list_name, deadline in conn.execute(query.execution_options(yield_per=50_000)):
        if len(imei) == 15 and imei.isdigit():
            keys.append(int(imei))
            values.append(pack(list_name, deadline_day(deadline, rules)))
    return np.array(keys, dtype=np.int64), np.array(values, dtype=np.int32)


class IndexFollower:
    """Applies `status_changes` to an index; `poll()` once, or `start()` a polling thread."""

    def __init__(
        self,
        engine: Engine,
        index: StatusIndex,
        high_water: int,
        *,
        poll_seconds: float = POLL_SECONDS,
        gap_seconds: float = GAP_SECONDS,
        reload_backlog: int = RELOAD_BACKLOG,
        reconcile_seconds: float = RECONCILE_SECONDS,
    ) -> None:
        self.engine = engine
        self.index = index
        self.read_mark = high_water  # the highest status_changes id read so far
        self.poll_seconds = poll_seconds
        self.gap_seconds = gap_seconds
        self.reload_backlog = reload_backlog
        self.reconcile_seconds = reconcile_seconds
        self._gaps: dict[int, float] = {}  # id not yet visible -> when first noticed
        self._tac_count = len(index.tacs or ())
        self._loaded_at = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def load(cls, engine: Engine, rules: Rules, clock: Clock | None = None) -> IndexFollower:
        """Load the index from the database; `start()` then keeps it current."""
        index, high_water = load_index(engine, rules, clock)
        follower = cls(engine, index, high_water)
        follower._watch_recent_gaps()
        return follower

    def _watch_recent_gaps(self) -> None:
        """Ids just below the load point still invisible then may belong to open transactions."""
        c = status_changes.c
        low = max(self.read_mark - MAX_GAPS, 0)
        with self.engine.connect() as conn:
            seen = set(conn.execute(select(c.id).where(c.id > low)).scalars())
        now = time.monotonic()
        for missing in range(low + 1, self.read_mark + 1):
            if missing not in seen:
                self._gaps[missing] = now

    def start(self) -> IndexFollower:
        self._thread = threading.Thread(target=self._run, name="status-index", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                if time.monotonic() - self._loaded_at > self.reconcile_seconds:
                    self.reload()
                while self.poll() >= BATCH and not self._stop.is_set():
                    pass  # a backlog: keep reading without waiting
            except Exception:  # the database may be briefly away: keep the last answers
                log.exception("status index poll failed; retrying")

    def poll(self) -> int:
        """Apply the changes committed since the last poll; returns how many rows were read."""
        c = status_changes.c
        with self.engine.connect() as conn:
            self._refresh_tacs(conn)
            latest = _latest_change_id(conn)
            if latest - self.read_mark > self.reload_backlog:
                conn.close()
                self.reload()
                return 0
            rows = conn.execute(
                select(c.id, c.imei).where(c.id > self.read_mark).order_by(c.id).limit(BATCH)
            ).all()
            late = []
            if self._gaps:
                late = conn.execute(select(c.id, c.imei).where(c.id.in_(list(self._gaps)))).all()
            self._apply(conn, sorted({imei for _, imei in (*rows, *late)}))
        self._note_gaps([id_ for id_, _ in rows], [id_ for id_, _ in late])
        return len(rows)

    def _apply(self, conn: Connection, changed: Sequence[str]) -> None:
        index = self.index
        for chunk in _chunks(changed, _CHUNK):
            query = select(imeis.c.imei, imeis.c.list, imeis.c.grace_deadline).where(
                imeis.c.imei.in_(chunk)
            )
            for imei, list_name, deadline in conn.execute(query):
                if len(imei) == 15 and imei.isdigit():
                    index.set(imei, list_name, deadline)

    def _note_gaps(self, read: list[int], late: list[int]) -> None:
        """Remember ids skipped over (not committed yet) and forget those seen or too old."""
        now = time.monotonic()
        for id_ in late:
            self._gaps.pop(id_, None)
        expected = self.read_mark + 1
        for id_ in read:
            for missing in range(expected, min(id_, expected + MAX_GAPS)):
                self._gaps[missing] = now
            expected = id_ + 1
        if read:
            self.read_mark = read[-1]
        expired = [id_ for id_, noticed in self._gaps.items() if now - noticed > self.gap_seconds]
        for id_ in expired:  # never committed: a rolled-back transaction
            del self._gaps[id_]
        if len(self._gaps) > MAX_GAPS:  # a huge concurrent load: the next reconcile covers it
            log.warning("status index: %d change ids not yet visible", len(self._gaps))
            for id_ in sorted(self._gaps)[: len(self._gaps) - MAX_GAPS]:
                del self._gaps[id_]

    def _refresh_tacs(self, conn: Connection) -> None:
        count = int(conn.execute(select(func.count()).select_from(tacs)).scalar_one())
        if count != self._tac_count:
            self.index.set_tacs(_tacs(conn))
            self._tac_count = count

    def reload(self) -> None:
        """Rebuild the whole index from `imeis` (after a bulk load, and every reconcile period)."""
        fresh, high_water = load_index(self.engine, self.index.rules, self.index.clock)
        self.index.replace_contents(fresh)
        self.read_mark = high_water
        self._gaps.clear()
        self._loaded_at = time.monotonic()


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
