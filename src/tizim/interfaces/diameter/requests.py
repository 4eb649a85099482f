"""Reading incoming requests: the MICR hot path scan, and checks for the base commands.

`parse_micr` walks the AVPs of an ME-Identity-Check-Request with `struct.unpack_from` and
keeps only offsets and the values an answer needs: no object per AVP, no dictionary.
`scan_micr` also says where those values lie, so `layout.py` can read the next messages of
the same shape without scanning them.
The base commands (CER/DWR/DPR) are rare, so they use the generic decoder in `codec.py`.
A request that breaks a rule raises `RequestError` carrying the RFC 6733 result code, a
human reason (sent back as Error-Message) and the Failed-AVP content.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from tizim.interfaces.diameter import avps as A
from tizim.interfaces.diameter.codec import (
    DiameterDecodeError,
    Message,
    decode_message,
    encode_avp,
)

_AVP_HEADER = struct.Struct(">II")
_U32 = struct.Struct(">I")

# Minimum zero-filled payload of a missing AVP in Failed-AVP (RFC 6733 7.5).
_MIN_PAYLOAD = {
    A.AVP_AUTH_SESSION_STATE: 4,
    A.AVP_VENDOR_ID: 4,
    A.AVP_DISCONNECT_CAUSE: 4,
    A.AVP_HOST_IP_ADDRESS: 6,
}

# Mandatory AVPs per request command, in the order they are reported missing.
REQUIRED_AVPS: dict[int, tuple[tuple[int, int], ...]] = {
    A.CMD_CAPABILITIES_EXCHANGE: (
        (A.AVP_ORIGIN_HOST, 0),
        (A.AVP_ORIGIN_REALM, 0),
        (A.AVP_HOST_IP_ADDRESS, 0),
        (A.AVP_VENDOR_ID, 0),
        (A.AVP_PRODUCT_NAME, 0),
    ),
    A.CMD_DEVICE_WATCHDOG: ((A.AVP_ORIGIN_HOST, 0), (A.AVP_ORIGIN_REALM, 0)),
    A.CMD_DISCONNECT_PEER: (
        (A.AVP_ORIGIN_HOST, 0),
        (A.AVP_ORIGIN_REALM, 0),
        (A.AVP_DISCONNECT_CAUSE, 0),
    ),
    A.CMD_ME_IDENTITY_CHECK: (
        (A.AVP_SESSION_ID, 0),
        (A.AVP_AUTH_SESSION_STATE, 0),
        (A.AVP_ORIGIN_HOST, 0),
        (A.AVP_ORIGIN_REALM, 0),
        (A.AVP_DESTINATION_REALM, 0),
        (A.AVP_TERMINAL_INFORMATION, A.VENDOR_3GPP),
    ),
}


class RequestError(Exception):
    """A request we answer with an error: result code, reason, Failed-AVP payload."""

    def __init__(self, result_code: int, reason: str, failed_avp: bytes = b"") -> None:
        super().__init__(reason)
        self.result_code = result_code
        self.reason = reason
        self.failed_avp = failed_avp


class Micr(NamedTuple):
    """What an ME-Identity-Check answer needs from its request."""

    session_avp: bytes  # the Session-Id AVP exactly as received, padding included
    imei: str
    software_version: str | None
    imsi: str | None
    origin_realm: str | None  # the MME's realm: which operator is asking


def missing_avp(code: int, vendor_id: int = 0) -> RequestError:
    payload = b"\0" * _MIN_PAYLOAD.get(code, 0)
    return RequestError(
        A.MISSING_AVP,
        f"missing AVP {code}" + (f" (vendor {vendor_id})" if vendor_id else ""),
        encode_avp(code, payload, vendor_id=vendor_id),
    )


def _not_utf8(msg: bytes, avp_start: int, end: int) -> RequestError:
    return RequestError(A.INVALID_AVP_VALUE, "AVP value is not valid UTF-8", msg[avp_start:end])


def _bad_length(msg: bytes, pos: int, code: int, vendor: int) -> RequestError:
    return RequestError(
        A.INVALID_AVP_LENGTH,
        f"AVP {code} has an invalid length",
        encode_avp(code, b"", vendor_id=vendor),
    )


# Bit per required MICR AVP (vendor 0), in REQUIRED_AVPS order; Terminal-Information is 32.
_MICR_BITS = {
    A.AVP_SESSION_ID: 1,
    A.AVP_AUTH_SESSION_STATE: 2,
    A.AVP_ORIGIN_HOST: 4,
    A.AVP_ORIGIN_REALM: 8,
    A.AVP_DESTINATION_REALM: 16,
}


class Spans(NamedTuple):
    """Where the values `scan_micr` decoded lie in the message: (start, stop) offsets.

    Exactly the bytes the scan decodes as UTF-8 and returns (the first Session-Id, the last
    User-Name, the first IMEI and Software-Version in the last Terminal-Information); the
    scan reads nothing else but AVP headers, Origin-Realm and Auth-Session-State. `layout.py`
    relies on that: (0, 0) means absent.
    """

    session: tuple[int, int]
    imsi: tuple[int, int]
    imei: tuple[int, int]
    software_version: tuple[int, int]


def parse_micr(msg: bytes) -> Micr:
    """Scan a complete, framed MICR (header included) for the fields an answer needs."""
    return scan_micr(msg)[0]


def scan_micr(msg: bytes) -> tuple[Micr, Spans]:
    """`parse_micr`, plus where each value it returned was read (for `layout.py`).

    Once the fast path of the server, now run once per new message layout of a connection;
    numbers are still literals and the common AVP (no vendor, no reserved bits) takes one
    branch.
    """
    end = len(msg)
    pos = 20
    session = imsi = realm = None
    session_span = imsi_span = (0, 0)
    terminal = 0, 0
    seen = 0
    unpack = _AVP_HEADER.unpack_from
    bits = _MICR_BITS.get
    while pos < end:
        if end - pos < 8:
            raise RequestError(A.INVALID_AVP_LENGTH, "truncated AVP header")
        code, flags_length = unpack(msg, pos)
        length = flags_length & 0xFFFFFF
        stop = pos + length
        if flags_length & 0x9F000000:  # V flag or reserved bits: the uncommon path
            has_vendor = flags_length & 0x80000000
            header = 12 if has_vendor else 8
            if end - pos < header:
                raise RequestError(A.INVALID_AVP_LENGTH, "truncated AVP header")
            vendor = _U32.unpack_from(msg, pos + 8)[0] if has_vendor else 0
            if length < header or stop > end:
                raise _bad_length(msg, pos, code, vendor)
            if flags_length & 0x1F000000:
                raise RequestError(
                    A.INVALID_AVP_BITS, f"AVP {code} has reserved flag bits set", msg[pos:stop]
                )
            if code == 1401 and vendor == 10415:  # Terminal-Information
                terminal = pos + 12, stop
                seen |= 32
        else:
            if length < 8 or stop > end:
                raise _bad_length(msg, pos, code, 0)
            bit = bits(code)
            if bit is not None:
                seen |= bit
                if bit == 1 and session is None:  # Session-Id
                    try:  # inline, not a helper call: this runs for every request
                        msg[pos + 8 : stop].decode()
                    except UnicodeDecodeError:
                        raise _not_utf8(msg, pos, stop) from None
                    session = msg[pos : min(pos + ((length + 3) & ~3), end)]
                    session_span = pos + 8, stop
                elif bit == 8 and realm is None:  # Origin-Realm
                    try:
                        realm = msg[pos + 8 : stop].decode()
                    except UnicodeDecodeError:
                        raise _not_utf8(msg, pos, stop) from None
                elif bit == 2:  # Auth-Session-State
                    if length != 12:
                        raise _bad_length(msg, pos, code, 0)
                    if _U32.unpack_from(msg, pos + 8)[0] > 1:
                        raise RequestError(
                            A.INVALID_AVP_VALUE, "bad Auth-Session-State", msg[pos:stop]
                        )
            elif code == 1:  # User-Name: the IMSI
                try:
                    imsi = msg[pos + 8 : stop].decode()
                except UnicodeDecodeError:
                    raise _not_utf8(msg, pos, stop) from None
                imsi_span = pos + 8, stop
        pos += (length + 3) & ~3
    if seen != 63:
        for bit, (code, vendor) in enumerate(REQUIRED_AVPS[A.CMD_ME_IDENTITY_CHECK]):
            if not seen & (1 << bit):
                raise missing_avp(code, vendor)
    assert session is not None  # guaranteed by `seen`
    imei, software_version, imei_span, version_span = _parse_terminal(msg, *terminal)
    micr = Micr(session, imei, software_version, imsi, realm)
    return micr, Spans(session_span, imsi_span, imei_span, version_span)


def _parse_terminal(
    msg: bytes, pos: int, end: int
) -> tuple[str, str | None, tuple[int, int], tuple[int, int]]:
    """IMEI and Software-Version from inside Terminal-Information, and their spans."""
    imei = software_version = None
    imei_span = version_span = (0, 0)
    while pos < end:
        if end - pos < 12:
            raise RequestError(A.INVALID_AVP_LENGTH, "truncated AVP in Terminal-Information")
        code, flags_length = _AVP_HEADER.unpack_from(msg, pos)
        flags = flags_length >> 24
        length = flags_length & 0xFFFFFF
        header = 12 if flags & A.AVP_FLAG_VENDOR else 8
        vendor = _U32.unpack_from(msg, pos + 8)[0] if header == 12 else 0
        stop = pos + length
        if length < header or stop > end:
            raise _bad_length(msg, pos, code, vendor)
        if vendor == A.VENDOR_3GPP:
            if code == A.AVP_IMEI and imei is None:
                try:
                    imei = msg[pos + 12 : stop].decode()
                except UnicodeDecodeError:
                    raise _not_utf8(msg, pos, stop) from None
                imei_span = pos + 12, stop
            elif code == A.AVP_SOFTWARE_VERSION and software_version is None:
                try:
                    software_version = msg[pos + 12 : stop].decode()
                except UnicodeDecodeError:
                    raise _not_utf8(msg, pos, stop) from None
                version_span = pos + 12, stop
        pos += (length + 3) & ~3
    if imei is None:
        raise missing_avp(A.AVP_IMEI, A.VENDOR_3GPP)
    return imei, software_version, imei_span, version_span


def parse_base_request(msg: bytes, command_code: int) -> Message:
    """Decode a CER/DWR/DPR with the generic codec and check its mandatory AVPs."""
    try:
        message = decode_message(msg)
    except DiameterDecodeError as error:
        raise RequestError(error.result_code, error.reason) from None
    for code, vendor in REQUIRED_AVPS[command_code]:
        if message.find(code, vendor) is None:
            raise missing_avp(code, vendor)
    return message


def offers_s13(cer: Message) -> bool:
    """Whether a CER advertises S13 (or relay), directly or in Vendor-Specific-Application-Id."""
    wanted = {_U32.pack(A.APP_S13), _U32.pack(A.APP_RELAY)}
    candidates = [avp for avp in cer.avps if avp.vendor_id == 0]
    for avp in cer.avps:
        if avp.code == A.AVP_VENDOR_SPECIFIC_APPLICATION_ID and avp.children:
            candidates.extend(avp.children)
    return any(
        c.code == A.AVP_AUTH_APPLICATION_ID and c.vendor_id == 0 and c.data in wanted
        for c in candidates
    )
