"""Write-behind of real-time checks: every S13/N5g-eir/batch check is a network sighting.

A check must answer in microseconds, so it only appends `(imei, operator, imsi, time)` to an
in-memory deque (thread-safe, no lock); an S13 check appends its Origin-Realm instead of the
operator, which the drain resolves (`s13_operator`), so the answer path does not. A
background thread drains the queues every `flush_seconds` (default 1 s), folds repeated
checks of the same IMEI-operator-IMSI into one first and one last time, and writes the
batch in one transaction with the operator-file ingest's merge (`tizim.services.ingest`):
`sightings` per IMEI-operator-IMSI (MSISDN "": S13 and N5g-eir do not carry it), `imeis`
first/last sighting (new IMEIs judged for authenticity), then
`refresh_statuses` for the IMEIs whose sightings moved: a first check starts the grace
period, a check of a retired IMEI blocks it — the same rules as every other sighting.

Durability: `stop()` (clean shutdown: Ctrl-C, SIGTERM) drains and writes everything, so no
sighting is lost. A failed write keeps the batch in memory and retries at the next flush.
A crash (kill -9, power loss) loses what was not yet written: at most `flush_seconds` of
checks plus the batch in flight. That is accepted: devices attach again and again, and the
next attach records the sighting (its time then being a little later than the first).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from itertools import islice
from operator import itemgetter

import numpy as np
from sqlalchemy import Connection, Engine, func, select

from tizim.clock import Clock, SystemClock
from tizim.domain.rules import Rules
from tizim.services.ingest_postgres import PostgresObservationStage
from tizim.services.ingest_sqlite import SqliteObservationStage
from tizim.services.observations import Observation, ObservationReader
from tizim.services.status_index import clock_seconds
from tizim.storage.queries import tac_database_loaded
from tizim.storage.refresh import refresh_statuses
from tizim.storage.schema import tacs

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
STOP_RETRY_SECONDS = 30.0
REFRESH_SOURCE = "realtime-check"

Key = tuple[str, str, str]  # imei, operator, imsi
# A burst of S13 checks answered at once: 15-digit IMEIs (int64), their User-Names (rows of
# ASCII bytes, one row per IMEI) or None, the Origin-Realm, the time they were answered.
S13Block = tuple[np.ndarray, "np.ndarray | None", "str | None", float]


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
        self.seconds = clock_seconds(self.clock)
        self._queue: deque[tuple[str, str, str, float]] = deque()
        # (imei, origin realm, imsi or "", seconds); RealtimeChecks appends to it directly
        self.s13_queue: deque[tuple[str, str | None, str, float]] = deque()
        self.s13_blocks: deque[S13Block] = deque()  # RealtimeChecks.equipment_codes appends
        # (origin realm, IMSI or "") -> operator code; RealtimeChecks sets its directory's
        self.s13_operator: Callable[[str | None, str], str] = _s13_realm
        self._pending: dict[Key, list[float]] = {}  # drained, not yet written
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0
        self._tac_count = -1
        self._tac_set: frozenset[str] | None = None

    def record(self, imei: str, operator: str, imsi: str | None) -> None:
        """Queue one sighting of a 15-digit IMEI, timed now. Cheap: one deque append."""
        self._queue.append((imei, operator, imsi or "", self.seconds()))

    def record_s13(self, imei: str, origin_realm: str | None, imsi: str | None) -> None:
        """`record` for S13: the operator is resolved from realm and IMSI when draining."""
        self.s13_queue.append((imei, origin_realm, imsi or "", self.seconds()))

    def start(self) -> CheckRecorder:
        self._thread = threading.Thread(target=self._run, name="check-recorder", daemon=True)
        self._thread.start()
        return self

    def stop(self, *, retry_seconds: float = STOP_RETRY_SECONDS) -> None:
        """Stop the thread and write every queued sighting.

        A write that fails is retried for `retry_seconds` (raising after that): at shutdown
        several processes flush at once (S13 workers), and SQLite turns a writer away at
        once, without waiting, when another one holds the write lock.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        deadline = time.monotonic() + retry_seconds
        pause = 0.05
        while True:
            try:
                self.flush()
                return
            except Exception:
                if time.monotonic() + pause > deadline:
                    raise
                log.warning("writing checked sightings at shutdown failed; retrying")
                time.sleep(pause)
                pause = min(pause * 2, 1.0)

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            try:
                self.flush()
            except Exception:  # keep the batch; the next flush retries it
                log.exception("writing checked sightings failed; will retry")

    @property
    def queued(self) -> int:
        blocks = sum(len(block[0]) for block in list(self.s13_blocks))
        return len(self._queue) + len(self.s13_queue) + blocks + len(self._pending)

    def flush(self) -> int:
        """Write everything queued so far; returns how many sighting rows were written."""
        with self._flush_lock:
            self._drain()
            if not self._pending:
                return 0
            batch = self._pending
            with self.engine.begin() as conn:
                tac_set = self._tacs(conn)
                write_sightings(
                    conn, batch, now=self.clock.now(), rules=self.rules, tac_set=tac_set
                )
            self._pending = {}
            self.written += len(batch)
            return len(batch)

    def _tacs(self, conn: Connection) -> frozenset[str] | None:
        """The TAC set, re-read only when the TAC table's size changes (a feed was loaded)."""
        count = int(conn.execute(select(func.count()).select_from(tacs)).scalar_one())
        if count != self._tac_count:
            self._tac_set, self._tac_count = known_tacs(conn), count
        return self._tac_set

    def _drain(self) -> None:
        pending = self._pending
        queue = self._queue  # N5g-eir and the batch API: folded one by one
        popleft = queue.popleft
        for _ in range(len(queue)):
            imei, operator, imsi, seen = popleft()
            _fold(pending, (imei, operator, imsi), seen, seen)
        self._drain_blocks()
        s13 = self.s13_queue
        checks = list(islice(iter(s13.popleft, None), len(s13)))  # popped at C speed
        if not checks:
            return
        # S13 brings hundreds of thousands a second to a thread that shares the GIL with the
        # answers, so they are folded at C speed: appended in time order, the last time per
        # key is the one dict() keeps, the first the one it keeps from the reversed list (a
        # wall clock stepped back within one flush may swap them; the merge takes either).
        last = dict(zip(map(_S13_KEY, checks), map(_S13_SEEN, checks), strict=True))
        checks.reverse()
        first = dict(zip(map(_S13_KEY, checks), map(_S13_SEEN, checks), strict=True))
        resolve = self.s13_operator  # once per distinct check, not per check
        for key, seen in first.items():
            imei, realm, imsi = key
            _fold(pending, (imei, resolve(realm, imsi), imsi), seen, last[key])

    def _drain_blocks(self) -> None:
        """Fold the S13 bursts: one first and one last time per IMEI-realm-IMSI.

        Hundreds of thousands of checks a second, so the fold is numpy's: blocks of one
        realm and User-Name width are concatenated and their distinct (IMEI, User-Name)
        pairs found by one sort; the operator is resolved once per distinct IMSI prefix
        (`s13_operator` reads no further than the MCC-MNC), and the pairs enter the pending
        map in one `dict.update` unless one is already there (then one by one).
        """
        blocks = self.s13_blocks
        drained = list(islice(iter(blocks.popleft, None), len(blocks)))
        groups: dict[tuple[str | None, int], list[S13Block]] = {}
        for block in drained:
            width = 0 if block[1] is None else block[1].shape[1]
            groups.setdefault((block[2], width), []).append(block)
        pending = self._pending
        for (realm, width), group in groups.items():
            imeis, users, operators, firsts, lasts, alone = _distinct_checks(
                group, width, realm, self.s13_operator
            )
            keys = list(zip([f"{imei:015d}" for imei in imeis], operators, users, strict=True))
            times = list(map(list, zip(firsts, lasts, strict=True)))
            shared = np.flatnonzero(~alone).tolist()  # runs of an IMEI seen with several IMSIs
            if shared:
                for row in shared:
                    _fold(pending, keys[row], *times[row])
                single = np.flatnonzero(alone).tolist()
                keys, times = [keys[row] for row in single], [times[row] for row in single]
            # the other pairs are distinct: one update, unless an earlier fold holds one
            if pending.keys().isdisjoint(keys):
                pending.update(zip(keys, times, strict=True))
                continue
            for key, (first, last) in zip(keys, times, strict=True):
                _fold(pending, key, first, last)


