"""The S13 server over real TCP, driven by python-diameter as an independent peer.

Requests are encoded and answers decoded by python-diameter, so our codec is checked
against another implementation, never only against itself.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from diameter.message import Avp, Message, MessageHeader
from diameter.message.avp.grouped import TerminalInformation, VendorSpecificApplicationId
from diameter.message.commands import (
    CapabilitiesExchangeRequest,
    DeviceWatchdogRequest,
    DisconnectPeerRequest,
)
from diameter.message.commands.me_identity_check import MeIdentityCheckRequest
from diameter.message.constants import (
    AVP_AUTH_SESSION_STATE,
    AVP_DESTINATION_REALM,
    AVP_ORIGIN_HOST,
    AVP_ORIGIN_REALM,
    AVP_SESSION_ID,
    AVP_TGPP_IMEI,
    AVP_TGPP_SOFTWARE_VERSION,
    AVP_TGPP_TERMINAL_INFORMATION,
    VENDOR_TGPP,
)

from tizim.interfaces.diameter import S13ServerThread

S13 = 16777252
IMEIS = {
    "490154203237518": "white",
    "356938035643809": "grey",
    "353879234252633": "black",
}

BY_SERIAL = {imei[:14]: status for imei, status in IMEIS.items()}


class DictSource:
    """Test double of the equipment index: a dict, garbage IMEIs are black."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, str | None, str | None]] = []

    def equipment_status(
        self, imei: str, software_version: str | None, imsi: str | None, realm: str | None
    ) -> str:
        self.calls.append((imei, software_version, imsi, realm))
        if imei == "explode":
            raise RuntimeError("index unavailable")
        if not imei.isdigit():
            return "black"
        return BY_SERIAL.get(imei[:14], "unknown")  # 14, 15 and 16 (IMEISV) digits alike


@pytest.fixture
def source() -> DictSource:
    return DictSource()


@pytest.fixture
def server(source: DictSource) -> Iterator[S13ServerThread]:
    with S13ServerThread(source, port=0) as running:
        yield running


def connect(server: S13ServerThread) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.settimeout(5)
    return sock


def read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def read_answer(sock: socket.socket) -> Message:
    header = read_exactly(sock, 20)
    length = int.from_bytes(header[1:4], "big")
    return Message.from_bytes(header + read_exactly(sock, length - 20))


def is_closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def micr(
    imei: str | None, hbh: int = 1, *, software_version: str | None = None, imsi: str | None = None
) -> MeIdentityCheckRequest:
    request = MeIdentityCheckRequest()
    request.header.application_id = S13
    request.header.hop_by_hop_identifier = hbh
    request.header.end_to_end_identifier = hbh + 1_000_000
    request.session_id = f"mme.operator.kz;1;{hbh}"
    request.auth_session_state = 1
    request.origin_host = b"mme.operator.kz"
    request.origin_realm = b"operator.kz"
    request.destination_realm = b"eir.kz"
    request.terminal_information = TerminalInformation(imei=imei, software_version=software_version)
    request.user_name = imsi
    return request


def raw_request(command: int, application: int, avps: list[Avp], hbh: int = 9) -> bytes:
    header = MessageHeader(
        command_flags=0xC0,
        command_code=command,
        application_id=application,
        hop_by_hop_identifier=hbh,
        end_to_end_identifier=hbh,
    )
    return Message(header, avps).as_bytes()


def micr_avps() -> dict[str, Avp]:
    """The mandatory AVPs of a MICR, by name, so a test can leave one out."""
    return {
        "session": Avp.new(AVP_SESSION_ID, value="mme;1;2"),
        "state": Avp.new(AVP_AUTH_SESSION_STATE, value=1),
        "host": Avp.new(AVP_ORIGIN_HOST, value=b"mme"),
        "realm": Avp.new(AVP_ORIGIN_REALM, value=b"operator.kz"),
        "dest": Avp.new(AVP_DESTINATION_REALM, value=b"eir.kz"),
        "terminal": Avp.new(
            AVP_TGPP_TERMINAL_INFORMATION,
            VENDOR_TGPP,
            [Avp.new(AVP_TGPP_IMEI, VENDOR_TGPP, "490154203237518")],
        ),
    }


def cer(*, application: int = S13) -> CapabilitiesExchangeRequest:
    request = CapabilitiesExchangeRequest()
    request.header.hop_by_hop_identifier = 77
    request.origin_host = b"mme.operator.kz"
    request.origin_realm = b"operator.kz"
    request.host_ip_address = ["127.0.0.1"]
    request.vendor_id = 10415
    request.product_name = "test-mme"
    request.vendor_specific_application_id = VendorSpecificApplicationId(
        vendor_id=VENDOR_TGPP, auth_application_id=application
    )
    return request


