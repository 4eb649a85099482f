"""Answering a burst of MICRs of one layout at once, as rows of a numpy matrix.

An MME pipelines its checks: under load one TCP read holds tens of requests of one layout
(`layout.py`), and answering them one at a time costs ~3 µs of bytecode each — three times
what a bare echo server spends on a message. Here a burst of k requests of length L is one
k×L uint8 matrix (a view of the received bytes, no copy), and every step is one numpy call
for all of them:

1. Shape: `rows & mask == expected`, where the mask keeps every constant byte of the layout
   whole, only the top bit of the variable values (they must be ASCII, so they decode as
   the full scan would decode them), the top nibble of the IMEI digits (0x3_), and nothing
   of the hop-by-hop and end-to-end ids. One `tobytes` comparison for the whole burst.
2. The IMEI digits (a row with a byte 0x3A-0x3F there is no digit) become int64 keys by a
   product with powers of ten; a 14-digit IMEI or a 16-digit IMEISV gets its Luhn check
   digit, as `domain.imei.read_imei` gives it.
3. The status source's `equipment_codes` looks all keys up in the index at once and queues
   the found ones as sightings (`RealtimeChecks.equipment_codes`).
4. Answers: a template row of the success answer, the ids and the Session-Id AVP copied in
   from the requests, the Equipment-Status (the answer's last byte: 0 white, 1 black, 2 grey)
   set from the codes. One `tobytes` gives the bytes to send.

A row whose shape or digits differ ends the burst before anything is looked up: it and what
follows go back to the one-by-one path, which answers it (or scans it in full), so every
message is looked up and recorded exactly once. Rows whose IMEI the index does not hold are
answered in their place by the one-by-one path, which asks the source's `equipment_status`
(the domain rules judge them; their first sighting is recorded there).
`tests/interfaces/diameter/test_s13_burst.py` checks burst == one by one with hypothesis.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import numpy as np

# (15-digit IMEIs as int64, the IMEI AVPs' digits as rows of ASCII bytes, the User-Names as
# rows or None, Origin-Realm) -> one code per IMEI: 0 white, 1 black, 2 grey, 3 unknown.
# The source records every check it answers.
Codes = Callable[[np.ndarray, np.ndarray, "np.ndarray | None", "str | None"], np.ndarray]

MIN_BURST = 4  # fewer requests than this are cheaper one by one
MAX_BURST = 512
_POWERS_15 = 10 ** np.arange(14, -1, -1, dtype=np.int64)
_POWERS_14 = _POWERS_15[1:]
_ZEROS_15 = 48 * int(_POWERS_15.sum())
UNKNOWN = 3  # the code `Codes` gives a valid IMEI the registry has never seen
_DOUBLED_DIGIT = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.int64)  # Luhn: 2d, digits summed
_ID_BYTES = (12, 20)

log = logging.getLogger(__name__)


class BurstAnswerer:
    """Answers runs of requests of one `MicrLayout`; built by the layout, used by its run."""

    __slots__ = (
        "codes",
        "copied",
        "expected",
        "imei",
        "imsi",
        "length",
        "mask",
        "realm",
        "runs",
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
    ) -> None:
        self.length = length
        self.unknown = (
            unknown  # the "equipment unknown" answer before the ids, after the Session-Id
        )
        self.mask = mask
        self.expected = expected
        # count -> (`expected` repeated count times, `count` answer rows of the template)
        self.runs: dict[int, tuple[bytes, np.ndarray]] = {}
        self.imei = imei
        self.imsi = imsi
        self.template = template
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
        self.codes = codes
        self.realm = realm

    def answer(self, buf: bytes, pos: int, out: list[bytes]) -> int:
        """Answer the plain requests of this layout from `buf[pos:]`; returns where it stopped.

        At least `MIN_BURST` whole messages must follow `pos` (the caller checks).
        """
        length = self.length
        count = min((len(buf) - pos) // length, MAX_BURST)
        rows = np.frombuffer(buf, np.uint8, count * length, pos).reshape(count, length)
        masked = rows & self.mask
        run = self.runs.get(count) or self._run(count)
        if masked.tobytes() != run[0]:  # stop before the first row of another shape
            count = _first_true((masked != self.expected).any(axis=1))
            if count == 0:
                return pos
            rows = rows[:count]
        start, stop = self.imei
        imei_text = rows[:, start:stop]
        if imei_text.max() > 0x39:  # 0x3A-0x3F passed the mask: not digits either
            count = _first_true((imei_text > 0x39).any(axis=1))
            rows, imei_text = rows[:count], imei_text[:count]
        if count == 0:
            return pos
        if count != len(run[1]):
            run = self.runs.get(count) or self._run(count)
        imsis = None if self.imsi is None else rows[:, self.imsi[0] : self.imsi[1]]
        try:
            codes = self.codes(_imei_keys(imei_text), imei_text, imsis, self.realm)
        except Exception:  # nothing was recorded: the requests go one by one instead
            log.exception("equipment status lookup of a burst failed")
            return pos
        answers = run[1]  # the template rows: only the copied columns and the status change
        copy_from, copy_to = self.copied
        answers[:, copy_to] = rows[:, copy_from]
        if self.session_apart is not None:
            session_from, session_to = self.session_apart
            answers[:, session_to] = rows[:, session_from]
        answers[:, -1] = codes
        listed = codes.tolist()
        if UNKNOWN not in listed:
            out.append(answers.tobytes())
            return pos + count * length
        done = 0
        unknown_head, unknown_tail = self.unknown
        ids, session = self.copied[0], self.session_apart[0] if self.session_apart else None
        for row, code in enumerate(listed):
            if code == UNKNOWN:  # a valid IMEI the registry has not seen: another answer
                if row > done:
                    out.append(answers[done:row].tobytes())
                request = rows[row]
                head = (
                    request[ids].tobytes()
                    if session is None
                    else (request[12:20].tobytes() + request[session].tobytes())
                )
                out.append(unknown_head + head + unknown_tail)
                done = row + 1
        if done < count:
            out.append(answers[done:].tobytes())
        return pos + count * length

    def _run(self, count: int) -> tuple[bytes, np.ndarray]:
        """For bursts of `count`: the masked bytes they must show, and answer rows to fill."""
        if len(self.runs) > 64:  # peers' windows vary; keep the memory bounded
            self.runs.clear()
        expected = np.tile(self.expected, count).tobytes()
        answers = np.tile(self.template, (count, 1))
        self.runs[count] = expected, answers
        return expected, answers


def _first_true(flags: np.ndarray) -> int:
    return int(np.argmax(flags))


def _imei_keys(text: np.ndarray) -> np.ndarray:
    """The 15-digit IMEIs as int64 from rows of ASCII digits: as given, or the first 14
    digits and their check digit."""
    if text.shape[1] == 15:
        return text @ _POWERS_15 - _ZEROS_15  # the digits' weights, less those of "0" * 15
    body = text[:, :14] - 48
    total = body[:, 0::2].sum(axis=1, dtype=np.int64) + _DOUBLED_DIGIT[body[:, 1::2]].sum(axis=1)
    return body @ _POWERS_14 * 10 + (10 - total % 10) % 10


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
    )
