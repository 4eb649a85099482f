"""MICR layouts: answering the requests a peer repeats without scanning them again.

An MME sends the same ME-Identity-Check-Request over and over: the same AVPs in the same
order with the same lengths, only the ids and a few values differ. After `scan_micr` has
read one in full, its `MicrLayout` remembers every byte outside the *variable spans*: the
hop-by-hop and end-to-end ids and the values of the first Session-Id, the last User-Name,
and the first IMEI and Software-Version of the last Terminal-Information. A later message
whose bytes outside those spans are equal (the message length is among them, in the
header) would take every branch of `scan_micr` exactly as the first one did, because the
scan reads nothing but AVP headers, Origin-Realm, Auth-Session-State and those four values
(see `requests.Spans`). So only the four values need reading, and decoding them checks that
they are UTF-8 as the scan would; a message where one is not falls back to the full scan,
which builds the error answer. Anything else that differs (a flag, a length, a padding
byte, an extra AVP) is simply not this layout and is scanned in full.
`tests/interfaces/diameter/test_s13_layout.py` checks the equivalence with hypothesis.

The answer is precomputed too: for each status word, its header up to the ids (length,
flags, command, application) and everything after the Session-Id are constants of the
layout, so an answer is one `bytes.join` of four pieces.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from itertools import pairwise
from operator import itemgetter

from tizim.interfaces.diameter import avps as A
from tizim.interfaces.diameter.burst import (
    MIN_BURST,
    BurstAnswerer,
    Codes,
    Segment,
    burst_answerer,
)
from tizim.interfaces.diameter.messages import Answers
from tizim.interfaces.diameter.requests import Micr, Spans

log = logging.getLogger(__name__)

Lookup = Callable[[str, "str | None", "str | None", "str | None"], str]

# What a connection keys its layouts by: the header's version-and-length word and the first
# AVP's flags-and-length word (the Session-Id's, in a well-formed MICR), so that requests of
# one length whose Session-Ids differ in length (padding hides it) do not evict each other.
LAYOUT_KEY = struct.Struct(">I20xI")
_IDS = (12, 20)


class MicrLayout:
    """One MICR shape seen on a connection, able to answer any request of that shape.

    Both checks are one C call each: an `operator.itemgetter` of slices cuts the constant
    segments (compared as one tuple) and another cuts the pieces the answer needs.
    """

    __slots__ = (
        "answers",
        "burst",
        "constants",
        "cut_constants",
        "cut_values",
        "has_imsi",
        "has_version",
        "length",
        "lookup",
        "parts",
        "realm",
    )

    def __init__(
        self,
        msg: bytes,
        micr: Micr,
        spans: Spans,
        constants: list[tuple[int, int]],
        lookup: Lookup,
        answers: Answers,
        codes: Codes | None = None,
    ) -> None:
        # At least two segments (the header before the ids, the Session-Id's AVP header),
        # so the getter returns a tuple, not a lone item.
        assert len(constants) >= 2
        self.cut_constants = itemgetter(*(slice(start, stop) for start, stop in constants))
        self.constants = self.cut_constants(msg)
        self.length = len(msg)
        session_start = spans.session[0] - 8  # the AVP header precedes the value
        session_avp = session_start, session_start + len(micr.session_avp)
        self.cut_values = itemgetter(
            slice(*_IDS),
            slice(*session_avp),
            slice(*spans.session),
            slice(*spans.imei),
            slice(*spans.software_version),
            slice(*spans.imsi),
        )
        self.has_version = spans.software_version != (0, 0)
        self.has_imsi = spans.imsi != (0, 0)
        self.realm = micr.origin_realm
        self.parts = answers.mica_parts(msg, len(micr.session_avp))
        self.lookup = lookup
        self.answers = answers
        self.burst: BurstAnswerer | None = None
        if codes is not None:
            variable = [span for span in spans if span != (0, 0)]
            self.burst = burst_answerer(
                msg,
                variable=variable,
                imei=spans.imei,
                imsi=spans.imsi if self.has_imsi else None,
                session_avp=session_avp,
                parts=self.parts,
                codes=codes,
                realm=self.realm,
                failed=self._failed,
            )

    def _failed(self, msg: bytes) -> bytes:
        session_avp = self.cut_values(msg)[1]
        return status_failed(self.answers, msg, session_avp, "")

    def answer(self, msg: bytes) -> bytes | None:
        """The answer to the complete message `msg`, or None if it is not of this layout."""
        out: list[bytes | Segment] = []
        self.answer_each(msg, 0, out, 1)  # one by one: only ever bytes
        return out[0] if out and isinstance(out[0], bytes) else None

    def answer_run(self, buf: bytes, pos: int, out: list[bytes | Segment]) -> int:
        """Answer the messages of this layout that follow one another from `buf[pos:]`.

        Appends their answers to `out` and returns where the run stopped: at the end of the
        bytes, a partial message, or a message that is not of this layout (which the caller
        scans in full). Runs of plain requests are taken by the `BurstAnswerer` as a
        `Segment`, answered later with those of other connections (`answer_segments`); a
        message it stops at is answered (or declined) here one by one, and if it took none
        the next few are too, so a peer whose requests never suit it (a non-ASCII
        Session-Id, say) does not pay a failed burst per message.
        """
        burst = self.burst
        if burst is None:
            return self.answer_each(buf, pos, out, len(buf))
        burst_bytes = MIN_BURST * self.length
        size = len(buf)
        one_by_one = 1
        while True:
            if size - pos >= burst_bytes:
                stop = burst.accept(buf, pos, out)
                one_by_one = 1 if stop > pos else MIN_BURST
                pos = stop
            if size - pos < self.length:
                return pos
            stop = self.answer_each(buf, pos, out, one_by_one)
            if stop == pos:
                return pos
            pos = stop

    def answer_each(self, buf: bytes, pos: int, out: list[bytes | Segment], most: int) -> int:
        """Answer up to `most` messages of this layout one by one from `buf[pos:]`.

        Returns where it stopped, as `answer_run`. One by one, each request's values are
        decoded and passed to the status lookup. A message is only ever declined before its
        status lookup, so a fallback to the full scan never records a check twice.
        """
        length, constants, cut_constants, cut_values = (
            self.length,
            self.constants,
            self.cut_constants,
            self.cut_values,
        )
        lookup, realm, parts_of = self.lookup, self.realm, self.parts.get
        has_version, has_imsi = self.has_version, self.has_imsi
        size = len(buf)
        stop = min(size, pos + most * length)
        while stop - pos >= length:
            msg = buf[pos : pos + length]
            if cut_constants(msg) != constants:
                break
            ids, session_avp, session, imei_bytes, version_bytes, imsi_bytes = cut_values(msg)
            try:
                session.decode()
                imei = imei_bytes.decode()
                version = version_bytes.decode() if has_version else None
                imsi = imsi_bytes.decode() if has_imsi else None
            except UnicodeDecodeError:
                break
            try:
                status = lookup(imei, version, imsi, realm)
            except Exception:
                log.exception("equipment status lookup failed")
                status = ""
            parts = parts_of(status)
            if parts is None:
                out.append(status_failed(self.answers, msg, session_avp, status))
            else:
                out.append(b"".join((parts[0], ids, session_avp, parts[1])))
            pos += length
        return pos


def learn(
    msg: bytes,
    micr: Micr,
    spans: Spans,
    lookup: Lookup,
    answers: Answers,
    codes: Codes | None = None,
) -> MicrLayout | None:
    """The layout of a MICR `scan_micr` accepted; None if its spans are not usable."""
    present = [span for span in spans if span != (0, 0)]
    variable = sorted([_IDS, *present])
    for (_, stop), (start, _) in pairwise(variable):
        if start < stop:  # cannot happen for a scanned message; refuse rather than guess
            return None
    constants = []
    offset = 0
    for start, stop in variable:
        if start > offset:
            constants.append((offset, start))
        offset = max(offset, stop)
    if offset < len(msg):
        constants.append((offset, len(msg)))
    return MicrLayout(msg, micr, spans, constants, lookup, answers, codes)


def status_failed(answers: Answers, msg: bytes, session_avp: bytes, status: str) -> bytes:
    """The answer when the status source returned no known word (or raised)."""
    log.error("equipment status source answered %r", status)
    return answers.mica_error(msg, session_avp, A.UNABLE_TO_COMPLY, "status lookup failed", b"")