def test_cer_is_answered_with_cea_advertising_s13(server: S13ServerThread) -> None:
    with connect(server) as sock:
        sock.sendall(cer().as_bytes())
        cea = read_answer(sock)
    assert cea.header.command_code == 257 and not cea.header.is_request
    assert cea.header.hop_by_hop_identifier == 77
    assert cea.result_code == 2001
    assert cea.origin_host == b"tizim.eir.kz" and cea.origin_realm == b"eir.kz"
    assert cea.host_ip_address == [(1, "127.0.0.1")]
    assert cea.vendor_id == 0 and cea.product_name == "tizim"
    assert cea.auth_application_id == [S13]
    vsai = cea.vendor_specific_application_id[0]
    assert (vsai.vendor_id, vsai.auth_application_id) == (VENDOR_TGPP, S13)


def test_cer_without_s13_gets_5010_and_the_connection_closes(server: S13ServerThread) -> None:
    with connect(server) as sock:
        sock.sendall(cer(application=16777251).as_bytes())
        assert read_answer(sock).result_code == 5010
        assert is_closed(sock)


def test_dwr_is_answered_with_dwa(server: S13ServerThread) -> None:
    dwr = DeviceWatchdogRequest()
    dwr.origin_host, dwr.origin_realm = b"mme", b"operator.kz"
    with connect(server) as sock:
        sock.sendall(dwr.as_bytes())
        dwa = read_answer(sock)
    assert (dwa.header.command_code, dwa.result_code) == (280, 2001)
    assert dwa.origin_host == b"tizim.eir.kz"


def test_dpr_is_answered_then_the_connection_closes(server: S13ServerThread) -> None:
    dpr = DisconnectPeerRequest()
    dpr.origin_host, dpr.origin_realm, dpr.disconnect_cause = b"mme", b"operator.kz", 0
    with connect(server) as sock:
        sock.sendall(dpr.as_bytes() + micr("490154203237518").as_bytes())
        dpa = read_answer(sock)
        assert (dpa.header.command_code, dpa.result_code) == (282, 2001)
        assert is_closed(sock)


@pytest.mark.parametrize(
    ("imei", "status"),
    [("490154203237518", 0), ("353879234252633", 1), ("356938035643809", 2)],
)
def test_micr_answers_the_equipment_status(server: S13ServerThread, imei: str, status: int) -> None:
    with connect(server) as sock:
        sock.sendall(micr(imei, hbh=42).as_bytes())
        mica = read_answer(sock)
    assert (mica.header.command_code, mica.header.application_id) == (324, S13)
    assert not mica.header.is_request and not mica.header.is_error
    assert mica.header.hop_by_hop_identifier == 42
    assert mica.header.end_to_end_identifier == 1_000_042
    assert mica.session_id == "mme.operator.kz;1;42"
    assert (mica.result_code, mica.equipment_status) == (2001, status)
    assert mica.auth_session_state == 1
    assert (mica.origin_host, mica.origin_realm) == (b"tizim.eir.kz", b"eir.kz")


def test_unknown_equipment_gets_experimental_result_5422(server: S13ServerThread) -> None:
    with connect(server) as sock:
        sock.sendall(micr("111111111111111").as_bytes())
        mica = read_answer(sock)
    assert mica.result_code is None and mica.equipment_status is None
    assert mica.experimental_result.vendor_id == VENDOR_TGPP
    assert mica.experimental_result.experimental_result_code == 5422
    assert mica.session_id == "mme.operator.kz;1;1"


def test_imeisv_software_version_imsi_and_realm_reach_the_source_untouched(
    server: S13ServerThread, source: DictSource
) -> None:
    with connect(server) as sock:
        sock.sendall(
            micr("4901542032375112", software_version="12", imsi="401770123456789").as_bytes()
        )
        mica = read_answer(sock)
        sock.sendall(micr("not-an-imei").as_bytes())
        garbage = read_answer(sock)
    assert source.calls[0] == ("4901542032375112", "12", "401770123456789", "operator.kz")
    assert mica.equipment_status == 0
    assert garbage.equipment_status == 1


def test_a_failing_source_gets_5012_and_the_connection_stays(server: S13ServerThread) -> None:
    with connect(server) as sock:
        sock.sendall(micr("explode").as_bytes() + micr("490154203237518", hbh=2).as_bytes())
        assert read_answer(sock).result_code == 5012
        assert read_answer(sock).equipment_status == 0


@pytest.mark.parametrize(
    ("command", "application", "result"),
    [(999, 0, 3001), (316, S13, 3001), (316, 16777251, 3007), (324, 0, 3001)],
)
def test_unsupported_commands_and_applications_get_protocol_errors(
    server: S13ServerThread, command: int, application: int, result: int
) -> None:
    with connect(server) as sock:
        sock.sendall(raw_request(command, application, [micr_avps()["session"]]))
        answer = read_answer(sock)
    assert answer.header.is_error and not answer.header.is_request
    assert answer.header.command_code == command
    assert answer.result_code == result
    assert answer.session_id == "mme;1;2"