def _distinct_checks(
    blocks: list[S13Block],
    width: int,
    realm: str | None,
    resolve: Callable[[str | None, str], str],
) -> tuple[list[int], list[str], list[str], list[float], list[float], np.ndarray]:
    """IMEIs, User-Names, operators, first and last times of each run of one pair in blocks
    of one realm and width, and per run whether it is its IMEI's only run.

    The checks are sorted by IMEI only (numpy's quicksort: the fastest of its sorts), so
    one pair may come out as more than one run when an IMEI was checked with several
    User-Names (those runs are not alone; `_fold` merges them). User-Names compare as raw
    bytes (a void view).
    """
    imeis = np.concatenate([block[0] for block in blocks])
    times = np.repeat([block[3] for block in blocks], [len(block[0]) for block in blocks])
    order = np.argsort(imeis)
    imeis, times = imeis[order], times[order]
    starts = np.empty(len(imeis), bool)
    starts[0] = True
    np.not_equal(imeis[1:], imeis[:-1], out=starts[1:])
    if width:
        rows = np.concatenate([block[1] for block in blocks if block[1] is not None])[order]
        names = rows.view(f"V{width}").ravel()
        starts[1:] |= names[1:] != names[:-1]
    firsts = np.flatnonzero(starts)
    count = len(firsts)
    run_imeis = imeis[firsts]
    alone = np.ones(count, bool)
    repeated = np.flatnonzero(run_imeis[1:] == run_imeis[:-1])
    alone[repeated] = alone[repeated + 1] = False
    if width:
        users = [name.decode("ascii") for name in names[firsts].tolist()]
        # one resolution per distinct MCC-MNC prefix (`RealtimeChecks._s13_operator` keys
        # its memo on the first six characters too)
        prefix = min(width, 6)
        prefixes, which = np.unique(
            np.ascontiguousarray(rows[firsts, :prefix]).view(f"V{prefix}").ravel(),
            return_inverse=True,
        )
        resolved = [resolve(realm, bytes(p).decode("ascii")) for p in prefixes.tolist()]
        operators = [resolved[index] for index in which.ravel().tolist()]
    else:
        users = [""] * count
        operators = [resolve(realm, "")] * count
    return (
        run_imeis.tolist(),
        users,
        operators,
        np.minimum.reduceat(times, firsts).tolist(),
        np.maximum.reduceat(times, firsts).tolist(),
        alone,
    )


