"""Per-connection Diameter logic with no I/O: bytes in, answer bytes out.

Kept apart from asyncio so the whole protocol — framing, dispatch, every error answer — can
be driven directly by tests and by hypothesis, and so one bad message can only ever cost its
own connection. Requests are handled synchronously in arrival order, which is what makes
pipelined answers come back in order. A connection remembers the layouts of the MICRs it
has seen (`layout.py`) and answers a request of a known layout without scanning it.

Choices where RFC 6733 leaves room:
- A MICR before CER on a connection is answered anyway (a peer that skips the capabilities
  exchange is merely impolite; refusing it with 3010 would only cut off equipment checks).
- Answers (R bit clear) are ignored: this server never sends requests.
- Framing that cannot be trusted (version != 1, length < 20 or above `max_length`) gets one
  answer if the header looks like a request, then the connection is closed.
"""

from __future__ import annotations

import logging
import struct

from tizim.interfaces.diameter import avps as A
from tizim.interfaces.diameter.burst import Codes, Segment, answer_segments
from tizim.interfaces.diameter.codec import encode_avp
from tizim.interfaces.diameter.layout import LAYOUT_KEY, Lookup, MicrLayout, learn, status_failed
from tizim.interfaces.diameter.messages import Answers
from tizim.interfaces.diameter.requests import (
    RequestError,
    offers_s13,
    parse_base_request,
    scan_micr,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_LENGTH = 65536
MAX_LAYOUTS = 16  # per connection; a peer that keeps changing shape just gets scanned

_U32 = struct.Struct(">I")
_FLAGS_APP = struct.Struct(">II")
_AVP_HEADER = struct.Struct(">II")


class Handler:
    """Shared by every connection of one server: the status lookup and answer encoders."""

    def __init__(
        self,
        lookup: Lookup,
        answers: Answers,
        max_length: int = DEFAULT_MAX_LENGTH,
        codes: Codes | None = None,
    ):
        self.lookup = lookup
        self.answers = answers
        self.max_length = max_length
        self.codes = codes  # the status source's burst lookup, if it has one (`burst.py`)

    def handle(self, msg: bytes, host_ip: str) -> tuple[bytes | None, bool]:
        """Answer one framed message; returns (answer or None, close the connection after)."""
        answer, close, _ = self.dispatch(msg, host_ip)
        return answer, close

    def dispatch(self, msg: bytes, host_ip: str) -> tuple[bytes | None, bool, MicrLayout | None]:
        """`handle`, plus the layout of a well-formed MICR (for the connection to remember)."""
        flags_command, application = _FLAGS_APP.unpack_from(msg, 4)
        # MICR: R set, E clear, command 324, S13, length a multiple of 4.
        if (
            flags_command & 0xA0FFFFFF == 0x80000144
            and application == 16777252
            and not len(msg) & 3
        ):
            micr_answer, layout = self._micr(msg)
            return micr_answer, False, layout
        answer, close = self._other(msg, flags_command, application, host_ip)
        return answer, close, None

    def _other(
        self, msg: bytes, flags_command: int, application: int, host_ip: str
    ) -> tuple[bytes | None, bool]:
        flags, command = flags_command >> 24, flags_command & 0xFFFFFF
        if not flags & A.FLAG_REQUEST:
            return None, False
        if command == A.CMD_ME_IDENTITY_CHECK and application == A.APP_S13:
            return self._bad_header(msg, flags), False
        if command in A.BASE_COMMANDS and application == A.APP_BASE:
            if flags & A.FLAG_ERROR or len(msg) % 4:
                return self._bad_header(msg, flags), False
            return self._base(msg, command, host_ip)
        if application not in (A.APP_BASE, A.APP_S13):
            return self._protocol_error(msg, A.APPLICATION_UNSUPPORTED, "application not supported")
        return self._protocol_error(msg, A.COMMAND_UNSUPPORTED, f"command {command} not supported")

    def framing_error(self, header: bytes, result_code: int) -> bytes | None:
        """The answer to a message whose framing is broken, if it looks like a request."""
        if len(header) < A.HEADER_LENGTH or not header[4] & A.FLAG_REQUEST:
            return None
        return self.answers.plain(header, result_code, "cannot frame message; closing")

    def _micr(self, msg: bytes) -> tuple[bytes, MicrLayout | None]:
        answers = self.answers
        try:
            request, spans = scan_micr(msg)
        except RequestError as error:
            session = session_avp(msg)
            if error.result_code == A.INVALID_AVP_BITS:
                answer = answers.protocol_error(
                    msg, session, error.result_code, error.reason, error.failed_avp
                )
            else:
                answer = answers.mica_error(
                    msg, session, error.result_code, error.reason, error.failed_avp
                )
            return answer, None
        layout = learn(msg, request, spans, self.lookup, answers, self.codes)
        if layout is not None:
            learned = layout.answer(msg)
            if learned is not None:  # always, since the scan decoded the same values
                return learned, layout
        try:
            status = self.lookup(*request[1:])
        except Exception:
            log.exception("equipment status lookup failed")
            status = ""
        mica = answers.mica(msg, request.session_avp, status)
        if mica is None:
            return status_failed(answers, msg, request.session_avp, status), layout
        return mica, layout

    def _base(self, msg: bytes, command: int, host_ip: str) -> tuple[bytes | None, bool]:
        try:
            request = parse_base_request(msg, command)
        except RequestError as error:
            if command == A.CMD_CAPABILITIES_EXCHANGE:
                cea = self.answers.cea(
                    msg, host_ip, error.result_code, error.reason, error.failed_avp
                )
                return cea, True
            if error.result_code == A.INVALID_AVP_BITS:
                return self._protocol_error(msg, error.result_code, error.reason)
            answer = self.answers.plain(msg, error.result_code, error.reason, error.failed_avp)
            return answer, False
        if command == A.CMD_CAPABILITIES_EXCHANGE:
            if not offers_s13(request):
                reason = "S13 (16777252) not offered"
                return self.answers.cea(msg, host_ip, A.NO_COMMON_APPLICATION, reason), True
            return self.answers.cea(msg, host_ip), False
        return self.answers.plain(msg, A.SUCCESS), command == A.CMD_DISCONNECT_PEER

    def _bad_header(self, msg: bytes, flags: int) -> bytes:
        if flags & A.FLAG_ERROR:
            return self.answers.protocol_error(
                msg, session_avp(msg), A.INVALID_HDR_BITS, "E bit set in a request"
            )
        return self.answers.plain(msg, A.INVALID_MESSAGE_LENGTH, "length not a multiple of 4")

    def _protocol_error(self, msg: bytes, code: int, reason: str) -> tuple[bytes, bool]:
        return self.answers.protocol_error(msg, session_avp(msg), code, reason), False


def session_avp(msg: bytes) -> bytes:
    """The request's Session-Id re-encoded for an error answer; b"" if absent or unreadable."""
    pos, end = A.HEADER_LENGTH, len(msg)
    while end - pos >= 8:
        code, flags_length = _AVP_HEADER.unpack_from(msg, pos)
        length = flags_length & 0xFFFFFF
        if length < 8 or pos + length > end:
            return b""
        if code == A.AVP_SESSION_ID and not flags_length >> 24 & A.AVP_FLAG_VENDOR:
            value = msg[pos + 8 : pos + length]
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                return b""
            return encode_avp(A.AVP_SESSION_ID, value)
        pos += (length + 3) & ~3
    return b""


class Connection:
    """Framing for one TCP connection: accumulates bytes, answers every complete message.

    A partial message waits in `pending` until `needed` bytes are there, so a peer that
    trickles a large message byte by byte costs linear, not quadratic, copying. A complete
    message whose layout the connection knows is answered by the layout; any other, or one
    the layout turns down, goes through `Handler.dispatch`.
    """

    def __init__(self, handler: Handler, host_ip: str) -> None:
        self.handler = handler
        self.host_ip = host_ip
        self.pending = bytearray()
        self.needed = 0
        self.closed = False
        self.layouts: dict[tuple[int, ...], MicrLayout] = {}

    def receive(self, data: bytes) -> tuple[list[bytes], bool]:
        """Feed received bytes; returns the answers to send, and whether to close after."""
        out, close = self.receive_deferred(data)
        return resolve(out), close

    def receive_deferred(self, data: bytes) -> tuple[list[bytes | Segment], bool]:
        """`receive`, with runs of plain MICRs left as `Segment`s to answer in a burst.

        The server answers the segments of every connection read in one pass of its event
        loop together (`burst.answer_segments`), then sends each connection its answers.
        """
        if self.closed:
            return [], True
        if self.pending:
            self.pending += data
            if len(self.pending) < self.needed:
                return [], False
            buf = bytes(self.pending)
        else:
            buf = data
        out: list[bytes | Segment] = []
        handler = self.handler
        max_length = handler.max_length
        layouts = self.layouts
        key_of = LAYOUT_KEY.unpack_from
        pos, size = 0, len(buf)
        close = False
        needed = A.HEADER_LENGTH
        while size - pos >= A.HEADER_LENGTH:
            if size - pos >= 28:
                key = key_of(buf, pos)
                version_length = key[0]
            else:
                key = None
                version_length = _U32.unpack_from(buf, pos)[0]
            length = version_length & 0xFFFFFF
            if version_length >> 24 != A.VERSION:
                close = self._framing(out, buf[pos : pos + 20], A.UNSUPPORTED_VERSION)
                break
            if length < A.HEADER_LENGTH or length > max_length:
                close = self._framing(out, buf[pos : pos + 20], A.INVALID_MESSAGE_LENGTH)
                break
            if size - pos < length:
                needed = length
                break
            layout = layouts.get(key) if key is not None else None
            if layout is not None:
                stop = layout.answer_run(buf, pos, out)
                if stop > pos:
                    pos = stop
                    continue
            answer, close, layout = handler.dispatch(buf[pos : pos + length], self.host_ip)
            if layout is not None and key is not None:
                if len(layouts) >= MAX_LAYOUTS:
                    layouts.clear()
                layouts[key] = layout
            pos += length
            if answer is not None:
                out.append(answer)
            if close:
                break
        self.closed = close
        self.pending = bytearray() if close or pos == size else bytearray(buf[pos:])
        self.needed = needed
        return out, close

    def _framing(self, out: list[bytes | Segment], header: bytes, code: int) -> bool:
        answer = self.handler.framing_error(header, code)
        if answer is not None:
            out.append(answer)
        return True


def resolve(out: list[bytes | Segment]) -> list[bytes]:
    """Answer the segments in `out` (one burst per shape) and return the answers in order."""
    return resolve_all([out])[0]


def resolve_all(outs: list[list[bytes | Segment]]) -> list[list[bytes]]:
    """`resolve` for the reads of several connections: one burst per shape across them all."""
    segments = [item for out in outs for item in out if not isinstance(item, bytes)]
    if segments:
        answer_segments(segments)
    return [_flatten(out) for out in outs]


def _flatten(out: list[bytes | Segment]) -> list[bytes]:
    """Answers in order, each answered segment replaced by its answers."""
    answers: list[bytes] = []
    for item in out:
        if isinstance(item, bytes):
            answers.append(item)
        else:
            answers.extend(item.answers)
    return answers
