"""The MICR layout fast path answers exactly as the full scan would, or declines.

For a layout learned from one request and any other message (random edits anywhere: ids,
values, flags, lengths, padding; or only inside the variable values), `MicrLayout.answer`
either returns None before looking anything up, or returns the very bytes the full path
(`Handler.handle` on a fresh handler) returns, after the same status lookup.
"""

from __future__ import annotations

from diameter.message.avp.grouped import TerminalInformation
from diameter.message.commands.me_identity_check import MeIdentityCheckRequest
from hypothesis import given, settings
from hypothesis import strategies as st

from tizim.interfaces.diameter import avps as A
from tizim.interfaces.diameter.codec import (
    encode_grouped_avp,
    encode_message,
    encode_str_avp,
    encode_u32_avp,
)
from tizim.interfaces.diameter.handler import Connection, Handler
from tizim.interfaces.diameter.layout import MicrLayout, learn
from tizim.interfaces.diameter.messages import Answers
from tizim.interfaces.diameter.requests import scan_micr

Call = tuple[str, "str | None", "str | None", "str | None"]


class Recorder:
    """A status source that remembers what it was asked (the check a sighting would record)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def __call__(self, imei: str, version: str | None, imsi: str | None, realm: str | None) -> str:
        self.calls.append((imei, version, imsi, realm))
        # "bogus" (not a status word) exercises the failure answer on both paths
        return {"0": "white", "1": "black", "2": "grey", "3": "bogus"}.get(imei[-1:], "unknown")


def python_diameter_micr(imeisv: bool = False) -> bytes:
    request = MeIdentityCheckRequest()
    request.header.application_id = A.APP_S13
    request.header.hop_by_hop_identifier = 0xDEADBEEF
    request.header.end_to_end_identifier = 0x01020304
    request.session_id = "mme.operator.kz;1;odd-length"
    request.auth_session_state = 1
    request.origin_host = b"mme.operator.kz"
    request.origin_realm = b"operator.kz"
    request.destination_realm = b"eir.kz"
    if imeisv:
        request.terminal_information = TerminalInformation(imei="4901542032375101")
    else:
        request.terminal_information = TerminalInformation(
            imei="49015420323751", software_version="07"
        )
    request.user_name = "401770123456789"
    return request.as_bytes()


def _terminal(imei: str, version: str | None) -> bytes:
    children = [encode_str_avp(A.AVP_IMEI, imei, vendor_id=A.VENDOR_3GPP)]
    if version is not None:
        children.append(encode_str_avp(A.AVP_SOFTWARE_VERSION, version, vendor_id=A.VENDOR_3GPP))
    return encode_grouped_avp(A.AVP_TERMINAL_INFORMATION, children, vendor_id=A.VENDOR_3GPP)


def our_micr(*, session_first: bool = True, twice: bool = False, user_name: bool = True) -> bytes:
    """MICR shapes python-diameter does not produce: AVPs out of order, repeated, absent."""
    session = encode_str_avp(A.AVP_SESSION_ID, "mme2.op.kz;42")
    body = (
        encode_u32_avp(A.AVP_AUTH_SESSION_STATE, 1)
        + encode_str_avp(A.AVP_ORIGIN_HOST, "mme2.op.kz")
        + encode_str_avp(A.AVP_ORIGIN_REALM, "op.kz")
        + encode_str_avp(A.AVP_DESTINATION_REALM, "eir.kz")
        + _terminal("35693803564380", "12")
    )
    if twice:  # the scan takes the last Terminal-Information and User-Name, the first Session-Id
        body = (
            body
            + _terminal("49015420323751", None)
            + encode_str_avp(A.AVP_USER_NAME, "401770000000001")
            + encode_str_avp(A.AVP_SESSION_ID, "second")
        )
    if user_name:
        body += encode_str_avp(A.AVP_USER_NAME, "40177012345678")
    avps = session + body if session_first else body + session
    return encode_message(
        flags=A.FLAG_REQUEST,
        command_code=A.CMD_ME_IDENTITY_CHECK,
        application_id=A.APP_S13,
        hop_by_hop=1,
        end_to_end=2,
        avps=avps,
    )


TEMPLATES = [
    python_diameter_micr(),
    python_diameter_micr(imeisv=True),
    our_micr(),
    our_micr(session_first=False),
    our_micr(twice=True),
    our_micr(user_name=False),
]


def layout_of(msg: bytes, lookup: Recorder) -> MicrLayout:
    micr, spans = scan_micr(msg)
    layout = learn(msg, micr, spans, lookup, Answers("eir", "kz"))
    assert layout is not None
    return layout


def variable_positions(msg: bytes) -> list[int]:
    _, spans = scan_micr(msg)
    return [i for start, stop in ((12, 20), *spans) for i in range(start, stop)]


def assert_same_as_full_path(template: bytes, msg: bytes) -> bytes | None:
    fast_lookup, full_lookup = Recorder(), Recorder()
    fast = layout_of(template, fast_lookup).answer(msg)
    if fast is None:
        assert fast_lookup.calls == []  # declined before looking up: no double sighting
        return None
    full, close = Handler(full_lookup, Answers("eir", "kz")).handle(msg, "127.0.0.1")
    assert not close
    assert fast == full
    assert fast_lookup.calls == full_lookup.calls
    return fast


def _edit(template: int, edits: list[tuple[int, int]], only_values: bool) -> tuple[bytes, bytes]:
    original = TEMPLATES[template]
    out = bytearray(original)
    positions = variable_positions(original) if only_values else range(len(out))
    for where, value in edits:
        out[positions[where % len(positions)]] = value
    return original, bytes(out)


edited = st.builds(
    _edit,
    st.integers(0, len(TEMPLATES) - 1),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    st.booleans(),
)


@settings(max_examples=3000, deadline=None)
@given(edited)
def test_the_fast_path_is_the_full_path_or_declines(pair: tuple[bytes, bytes]) -> None:
    assert_same_as_full_path(*pair)


@settings(max_examples=500, deadline=None)
@given(st.integers(0, len(TEMPLATES) - 1), st.binary(max_size=300))
def test_random_bytes_are_declined_or_answered_the_same(template: int, data: bytes) -> None:
    assert_same_as_full_path(TEMPLATES[template], data)


@settings(max_examples=500, deadline=None)
@given(
    st.integers(0, len(TEMPLATES) - 1),
    st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(b"0123456789;.abc")), max_size=8),
)
def test_new_ids_and_values_take_the_fast_path(template: int, edits: list[tuple[int, int]]) -> None:
    original = TEMPLATES[template]
    _, msg = _edit(template, edits, only_values=True)
    assert assert_same_as_full_path(original, msg) is not None


def test_a_change_outside_the_values_is_declined() -> None:
    template = TEMPLATES[0]
    values = set(variable_positions(template))
    for position in range(len(template)):
        if position in values:
            continue
        changed = bytearray(template)
        changed[position] ^= 0x01  # a flag bit, a length bit, a code bit, a padding bit
        assert assert_same_as_full_path(template, bytes(changed)) is None, position


def test_a_value_that_is_not_utf8_falls_back_to_the_error_answer() -> None:
    template = TEMPLATES[0]
    _, spans = scan_micr(template)
    broken = bytearray(template)
    broken[spans.imei[0]] = 0xFF
    assert layout_of(template, Recorder()).answer(bytes(broken)) is None
    connection = Connection(Handler(Recorder(), Answers("eir", "kz")), "127.0.0.1")
    answers, _ = connection.receive(template + bytes(broken))
    assert len(answers) == 2 and b"not valid UTF-8" in answers[1]


def test_a_connection_learns_layouts_and_answers_as_the_handler() -> None:
    stream = [
        TEMPLATES[0],
        TEMPLATES[0][:12] + b"\0\0\0\7\0\0\0\7" + TEMPLATES[0][20:],
        TEMPLATES[2],
        TEMPLATES[0],
        TEMPLATES[3],
    ]
    lookup = Recorder()
    connection = Connection(Handler(lookup, Answers("eir", "kz")), "127.0.0.1")
    answers, close = connection.receive(b"".join(stream))
    expected = [Handler(Recorder(), Answers("eir", "kz")).handle(m, "")[0] for m in stream]
    assert (answers, close) == (expected, False)
    assert len(connection.layouts) == 3
    assert len(lookup.calls) == len(stream)
