"""Real-time equipment checks: the status index answers, the check recorder remembers.

One `RealtimeChecks` is shared by the S13 server, the N5g-eir route and the operators' batch
check, in one process. It is the S13 `EquipmentStatusSource`.

Which operator a check comes from (the `sightings.operator` column):
- S13: the request's Origin-Realm mapped to an organisation code (`realms`, configured with
  `tizim serve --s13-realm REALM=CODE`), else the IMSI's MCC-MNC mapped to the operator
  organisation that declared it (`organisations.mcc_mncs`), else "s13:<origin realm>";
- N5g-eir: the SUPI's MCC-MNC, else "n5g-eir";
- the batch API: the calling organisation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Engine

from tizim.clock import Clock
from tizim.domain.rules import Rules
from tizim.domain.status import ListName
from tizim.services.check_recorder import CheckRecorder, S13Block
from tizim.services.index_follower import IndexFollower
from tizim.services.status_index import (
    CODE_WORDS,
    EMPTY,
    GREY,
    HASH_MIX,
    LIST_CODES,
    MASK64,
    IndexAnswer,
    StatusIndex,
    clock_seconds,
)

log = logging.getLogger(__name__)

N5G_CHANNEL = "n5g-eir"
_LIST_CODES = {ListName(word): code for word, code in LIST_CODES.items()}


@dataclass
class OperatorDirectory:
    """Maps Diameter realms and IMSI MCC-MNC prefixes to operator organisation codes."""

    realms: Mapping[str, str] = field(default_factory=dict)
    mcc_mncs: Mapping[str, str] = field(default_factory=dict)

    def for_s13(self, origin_realm: str | None, imsi: str | None) -> str:
        if origin_realm:
            code = self.realms.get(origin_realm)
            if code is not None:
                return code
        return self.for_imsi(imsi) or f"s13:{origin_realm or 'unknown'}"

    def for_imsi(self, imsi: str | None) -> str | None:
        if not imsi:
            return None
        return self.mcc_mncs.get(imsi[:5]) or self.mcc_mncs.get(imsi[:6])


def operator_mcc_mncs(engine: Engine) -> dict[str, str]:
    """MCC-MNC -> operator code from the organisations table, if that feature is installed."""
    try:
        from sqlalchemy import select

        from tizim.storage.tables_orgs import organisations
    except ImportError:
        return {}
    out: dict[str, str] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(organisations.c.code, organisations.c.mcc_mncs).where(
                organisations.c.role == "operator"
            )
        )
        for code, codes in rows:
            for mcc_mnc in (codes or "").split(","):
                if mcc_mnc.strip():
                    out[mcc_mnc.strip()] = code
    return out


class RealtimeChecks:
    """Answer from the index, record the sighting behind; the S13 status source."""

    def __init__(
        self,
        index: StatusIndex,
        recorder: CheckRecorder | None,
        operators: OperatorDirectory | None = None,
    ) -> None:
        self.index = index
        self.recorder = recorder
        self.operators = operators or OperatorDirectory()
        self._follower: IndexFollower | None = None
        # the S13 hot path: bound once, not looked up per check
        self._s13_operators: dict[tuple[str | None, str | None], str] = {}
        self._record = recorder.record if recorder is not None else _ignore
        self._record_s13 = recorder.record_s13 if recorder is not None else _ignore
        self._s13_append: Callable[[tuple[str, str | None, str, float]], None] = _ignore_one
        self._s13_blocks: Callable[[S13Block], None] = _ignore_block
        self._seconds = clock_seconds(index.clock)
        if recorder is not None:  # the drain, not the answer, finds an S13 check's operator
            recorder.s13_operator = self._s13_operator
            self._s13_append = recorder.s13_queue.append
            self._s13_blocks = recorder.s13_blocks.append
            self._seconds = recorder.seconds

    @classmethod
    def start(
        cls,
        engine: Engine,
        rules: Rules,
        clock: Clock | None = None,
        *,
        realms: Mapping[str, str] | None = None,
        poll_seconds: float | None = None,
        flush_seconds: float | None = None,
    ) -> RealtimeChecks:
        """Load the index, start following changes and recording checks; `stop()` to end."""
        follower = IndexFollower.load(engine, rules, clock)
        if poll_seconds is not None:
            follower.poll_seconds = poll_seconds
        recorder = CheckRecorder(engine, rules, clock)
        if flush_seconds is not None:
            recorder.flush_seconds = flush_seconds
        directory = OperatorDirectory(dict(realms or {}), operator_mcc_mncs(engine))
        checks = cls(follower.index, recorder, directory)
        checks._follower = follower.start()
        recorder.start()
        return checks

    def stop(self) -> None:
        """Stop following and write every recorded check (no sighting lost)."""
        if self._follower is not None:
            self._follower.stop()
        if self.recorder is not None:
            self.recorder.stop()

    @property
    def follower(self) -> IndexFollower | None:
        return self._follower

    def equipment_status(
        self,
        imei: str,
        software_version: str | None,
        imsi: str | None,
        origin_realm: str | None = None,
    ) -> str:
        """S13: "white", "grey", "black" or "unknown"; the check is queued as a sighting.

        The answer path of every S13 check, so `StatusIndex.stored_status` (the probe) and
        `CheckRecorder.record_s13` (the append) are inlined: a Python call costs as much as
        the probe itself. Same reads as `stored_status`: one `_table` reference, so a
        concurrent growth swap is seen whole or not at all.
        """
        if len(imei) == 15 and imei.isdigit() and imei.isascii():
            key = int(imei)
            table = self.index._table
            keys, size = table.keys, table.size
            slot = ((key * HASH_MIX) & MASK64) % size
            while True:
                found = keys[slot]
                if found == key:
                    value = table.values[slot]
                    code = value & 3
                    self._s13_append((imei, origin_realm, imsi or "", self._seconds()))
                    if code == GREY and 0 < value >> 2 <= self.index.today():
                        return "black"
                    return CODE_WORDS[code]
                if found == EMPTY:
                    break
                slot += 1
                if slot == size:
                    slot = 0
        answer = self.index.check(imei)
        if answer.imei is not None:
            self._record_s13(answer.imei, origin_realm, imsi)
        return answer.list.value

    def equipment_codes(
        self,
        imeis: np.ndarray,
        imei_texts: np.ndarray,
        imsis: np.ndarray | None,
        origin_realm: str | None,
    ) -> np.ndarray:
        """S13 for a burst of pipelined requests (`interfaces/diameter/burst.py`) at once.

        `imeis` are the 15-digit IMEIs (int64) of IMEI AVPs whose digits are the rows of
        `imei_texts` (ASCII); `imsis` the User-Names as rows of ASCII bytes, or None. Returns
        a list code per IMEI (WHITE, BLACK, GREY, UNKNOWN). The index answers the burst in
        one call; an IMEI it does not hold is judged one by one, as `equipment_status`
        does. The checks are queued as one block (IMEIs, User-Names, realm, time).
        """
        codes, all_found = self.index.codes(imeis)
        if all_found:
            users = None if imsis is None else imsis.copy()  # not a view of the received bytes
            self._s13_blocks((imeis, users, origin_realm, self._seconds()))
            return codes
        absent = np.flatnonzero(codes < 0)
        texts = np.ascontiguousarray(imei_texts[absent])
        check = self.index.check_absent
        unreadable = []
        raws = texts.view(f"V{texts.shape[1]}").ravel().tolist()  # one bytes per row
        for row, text in zip(absent.tolist(), raws, strict=True):
            answer = check(text.decode("ascii"))
            codes[row] = _LIST_CODES[answer.list]
            # the IMEI it read is the row's key (read_imei and the burst agree on the check
            # digit), so it joins the block; unreadable text is no sighting
            if answer.imei is None:
                unreadable.append(row)
        if not unreadable:
            users = None if imsis is None else imsis.copy()
            self._s13_blocks((imeis, users, origin_realm, self._seconds()))
        elif len(unreadable) < len(codes):
            recorded = np.ones(len(codes), bool)
            recorded[unreadable] = False
            users = None if imsis is None else imsis[recorded]
            self._s13_blocks((imeis[recorded], users, origin_realm, self._seconds()))
        return codes

    def _s13_operator(self, origin_realm: str | None, imsi: str | None) -> str:
        """`OperatorDirectory.for_s13`, memoised by realm and IMSI prefix (run per check by
        the recorder's drain thread)."""
        key = (origin_realm, imsi[:6] if imsi else None)
        operator = self._s13_operators.get(key)
        if operator is None:
            if len(self._s13_operators) > 10_000:  # bound the memo against garbage realms
                self._s13_operators.clear()
            operator = self._s13_operators[key] = self.operators.for_s13(origin_realm, imsi)
        return operator

    def check(self, raw: str, *, operator: str, imsi: str | None = None) -> IndexAnswer:
        """N5g-eir and the batch API: the full answer; the check is queued as a sighting."""
        answer = self.index.check(raw)
        if answer.imei is not None:
            self._record(answer.imei, operator, imsi)
        return answer

    def operator_for_supi(self, imsi: str | None) -> str:
        return self.operators.for_imsi(imsi) or N5G_CHANNEL


def _ignore(imei: str, operator: str | None, imsi: str | None) -> None:
    """The recorder of an index used without one (benchmarks of the answer alone)."""


def _ignore_one(check: tuple[str, str | None, str, float]) -> None:
    """`_ignore` for the inlined S13 append."""


def _ignore_block(block: S13Block) -> None:
    """`_ignore` for a burst of S13 checks."""
