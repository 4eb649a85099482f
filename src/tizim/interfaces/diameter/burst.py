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

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tizim.interfaces.diameter.layout import MicrLayout

# (int64 IMEIs, User-Name rows or None, Origin-Realm) -> codes: 0 white, 1 black, 2 grey,
# -1 where the index does not hold the IMEI.
Codes = Callable[[np.ndarray, "np.ndarray | None", "str | None"], np.ndarray]

MIN_BURST = 4  # fewer requests than this are cheaper one by one
MAX_BURST = 512
_POWERS_15 = 10 ** np.arange(14, -1, -1, dtype=np.int64)
_POWERS_14 = _POWERS_15[1:]
_DOUBLED_DIGIT = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.int64)  # Luhn: 2d, digits summed
_ID_BYTES = (12, 20)


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
        codes: Codes,
        realm: str | None,
    ) -> None:
        self.length = length
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

    def answer(self, buf: bytes, pos: int, out: list[bytes], layout: MicrLayout) -> int:
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
            rows = rows[:count]
        start, stop = self.imei
        digits = rows[:, start:stop] - 48
        if (digits > 9).any():  # 0x3A-0x3F passed the mask: not digits either
            count = _first_true((digits > 9).any(axis=1))
            rows, digits = rows[:count], digits[:count]
        if count == 0:
            return pos
        if count != len(run[1]):
            run = self.runs.get(count) or self._run(count)
        keys = _imei_keys(digits)
        imsis = None if self.imsi is None else rows[:, self.imsi[0] : self.imsi[1]].copy()
        codes = self.codes(keys, imsis, self.realm)
        answers = run[1]  # the template rows: only the copied columns and the status change
        copy_from, copy_to = self.copied
        answers[:, copy_to] = rows[:, copy_from]
        if self.session_apart is not None:
            session_from, session_to = self.session_apart
            answers[:, session_to] = rows[:, session_from]
        answers[:, -1] = codes
        listed = codes.tolist()
        if -1 not in listed:
            out.append(answers.tobytes())
            return pos + count * length
        done = 0
        for row, code in enumerate(listed):
            if code < 0:  # not in the index: judged and recorded one by one, in its place
                if row > done:
                    out.append(answers[done:row].tobytes())
                message_start = pos + row * length
                layout.answer_each(buf[message_start : message_start + length], 0, out, 1)
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


def _imei_keys(digits: np.ndarray) -> np.ndarray:
    """The 15-digit IMEIs as int64: as given, or the first 14 digits and their check digit."""
    if digits.shape[1] == 15:
        return digits @ _POWERS_15
    body = digits[:, :14]
    total = body[:, 0::2].sum(axis=1, dtype=np.int64) + _DOUBLED_DIGIT[body[:, 1::2]].sum(axis=1)
    return body @ _POWERS_14 * 10 + (10 - total % 10) % 10


def burst_answerer(
    msg: bytes,
    *,
    variable: list[tuple[int, int]],
    imei: tuple[int, int],
    imsi: tuple[int, int] | None,
    session_avp: tuple[int, int],
    answer_head: bytes,
    answer_tails: dict[str, bytes],
    codes: Codes,
    realm: str | None,
) -> BurstAnswerer | None:
    """The burst answerer of a layout, or None where its requests cannot be answered so.

    `variable` lists the spans of the values (ids excluded), `answer_head` the answer's first
    12 bytes and `answer_tails` what follows its Session-Id per status word.
    """
    tails = [answer_tails.get(word) for word in ("white", "black", "grey")]
    if imei[1] - imei[0] not in (14, 15, 16) or any(tail is None for tail in tails):
        return None
    white, black, grey = (tail for tail in tails if tail is not None)
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
    template = np.frombuffer(answer_head + bytes(8) + session + white, np.uint8).copy()
    return BurstAnswerer(
        length=length,
        mask=mask,
        expected=expected,
        imei=imei,
        imsi=imsi,
        session=session_avp,
        template=template,
        codes=codes,
        realm=realm,
    )