@pytest.mark.parametrize(
    ("left_out", "failed_code"),
    [
        ("session", AVP_SESSION_ID),
        ("terminal", AVP_TGPP_TERMINAL_INFORMATION),
        ("host", AVP_ORIGIN_HOST),
        ("state", AVP_AUTH_SESSION_STATE),
    ],
)
def test_missing_mandatory_avp_gets_5005_naming_it(
    server: S13ServerThread, left_out: str, failed_code: int
) -> None:
    avps = micr_avps()
    del avps[left_out]
    with connect(server) as sock:
        sock.sendall(raw_request(324, S13, list(avps.values())))
        mica = read_answer(sock)
    assert mica.result_code == 5005 and not mica.header.is_error
    assert [a.code for a in mica.failed_avp[0].additional_avps] == [failed_code]


def test_terminal_information_without_imei_gets_5005_naming_imei(
    server: S13ServerThread,
) -> None:
    avps = micr_avps()
    avps["terminal"] = Avp.new(
        AVP_TGPP_TERMINAL_INFORMATION,
        VENDOR_TGPP,
        [Avp.new(AVP_TGPP_SOFTWARE_VERSION, VENDOR_TGPP, "01")],
    )
    with connect(server) as sock:
        sock.sendall(raw_request(324, S13, list(avps.values())))
        mica = read_answer(sock)
    assert mica.result_code == 5005
    failed = mica.failed_avp[0].additional_avps[0]
    assert (failed.code, failed.vendor_id) == (AVP_TGPP_IMEI, VENDOR_TGPP)


def test_imei_that_is_not_utf8_gets_5004(server: S13ServerThread) -> None:
    avps = micr_avps()
    imei = Avp(AVP_TGPP_IMEI, VENDOR_TGPP, b"\xff\xfe12", flags=0xC0)
    avps["terminal"] = Avp.new(AVP_TGPP_TERMINAL_INFORMATION, VENDOR_TGPP, [imei])
    with connect(server) as sock:
        sock.sendall(raw_request(324, S13, list(avps.values())))
        assert read_answer(sock).result_code == 5004


def test_request_with_error_bit_gets_3008(server: S13ServerThread) -> None:
    data = bytearray(micr("490154203237518").as_bytes())
    data[4] |= 0x20
    with connect(server) as sock:
        sock.sendall(bytes(data))
        answer = read_answer(sock)
    assert answer.result_code == 3008 and answer.header.is_error


def test_answers_from_the_peer_are_ignored(server: S13ServerThread) -> None:
    stray = bytearray(micr("490154203237518", hbh=5).as_bytes())
    stray[4] &= 0x7F  # clear R: an answer we never asked for
    with connect(server) as sock:
        sock.sendall(bytes(stray) + micr("490154203237518", hbh=6).as_bytes())
        assert read_answer(sock).header.hop_by_hop_identifier == 6


@pytest.mark.parametrize(
    "garbage",
    [
        b"GET / HTTP/1.1\r\nHost: eir\r\n\r\n",
        bytes([1, 0, 0, 8]) + bytes(16),  # length 8 < 20
        bytes([1, 0xFF, 0xFF, 0xFF, 0x80]) + bytes(15),  # absurd length, looks like a request
    ],
)
def test_garbage_closes_only_that_connection(server: S13ServerThread, garbage: bytes) -> None:
    with connect(server) as good, connect(server) as bad:
        bad.sendall(garbage)
        while not is_closed(bad):  # an answer may come first, then the close
            pass
        good.sendall(micr("490154203237518").as_bytes())
        assert read_answer(good).equipment_status == 0


def test_absurd_length_request_is_answered_5015_before_closing(server: S13ServerThread) -> None:
    with connect(server) as sock:
        sock.sendall(bytes([1, 0xFF, 0xFF, 0xFF, 0x80, 0, 1, 68]) + bytes(12))
        assert read_answer(sock).result_code == 5015
        assert is_closed(sock)


def test_peer_leaving_mid_message_does_not_disturb_others(server: S13ServerThread) -> None:
    request = micr("490154203237518").as_bytes()
    with connect(server) as quitter:
        quitter.sendall(request[:30])
    with connect(server) as sock:
        for byte in request:  # and one that trickles a byte at a time
            sock.sendall(bytes([byte]))
        assert read_answer(sock).equipment_status == 0


def test_many_peers_with_pipelined_requests_get_answers_in_order(
    server: S13ServerThread,
) -> None:
    imeis = [*IMEIS, "000000000000001"]
    expected = {"white": 0, "black": 1, "grey": 2}

    async def peer(number: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        hbhs = [number * 1000 + i for i in range(20)]
        writer.write(b"".join(micr(imeis[h % 4], hbh=h).as_bytes() for h in hbhs))
        for hbh in hbhs:
            header = await reader.readexactly(20)
            body = await reader.readexactly(int.from_bytes(header[1:4], "big") - 20)
            mica = Message.from_bytes(header + body)
            assert mica.header.hop_by_hop_identifier == hbh
            status = IMEIS.get(imeis[hbh % 4], "unknown")
            if status == "unknown":
                assert mica.experimental_result.experimental_result_code == 5422
            else:
                assert mica.equipment_status == expected[status]
        writer.close()
        await writer.wait_closed()

    async def main() -> None:
        await asyncio.wait_for(asyncio.gather(*(peer(n) for n in range(50))), timeout=30)

    asyncio.run(main())