_S13_KEY = itemgetter(0, 1, 2)
_S13_SEEN = itemgetter(3)


def _fold(pending: dict[Key, list[float]], key: Key, first: float, last: float) -> None:
    times = pending.get(key)
    if times is None:
        pending[key] = [first, last]
    else:
        times[0], times[1] = min(times[0], first), max(times[1], last)


def write_sightings(
    conn: Connection,
    batch: Mapping[Key, Sequence[float]],
    *,
    now: datetime,
    rules: Rules,
    tac_set: frozenset[str] | None,
) -> int:
    """Record aggregated sightings (key -> first, last POSIX seconds); returns list changes.

    The merge is the operator-file ingest's own (`tizim.services.ingest`: staging table, set-
    based fold into `imeis` and `sightings`), one operator at a time, so a check and a line of
    an operator's file are the same fact by construction.
    """
    by_operator: dict[str, list[Observation]] = {}
    # The verdict must not query: on PostgreSQL it runs while the merge streams a COPY.
    judge = ObservationReader(now=now, rules=rules, known_tacs=tac_set).authenticity
    postgres = conn.dialect.name == "postgresql"
    for (imei, operator, imsi), (first, last) in batch.items():
        imsi = imsi if len(imsi) <= 15 and imsi.isdigit() else ""
        verdict = None if postgres else judge(imei)  # PostgreSQL judges new IMEIs after staging
        rows = by_operator.setdefault(operator[:32], [])
        rows.append(Observation(imei, verdict, imsi, "", _utc(first), None))
        if last != first:
            rows.append(Observation(imei, verdict, imsi, "", _utc(last), None))
    changed = 0
    for operator, observations in by_operator.items():
        stage = PostgresObservationStage(conn) if postgres else SqliteObservationStage(conn)
        stage.open()
        for observation in observations:
            stage.write(observation)
        stage.close_writer()
        source = f"{REFRESH_SOURCE}:{operator}"
        counts = stage.merge(operator=operator, now=now, rules=rules, judge=judge, source=source)
        changed += counts.get("list_changes", 0) + refresh_statuses(
            conn, stage.changed_imeis(), now=now, rules=rules, source=source
        )
        stage.drop()
    return changed


def _s13_realm(origin_realm: str | None, imsi: str) -> str:
    """The operator of an S13 check when no directory is set: its realm."""
    return f"s13:{origin_realm or 'unknown'}"


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def known_tacs(conn: Connection) -> frozenset[str] | None:
    """The TAC database, or None while none is loaded (the UNKNOWN_TAC rule is then off)."""
    if not tac_database_loaded(conn):
        return None
    return frozenset(conn.execute(select(tacs.c.tac)).scalars())
