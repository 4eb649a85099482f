"""Answering bursts of MICRs of one layout at once, as rows of a numpy matrix.

An MME pipelines its checks: under load one TCP read holds tens of requests of one layout
(`layout.py`), and answering them one at a time costs ~3 µs of bytecode each — three times
what a bare echo server spends on a message. Here requests are rows of a uint8 matrix (a
view of the received bytes) and each step is one call for all of them:

1. `BurstAnswerer.accept` (per connection, as its bytes are framed): the run of requests
   of the layout whose `rows & mask == expected`, where the mask keeps every constant byte
   of the layout whole, only the top bit of the variable values (they must be ASCII, so
   they decode as the full scan would decode them), the top nibble of the IMEI (0x3_),
   and nothing of the hop-by-hop and end-to-end ids: one `tobytes` comparison. The run
   becomes a `Segment`; the first request of another shape ends it and goes back to the
   one-by-one path, which answers it (or scans it in full).
2. `answer_segments` (once per pass of the event loop, `server.Batch`): the segments of
   every connection with equal layouts become one matrix. `_imei_keys` reads the IMEIs as
   int64 keys (a 14-digit IMEI or 16-digit IMEISV gets its Luhn check digit, as
   `domain.imei.read_imei` gives it; an IMEI with a byte 0x3A-0x3F gets a key no index
   holds). The status source's `equipment_codes` looks all keys up at once, judges the
   IMEIs the index lacks one by one as the one-by-one path would, and records every check
   exactly once.
3. Answers (`_fill_answers`): template rows of the success answer, the ids and the
   Session-Id AVP copied in from the requests, the Equipment-Status (the answer's last
   byte: 0 white, 1 black, 2 grey) set from the codes; `tobytes` per segment. An IMEI the
   registry has not seen gets the "equipment unknown" answer built for its row.

The per-row loops (`_imei_keys`, `_fill_answers`, and the index's `_probe_codes`) are
compiled with numba: the same work as numpy expressions took ~40 array calls per burst,
about 1 µs each, more than the bytes themselves (S13 CPU per answer 2.1 -> 1.8 µs).

`tests/interfaces/diameter/test_s13_burst.py` checks, with hypothesis, that bursts answer
and record exactly as one by one, for one connection and for several read together.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Callable, Mapping
from typing import TypeVar

import numpy as np
from numba import njit

from tizim.services.status_index import warm_index_probe

# (15-digit IMEIs as int64, the IMEI AVPs as rows of ASCII bytes, the User-Names as rows or
# None, Origin-Realm) -> one code per IMEI: 0 white, 1 black, 2 grey, 3 unknown. The source
# records every check it answers. An IMEI AVP that is not digits has the key NOT_AN_IMEI:
# the source judges its text, as any IMEI it does not hold.
Codes = Callable[[np.ndarray, np.ndarray, "np.ndarray | None", "str | None"], np.ndarray]

MIN_BURST = 4  # fewer requests than this are cheaper one by one
MAX_BURST = 512
CACHED_RUNS = 32
CACHED_ROWS = 128
Run = TypeVar("Run", bytes, np.ndarray)
UNKNOWN = 3  # the code `Codes` gives a valid IMEI the registry has never seen
NOT_AN_IMEI = -2  # a key no index holds (an empty slot is -1)
_ID_BYTES = (12, 20)

log = logging.getLogger(__name__)


class Segment:
    """Requests of one connection accepted for a burst, answered later (`answer_segments`).

    Stands in the connection's list of answers, in the place of its requests' answers,
    until `answers` holds them.
    """

    __slots__ = ("answerer", "answers", "rows")

    def __init__(self, answerer: BurstAnswerer, rows: np.ndarray) -> None:
        self.answerer = answerer
        self.rows = rows  # a view of the received bytes: one request per row
        self.answers: list[bytes] = []


class BurstAnswerer:
    """Answers runs of requests of one `MicrLayout`; built by the layout, used by its run.

    `key` is equal for the answerers of equal layouts, whichever connection learned them,
    so the segments of all connections read in one pass of the event loop are answered in
    one burst (`answer_segments`).
    """

    __slots__ = (
        "answer_runs",
        "codes",
        "copied",
        "copy_spans",
        "expected",
        "expected_runs",
        "failed",
        "imei",
        "imsi",
        "key",
        "length",
        "mask",
        "realm",
        "session_apart",
        "template",
        "unknown",
    )

    def __init__(
        self,
        *,
        length: int,
        mask: np.ndarray,
        expected: np.ndarray,
        imei: tuple[int, int],
        imsi: tuple[int, int] | None,
        session: tuple[int, int],
        template: np.ndarray,
        unknown: tuple[bytes, bytes],
        codes: Codes,
        realm: str | None,
        failed: Callable[[bytes], bytes],
    ) -> None:
        self.length = length
        self.failed = failed  # the answer to a request when the status source raised
        self.mask = mask
        self.expected = expected
        # count -> `expected` repeated count times; count -> count rows of the answer template
        self.expected_runs: dict[int, bytes] = {}
        self.answer_runs: dict[int, np.ndarray] = {}
        self.imei = slice(*imei)
        self.imsi = None if imsi is None else slice(*imsi)
        self.template = template
        # the "equipment unknown" answer: its bytes before the ids and after the Session-Id
        self.unknown = unknown
        # request columns -> answer columns: the ids, and the Session-Id AVP after them;
        # one copy when the Session-Id is the first AVP (as it should be), else two
        session_start, session_stop = session
        session_columns = slice(20, 20 + session_stop - session_start)
        if session_start == _ID_BYTES[1]:
            self.copied = slice(12, session_stop), slice(12, session_columns.stop)
            self.session_apart: tuple[slice, slice] | None = None
        else:
            self.copied = slice(*_ID_BYTES), slice(*_ID_BYTES)
            self.session_apart = slice(session_start, session_stop), session_columns
        # (request start, answer start, length) of each copied span, for `_fill_answers`
        spans = [(self.copied[0].start, self.copied[1].start, self.copied[0].stop - 12)]
        if self.session_apart is not None:
            spans.append((session_start, session_columns.start, session_stop - session_start))
        self.copy_spans = np.array(spans, np.int64)
        self.codes = codes
        self.realm = realm
        # the constants of the request fix everything else (the answer template, the realm)
        self.key = (length, mask.tobytes(), expected.tobytes(), imei, imsi, session, id(codes))

    def accept(self, buf: bytes, pos: int, out: list[bytes | Segment]) -> int:
        """Take the plain requests of this layout from `buf[pos:]` as one `Segment`.

        Appends the segment to `out` and returns where it stopped: before the first request
        that is not plain (another shape, a value byte that is not ASCII, an IMEI byte
        outside 0x30-0x3F), or at the end. Nothing is looked up yet. At least `MIN_BURST` whole
        messages must follow `pos` (the caller checks).
        """
        length = self.length
        count = min((len(buf) - pos) // length, MAX_BURST)
        rows = np.frombuffer(buf, np.uint8, count * length, pos).reshape(count, length)
        masked = rows & self.mask
        expected = self.expected_runs.get(count) or self._expected_run(count)
        if masked.tobytes() != expected:  # stop before the first row of another shape
            count = _first_true((masked != self.expected).any(axis=1))
            if count == 0:
                return pos
            rows = rows[:count]
        out.append(Segment(self, rows))
        return pos + count * length

    def answer_rows(self, rows: np.ndarray) -> tuple[np.ndarray, list[int]]:
        """Look up and answer requests of this shape (from one or several connections).

        Returns the answer rows (valid until the next call with as many rows) and, in
        order, the rows coded UNKNOWN, which need an answer of their own (`pieces`).
        """
        imei = self.imei
        keys = _imei_keys(rows, imei.start, imei.stop)
        imsis = None if self.imsi is None else rows[:, self.imsi]
        codes = self.codes(keys, rows[:, imei], imsis, self.realm)
        answers = self.answer_runs.get(len(rows))
        if answers is None:
            answers = self._answer_run(len(rows))
        unknown = np.empty(len(rows), np.int64)
        found = _fill_answers(rows, answers, codes, self.copy_spans, unknown)
        return answers, unknown[:found].tolist()

    def pieces(
        self, answers: np.ndarray, unknown: list[int], rows: np.ndarray, start: int, stop: int
    ) -> list[bytes]:
        """The answers to rows[start:stop] as bytes, in order (`unknown` as `answer_rows`)."""
        first = bisect_left(unknown, start)
        if first == len(unknown) or unknown[first] >= stop:
            return [answers[start:stop].tobytes()]
        out = []
        done = start
        head, tail = self.unknown
        ids = self.copied[0]
        for row in unknown[first : bisect_left(unknown, stop, first)]:
            # a valid IMEI the registry has not seen: an answer of its own
            if row > done:
                out.append(answers[done:row].tobytes())
            request = rows[row]
            if self.session_apart is None:
                middle = request[ids].tobytes()
            else:
                middle = request[12:20].tobytes() + request[self.session_apart[0]].tobytes()
            out.append(head + middle + tail)
            done = row + 1
        if done < stop:
            out.append(answers[done:stop].tobytes())
        return out

    def _expected_run(self, count: int) -> bytes:
        """The masked bytes a burst of `count` requests of this layout shows."""
        return _kept(self.expected_runs, count, np.tile(self.expected, count).tobytes())

    def _answer_run(self, count: int) -> np.ndarray:
        """`count` rows of the answer template, to fill in."""
        return _kept(self.answer_runs, count, np.tile(self.template, (count, 1)))


def _kept(runs: dict[int, Run], count: int, run: Run) -> Run:
    """`run`, kept in `runs` if `count` is one of the small counts a peer's window repeats.

    At most `CACHED_RUNS` counts of up to `CACHED_ROWS` rows are kept (~1.3 MB per layout
    at worst, and a connection holds a few layouts); larger bursts are rare enough to build
    theirs each time.
    """
    if count <= CACHED_ROWS:
        if len(runs) >= CACHED_RUNS:
            runs.clear()
        runs[count] = run
    return run


def answer_segments(segments: list[Segment]) -> None:
    """Answer every segment, one burst per shape: all connections' requests of one layout.

    If the status source fails on a burst, its requests are answered with the failure
    answer (as one request whose lookup raised is), and nothing of it was recorded.
    """
    groups: dict[tuple[object, ...], list[Segment]] = {}
    for segment in segments:
        groups.setdefault(segment.answerer.key, []).append(segment)
    for group in groups.values():
        answerer = group[0].answerer
        rows = group[0].rows if len(group) == 1 else np.concatenate([s.rows for s in group])
        try:
            answers, unknown = answerer.answer_rows(rows)
        except Exception:
            log.exception("equipment status lookup of a burst failed")
            for segment in group:
                segment.answers = [answerer.failed(row.tobytes()) for row in segment.rows]
            continue
        start = 0
        for segment in group:
            stop = start + len(segment.rows)
            segment.answers = answerer.pieces(answers, unknown, rows, start, stop)
            start = stop


def _first_true(flags: np.ndarray) -> int:
    return int(np.argmax(flags))


@njit(cache=True)  # holds the GIL: a burst is microseconds, a GIL hand-off costs more
def _imei_keys(rows: np.ndarray, start: int, stop: int) -> np.ndarray:
    """The 15-digit IMEIs as int64 from the ASCII digits in `rows[:, start:stop]`: as given
    (15), or the first 14 digits and their Luhn check digit (14, 16); NOT_AN_IMEI where a
    byte is 0x3A-0x3F (the burst's mask lets only 0x30-0x3F through). Compiled: one call
    per burst, reading the received bytes in place."""
    digits = 15 if stop - start == 15 else 14
    keys = np.empty(rows.shape[0], np.int64)
    for row in range(rows.shape[0]):
        key = 0
        total = 0
        for column in range(digits):
            digit = np.int64(rows[row, start + column]) - 48
            key = key * 10 + digit
            if column % 2 == 0:
                total += digit
            else:
                total += digit * 2 - 9 if digit > 4 else digit * 2  # a doubled digit's sum
        if digits == 14:
            key = key * 10 + (10 - total % 10) % 10
        for column in range(start, stop):
            if rows[row, column] > 0x39:
                key = NOT_AN_IMEI  # the source judges the text
        keys[row] = key
    return keys


@njit(cache=True)  # holds the GIL: a burst is microseconds, a GIL hand-off costs more
def _fill_answers(
    rows: np.ndarray, answers: np.ndarray, codes: np.ndarray, spans: np.ndarray, unknown: np.ndarray
) -> int:
    """Copy each request's ids and Session-Id into its answer row (`spans`: request start,
    answer start, length), set the Equipment-Status byte from its code, and list in
    `unknown` the rows coded UNKNOWN; returns how many those are."""
    last = answers.shape[1] - 1
    found = 0
    for row in range(rows.shape[0]):
        for span in range(spans.shape[0]):
            source, target, length = spans[span, 0], spans[span, 1], spans[span, 2]
            answers[row, target : target + length] = rows[row, source : source + length]
        code = codes[row]
        answers[row, last] = code
        if code == UNKNOWN:
            unknown[found] = row
            found += 1
    return found


def warm_up() -> None:
    """Compile (or load from numba's cache) the burst kernels for every argument type they
    meet: the received bytes are read-only rows, a burst of several reads a new array.

    The S13 server calls this before it listens, so no peer's first burst waits for the
    compiler (seconds on a fresh install, ~0.6 s to load the cached code).
    """
    read_only = np.frombuffer(bytes(64), np.uint8).reshape(2, 32)
    spans = np.array([[12, 12, 8]], np.int64)
    for rows in (read_only, read_only.copy()):
        keys = _imei_keys(rows, 0, 15)
        codes = warm_index_probe(keys)
        _fill_answers(rows, np.zeros((2, 32), np.uint8), codes, spans, np.empty(2, np.int64))


def burst_answerer(
    msg: bytes,
    *,
    variable: list[tuple[int, int]],
    imei: tuple[int, int],
    imsi: tuple[int, int] | None,
    session_avp: tuple[int, int],
    parts: Mapping[str, tuple[bytes, bytes]],
    codes: Codes,
    realm: str | None,
    failed: Callable[[bytes], bytes],
) -> BurstAnswerer | None:
    """The burst answerer of a layout, or None where its requests cannot be answered so.

    `variable` lists the spans of the values (ids excluded); `parts` gives per status word
    the answer's bytes before the ids and after the Session-Id (`Answers.mica_parts`).
    """
    words = ("white", "black", "grey", "unknown")
    if imei[1] - imei[0] not in (14, 15, 16) or any(word not in parts for word in words):
        return None
    (head, white), (_, black), (_, grey) = (parts[word] for word in words[:3])
    # the three success answers differ only in the Equipment-Status value, the last byte
    if not (white[:-1] == black[:-1] == grey[:-1]) or (white[-1], black[-1], grey[-1]) != (
        0,
        1,
        2,
    ):
        return None
    length = len(msg)
    mask = np.full(length, 0xFF, np.uint8)
    expected = np.frombuffer(msg, np.uint8).copy()
    for start, stop in variable:
        mask[start:stop] = 0x80  # any ASCII byte
        expected[start:stop] = 0
    mask[imei[0] : imei[1]] = 0xF0  # digits are 0x30-0x39; 0x3A-0x3F are caught afterwards
    expected[imei[0] : imei[1]] = 0x30
    mask[_ID_BYTES[0] : _ID_BYTES[1]] = 0
    expected[_ID_BYTES[0] : _ID_BYTES[1]] = 0
    session = msg[session_avp[0] : session_avp[1]]
    template = np.frombuffer(head + bytes(8) + session + white, np.uint8).copy()
    return BurstAnswerer(
        length=length,
        mask=mask,
        expected=expected,
        imei=imei,
        imsi=imsi,
        session=session_avp,
        template=template,
        unknown=parts["unknown"],
        codes=codes,
        realm=realm,
        failed=failed,
    )
