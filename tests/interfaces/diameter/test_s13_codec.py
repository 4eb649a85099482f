"""Our Diameter codec against python-diameter, and fuzzing of everything that reads bytes.

The property tests state the codec's contract: whatever the bytes, decoding raises only
`DiameterDecodeError`, the MICR scan only `RequestError`, and a connection never raises.
"""

from __future__ import annotations

import contextlib

import pytest
from diameter.message import Avp, Message
from diameter.message.avp.grouped import TerminalInformation
from diameter.message.commands.me_identity_check import MeIdentityCheckRequest
from diameter.message.constants import AVP_FAILED_AVP, AVP_SESSION_ID
from hypothesis import given, settings
from hypothesis import strategies as st

from tizim.interfaces.diameter import avps as A
from tizim.interfaces.diameter.codec import (
    DiameterDecodeError,
    decode_message,
    encode_avp,
    encode_grouped_avp,
    encode_message,
    encode_str_avp,
    encode_u32_avp,
)
from tizim.interfaces.diameter.handler import Connection, Handler
from tizim.interfaces.diameter.messages import Answers
from tizim.interfaces.diameter.requests import RequestError, parse_micr


def sample_micr() -> bytes:
    request = MeIdentityCheckRequest()
    request.header.application_id = A.APP_S13
    request.header.hop_by_hop_identifier = 0xDEADBEEF
    request.header.end_to_end_identifier = 0x01020304
    request.session_id = "mme.operator.kz;1;odd-length"
    request.auth_session_state = 1
    request.origin_host = b"mme.operator.kz"
    request.origin_realm = b"operator.kz"
    request.destination_realm = b"eir.kz"
    request.terminal_information = TerminalInformation(imei="49015420323751", software_version="07")
    request.user_name = "401770123456789"
    return request.as_bytes()


VALID = sample_micr()


def test_decodes_what_python_diameter_encodes() -> None:
    message = decode_message(VALID)
    header = message.header
    assert (header.version, header.length, header.command_code) == (1, len(VALID), 324)
    assert header.flags == 0xC0 and header.is_request
    assert (header.application_id, header.hop_by_hop, header.end_to_end) == (
        A.APP_S13,
        0xDEADBEEF,
        0x01020304,
    )
    assert message.find(A.AVP_SESSION_ID).data == b"mme.operator.kz;1;odd-length"
    terminal = message.find(A.AVP_TERMINAL_INFORMATION, A.VENDOR_3GPP)
    assert terminal.flags & A.AVP_FLAG_VENDOR
    assert [(c.code, c.vendor_id, c.data) for c in terminal.children] == [
        (A.AVP_IMEI, A.VENDOR_3GPP, b"49015420323751"),
        (A.AVP_SOFTWARE_VERSION, A.VENDOR_3GPP, b"07"),
    ]


def test_python_diameter_decodes_what_we_encode() -> None:
    avps = (
        encode_str_avp(A.AVP_SESSION_ID, "abc")  # needs one padding byte
        + encode_grouped_avp(
            A.AVP_FAILED_AVP, [encode_u32_avp(A.AVP_EQUIPMENT_STATUS, 2, vendor_id=A.VENDOR_3GPP)]
        )
    )
    data = encode_message(
        flags=0x40,
        command_code=324,
        application_id=A.APP_S13,
        hop_by_hop=7,
        end_to_end=8,
        avps=avps,
    )
    theirs = Message.from_bytes(data)
    assert theirs.header.length == len(data) and len(data) % 4 == 0
    assert theirs.session_id == "abc"
    failed = theirs.find_avps((AVP_FAILED_AVP, 0))[0]
    inner = failed.value[0]
    assert (inner.code, inner.vendor_id, inner.value) == (A.AVP_EQUIPMENT_STATUS, A.VENDOR_3GPP, 2)
    assert decode_message(data).find(A.AVP_SESSION_ID).data == b"abc"


