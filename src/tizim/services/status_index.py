"""The in-memory status index: the list of every known IMEI, answered without a database trip.

Operators' networks ask about every attach (S13, N5g-eir), so the answer must come from
memory in microseconds. A Python dict of 10 M IMEI strings costs ~1.5 GB; this index is an
open-addressing hash table in two flat arrays instead:

- `keys`: the 15-digit IMEI as an int64 (empty slot = -1), table size a prime >= n / 0.55;
- `values`: an int32 per slot packing the list (2 bits) and, for grey IMEIs, the Almaty
  calendar day of the grace deadline (days since 1970-01-01, shifted left by 2).

12 bytes a slot, ~22 bytes an IMEI at the build load of 0.55: 10 M IMEIs = ~210 MB, 50 M
= ~1 GB (see README). A lookup is a multiplicative hash of the key and on average 1-2 probes
in Python. Changes are written in place (value first, then key, so a reader on another
thread never sees a key without its value); when the load factor passes 0.7 the table is
rebuilt twice as large with numpy and swapped in by one reference assignment.

The index stores the *materialised* list, which only the clock can make wrong between two
sweeps: a grey IMEI whose deadline has passed is answered black by comparing the deadline
day with today's Almaty date (deadlines are local midnights, so `now < deadline` is exactly
`today < deadline_day`). IMEIs the index has never met are judged by the domain rules
(`read_imei`, reserved codes, Luhn, TAC database): valid ones are "unknown". That judgement
depends only on the input and the TAC set, and costs ~10 µs (the Luhn digit alone ~4 µs), so
the last `MAX_JUDGED` judged inputs are remembered with the TAC set they were judged
against; a remembered answer is used only while its IMEI is still not in the table and the
TAC set is the same object. Repeated checks of an IMEI the index does not hold yet (every
attach until its first sighting is written and followed) then cost a dictionary probe.

Keeping it current is `tizim.services.index_follower`'s job.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from numba import njit

from tizim.clock import Clock, SystemClock
from tizim.domain.imei import authenticity_reason, read_imei
from tizim.domain.reasons import Reason
from tizim.domain.rules import Rules
from tizim.domain.status import ListName

WHITE, BLACK, GREY, UNKNOWN = 0, 1, 2, 3
LIST_CODES = {"white": WHITE, "black": BLACK, "grey": GREY, "unknown": UNKNOWN}
CODE_WORDS = ("white", "black", "grey", "unknown")
EMPTY = -1
MAX_LOAD = 0.7
MAX_JUDGED = 65_536  # rule-judged answers remembered; cleared whole when full
BUILD_LOAD = 0.55
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# Fibonacci hashing: IMEIs come in runs (consecutive serials of one TAC); a bare `key % size`
# would put a run in consecutive slots, one long probe chain. Multiplying by 2^64/phi (mod
# 2^64, as numpy's uint64 does) scatters them.
HASH_MIX = 0x9E3779B97F4A7C15
MASK64 = 0xFFFFFFFFFFFFFFFF
_MIX = np.uint64(HASH_MIX)


@dataclass(frozen=True, slots=True)
class IndexAnswer:
    """The index's answer for one input: the 15-digit IMEI (None if unreadable) and its list."""

    imei: str | None
    list: ListName
    grace_deadline: datetime | None
    reason: Reason | None = None  # set only for answers judged by the domain rules

    @property
    def never_seen(self) -> bool:
        """A valid IMEI the registry has no row for: this check is its first sighting."""
        return self.list is ListName.UNKNOWN and self.reason is Reason.NOT_SEEN