def test_parse_micr_reads_the_fields_an_answer_needs() -> None:
    request = parse_micr(VALID)
    assert (request.imei, request.software_version, request.imsi) == (
        "49015420323751",
        "07",
        "401770123456789",
    )
    session = Message.from_bytes(
        encode_message(
            flags=0,
            command_code=1,
            application_id=0,
            hop_by_hop=0,
            end_to_end=0,
            avps=request.session_avp,
        )
    ).find_avps((AVP_SESSION_ID, 0))
    assert session[0].value == "mme.operator.kz;1;odd-length"


@pytest.mark.parametrize(
    ("data", "result_code"),
    [
        (b"", A.INVALID_MESSAGE_LENGTH),
        (bytes([2]) + VALID[1:], A.UNSUPPORTED_VERSION),
        (VALID[:-4], A.INVALID_MESSAGE_LENGTH),
        (VALID[:20] + encode_avp(1, b"x")[:6], A.INVALID_MESSAGE_LENGTH),
    ],
)
def test_broken_messages_raise_decode_error(data: bytes, result_code: int) -> None:
    with pytest.raises(DiameterDecodeError) as raised:
        decode_message(data)
    assert raised.value.result_code == result_code


def test_grouped_avps_nested_too_deep_are_refused() -> None:
    avp = encode_str_avp(A.AVP_SESSION_ID, "x")
    for _ in range(50):
        avp = encode_grouped_avp(A.AVP_PROXY_INFO, [avp])
    data = encode_message(
        flags=0x80,
        command_code=324,
        application_id=A.APP_S13,
        hop_by_hop=1,
        end_to_end=1,
        avps=avp,
    )
    with pytest.raises(DiameterDecodeError, match="too deep"):
        decode_message(data)


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    out = bytearray(data)
    for position, value in edits:
        out[position % len(out)] = value
    return bytes(out[: max(cut, 0)] if cut < len(out) else out)


mutated = st.builds(
    _mutate,
    st.just(VALID),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
    st.integers(0, len(VALID) + 8),
)
any_bytes = st.one_of(st.binary(max_size=600), mutated)


@settings(max_examples=1500, deadline=None)
@given(any_bytes)
def test_decoder_raises_only_its_own_error(data: bytes) -> None:
    with contextlib.suppress(DiameterDecodeError):
        decode_message(data)


@settings(max_examples=1500, deadline=None)
@given(mutated)
def test_micr_scan_raises_only_request_error(data: bytes) -> None:
    if len(data) < 20:
        return
    try:
        parse_micr(data)
    except RequestError as error:
        assert error.result_code in {3009, 5004, 5005, 5014}


class _Source:
    def equipment_status(
        self, imei: str, software_version: str | None, imsi: str | None, realm: str | None
    ) -> str:
        return {"0": "white", "1": "black", "2": "grey"}.get(imei[-1:], "unknown")


@settings(max_examples=1000, deadline=None)
@given(st.lists(any_bytes, min_size=1, max_size=4), st.integers(1, 64))
def test_a_connection_never_raises_and_every_answer_decodes(
    messages: list[bytes], chunk: int
) -> None:
    connection = Connection(Handler(_Source().equipment_status, Answers("eir", "kz")), "::1")
    stream = b"".join(messages)
    answers: list[bytes] = []
    for start in range(0, len(stream), chunk):
        out, close = connection.receive(stream[start : start + chunk])
        answers.extend(out)
        if close:
            break
    for answer in answers:
        decoded = decode_message(answer)
        assert not decoded.header.is_request
        assert Message.from_bytes(answer).header.length == len(answer)


def test_failed_avp_from_python_diameter_builds_on_our_missing_avp() -> None:
    avp = Avp.new(AVP_SESSION_ID, value="x")
    assert (
        decode_message(
            encode_message(
                flags=0,
                command_code=1,
                application_id=0,
                hop_by_hop=0,
                end_to_end=0,
                avps=avp.as_bytes(),
            )
        )
        .avps[0]
        .data
        == b"x"
    )