class _Table:
    """One generation of the hash table. Replaced whole on growth, never resized."""

    __slots__ = ("count", "key_view", "keys", "size", "size_u64", "value_view", "values")

    def __init__(self, size: int) -> None:
        self.size = size
        self.size_u64 = np.uint64(size)
        self.keys = array("q", [EMPTY]) * size
        self.values = array("i", [0]) * size
        self.count = 0
        # numpy views of the same memory, for probing many keys at once (`StatusIndex.codes`)
        self.key_view = np.frombuffer(self.keys, dtype=np.int64)
        self.value_view = np.frombuffer(self.values, dtype=np.int32)

    def find(self, key: int) -> int:
        """The slot holding `key`, or the empty slot where it would go (as -1 - slot)."""
        keys, size = self.keys, self.size
        slot = ((key * HASH_MIX) & MASK64) % size
        while True:
            found = keys[slot]
            if found == key:
                return slot
            if found == EMPTY:
                return -1 - slot
            slot += 1
            if slot == size:
                slot = 0

    def put(self, key: int, value: int) -> None:
        slot = self.find(key)
        if slot >= 0:
            self.values[slot] = value
            return
        slot = -1 - slot
        self.values[slot] = value  # value before key: readers never see a key without it
        self.keys[slot] = key
        self.count += 1

    def fill(self, keys: np.ndarray, values: np.ndarray) -> None:
        """Insert many distinct keys at once (linear probing, resolved in numpy rounds)."""
        table_keys, table_values = self.key_view, self.value_view
        slots = self.home_slots(keys.astype(np.int64))
        pending = np.arange(len(keys))
        while pending.size:
            wanted = slots[pending]
            free = table_keys[wanted] == EMPTY
            free_slots, first = np.unique(wanted[free], return_index=True)
            winners = pending[free][first]
            table_values[free_slots] = values[winners]
            table_keys[free_slots] = keys[winners]
            placed = np.zeros(len(keys), dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            slots[pending] = (slots[pending] + 1) % self.size
        self.count += len(keys)

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        used = self.key_view != EMPTY
        return self.key_view[used].copy(), self.value_view[used].copy()

    def home_slots(self, keys: np.ndarray) -> np.ndarray:
        """Each int64 key's first slot (`find`'s hash, in numpy), as a new int64 array."""
        return ((keys.view(np.uint64) * _MIX) % self.size_u64).view(np.int64)

    def codes(self, keys: np.ndarray, today: int) -> tuple[np.ndarray, bool]:
        """`StatusIndex.codes` on this table: each key's list code (-1 if absent), and
        whether every key is present."""
        codes = np.empty(len(keys), np.int8)
        absent = _probe_codes(keys, self.key_view, self.value_view, today, codes)
        return codes, absent == 0


@njit(cache=True)  # holds the GIL: a burst is microseconds, a GIL hand-off costs more
def _probe_codes(
    keys: np.ndarray,
    table_keys: np.ndarray,
    table_values: np.ndarray,
    today: int,
    codes: np.ndarray,
) -> int:
    """`_Table.find` + `StatusIndex.stored_status` per key, compiled: writes each key's list
    code to `codes` (-1 where the key is absent) and returns how many are absent.

    One compiled call answers a whole burst: a numpy expression of the same probe costs
    ~20 array operations per burst and walks the keys not at their first slot in Python.
    """
    size = table_keys.shape[0]
    mix, usize = np.uint64(HASH_MIX), np.uint64(size)
    absent = 0
    for row in range(keys.shape[0]):
        key = keys[row]
        slot = np.int64((np.uint64(key) * mix) % usize)  # uint64 products wrap, as in `find`
        while True:
            found = table_keys[slot]
            if found == key:
                value = table_values[slot]
                code = value & 3
                if code == GREY and 0 < value >> 2 <= today:
                    code = BLACK  # past its grace deadline
                codes[row] = code
                break
            if found == EMPTY:
                codes[row] = -1
                absent += 1
                break
            slot += 1
            if slot == size:
                slot = 0
    return absent


def warm_index_probe(keys: np.ndarray) -> np.ndarray:
    """Compile (or load) `_probe_codes` by probing a tiny empty table: every key absent."""
    return _Table(3).codes(keys, 0)[0]


def clock_seconds(clock: Clock) -> Callable[[], float]:
    """The clock as a POSIX-seconds function; the system clock without building datetimes."""
    if type(clock) is SystemClock:
        return time.time
    return lambda: clock.now().timestamp()


def table_size(count: int) -> int:
    """The first prime at or above count / BUILD_LOAD."""
    size = max(int(count / BUILD_LOAD) + 1, 101)
    while not _is_prime(size):
        size += 1
    return size


def _is_prime(n: int) -> bool:
    if n % 2 == 0:
        return n == 2
    return all(n % d for d in range(3, int(n**0.5) + 1, 2))


def deadline_day(deadline: datetime | None, rules: Rules) -> int:
    """Days since 1970-01-01 of the Almaty date from which a grey IMEI is black (0 = none).

    A deadline that is not a local midnight (never written by the rules) rounds up: the index
    would rather answer grey a few hours longer than block a device early.
    """
    if deadline is None:
        return 0
    day = rules.local_date(deadline)
    if rules.local_midnight(day) < deadline:
        day = date.fromordinal(day.toordinal() + 1)
    return day.toordinal() - _EPOCH_ORDINAL


def pack(list_name: str, deadline: int) -> int:
    return (deadline << 2) | LIST_CODES.get(list_name, UNKNOWN)


class StatusIndex:
    """Every known IMEI's list, in memory; thread-safe for one writer and many readers."""

    def __init__(
        self,
        rules: Rules,
        clock: Clock | None = None,
        tacs: Iterable[str] | None = None,
        expected: int = 0,
    ) -> None:
        self.rules = rules
        self.clock = clock or SystemClock()
        self._table = _Table(table_size(expected))
        self.tacs: frozenset[str] | None = frozenset(tacs) if tacs is not None else None
        self._timestamp = clock_seconds(self.clock)
        self._day = (0, 0.0, 0.0)  # (today, its first second, the next day's first second)
        # raw input -> (the TAC set it was judged with, answer), for inputs not in the table
        self._judged: dict[str, tuple[frozenset[str] | None, IndexAnswer]] = {}

    # ---- building and changing -------------------------------------------------------------

    @classmethod
    def from_arrays(
        cls,
        keys: np.ndarray,
        values: np.ndarray,
        rules: Rules,
        clock: Clock | None = None,
        tacs: Iterable[str] | None = None,
    ) -> StatusIndex:
        """An index over distinct int64 IMEIs and their packed values (see `pack`)."""
        index = cls(rules, clock, tacs, expected=len(keys))
        index._table.fill(np.asarray(keys, dtype=np.int64), np.asarray(values, dtype=np.int32))
        return index

    def set(self, imei: str, list_name: str, grace_deadline: datetime | None) -> None:
        """Record the current list of one IMEI, as `imeis` has it. One writer thread only."""
        table = self._table
        if table.count + 1 > table.size * MAX_LOAD:
            table = self._grow()
        table.put(int(imei), pack(list_name, deadline_day(grace_deadline, self.rules)))

    def set_tacs(self, tacs: Iterable[str] | None) -> None:
        self.tacs = frozenset(tacs) if tacs is not None else None

    def _grow(self) -> _Table:
        old = self._table
        keys, values = old.items()
        new = _Table(table_size(old.count * 2))
        new.fill(keys, values)
        self._table = new  # one reference swap: readers use the old table or the new one
        return new

    def replace_contents(self, other: StatusIndex) -> None:
        """Take over a freshly loaded index's table and TACs (one reference swap each)."""
        self._table = other._table
        self.tacs = other.tacs

    def __len__(self) -> int:
        return self._table.count

    @property
    def memory_bytes(self) -> int:
        table = self._table
        return table.size * (table.keys.itemsize + table.values.itemsize)

    # ---- answering ---------------------------------------------------------------------------

    def equipment_status(self, imei: str) -> str:
        """The list word ("white", "grey", "black", "unknown") of any raw IMEI input."""
        if len(imei) == 15 and imei.isdigit() and imei.isascii():
            word = self.stored_status(int(imei))
            if word is not None:
                return word
        return self.check(imei).list.value

    def stored_status(self, key: int) -> str | None:
        """The list of a known 15-digit IMEI (as an int) now, else None.

        (The production S13 path, `RealtimeChecks.equipment_status`, inlines this probe.)
        """
        table = self._table
        slot = table.find(key)
        if slot < 0:
            return None
        value = table.values[slot]
        code = value & 3
        if code == GREY and 0 < value >> 2 <= self.today():
            return "black"
        return CODE_WORDS[code]

    def codes(self, keys: np.ndarray) -> tuple[np.ndarray, bool]:
        """`stored_status` for many 15-digit IMEIs (int64) at once, as list codes (int8).

        WHITE, BLACK or GREY per key (a grey IMEI past its deadline is BLACK), -1 where the
        key is not in the index; and whether every key is. The S13 server answers a burst
        of pipelined requests with one call instead of one probe each
        (`interfaces/diameter/burst.py`); the probe is compiled (`_probe_codes`).
        """
        table = self._table  # one reference: a concurrent growth swap is seen whole or not
        return table.codes(keys, self.today())

    def check_absent(self, raw: str) -> IndexAnswer:
        """`check` for an input whose IMEI a probe has just not found in the table.

        A remembered judgement is used without probing again; anything else is `check`.
        """
        return self._remembered(raw, self.tacs) or self.check(raw)

    def check(self, raw: str) -> IndexAnswer:
        """The full answer for one raw IMEI/IMEISV input, with the grace deadline."""
        tacs = self.tacs
        answer = self._remembered(raw, tacs)
        if answer is not None and (answer.imei is None or self._table.find(int(answer.imei)) < 0):
            return answer  # still not in the index, and judged with today's TACs
        reading = read_imei(raw, self.rules.reserved_tac_prefixes)
        if reading.imei is None:
            return self._judge(
                raw, tacs, IndexAnswer(None, ListName.BLACK, None, Reason.INVALID_FORMAT)
            )
        table = self._table
        slot = table.find(int(reading.imei))
        if slot >= 0:
            value = table.values[slot]
            code, day = value & 3, value >> 2
            deadline = self._deadline(day) if day else None
            if code == GREY and 0 < day <= self.today():
                return IndexAnswer(reading.imei, ListName.BLACK, deadline)
            return IndexAnswer(reading.imei, ListName(CODE_WORDS[code]), deadline)
        tac_known = None if tacs is None else reading.imei[:8] in tacs
        reason = authenticity_reason(reading, tac_known)
        if reason is not None:
            return self._judge(raw, tacs, IndexAnswer(reading.imei, ListName.BLACK, None, reason))
        return self._judge(
            raw, tacs, IndexAnswer(reading.imei, ListName.UNKNOWN, None, Reason.NOT_SEEN)
        )

    def _remembered(self, raw: str, tacs: frozenset[str] | None) -> IndexAnswer | None:
        """The answer judged for `raw` with this TAC set, if it is remembered."""
        judged = self._judged.get(raw)
        return judged[1] if judged is not None and judged[0] is tacs else None

    def _judge(self, raw: str, tacs: frozenset[str] | None, answer: IndexAnswer) -> IndexAnswer:
        """Remember a rule-judged answer (a pure function of the input and the TAC set)."""
        judged = self._judged
        if len(judged) >= MAX_JUDGED:
            judged.clear()
        judged[raw] = (tacs, answer)
        return answer

    def today(self) -> int:
        """Today's Almaty date as days since 1970-01-01, recomputed only when the day turns."""
        moment = self._timestamp()
        today, start, end = self._day  # one tuple, so other threads never see half an update
        if start <= moment < end:
            return today
        rules = self.rules
        day = rules.local_date(datetime.fromtimestamp(moment, rules.zone))
        start = rules.local_midnight(day).timestamp()
        end = rules.local_midnight(date.fromordinal(day.toordinal() + 1)).timestamp()
        self._day = (day.toordinal() - _EPOCH_ORDINAL, start, end)
        return self._day[0]

    def _deadline(self, day: int) -> datetime:
        return self.rules.local_midnight(date.fromordinal(day + _EPOCH_ORDINAL))
