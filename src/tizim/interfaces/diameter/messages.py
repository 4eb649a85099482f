"""Building answers. The MICA is a precomputed template: only the header and Session-Id vary.

Everything after the Session-Id of a successful ME-Identity-Check-Answer depends only on the
equipment status, so `Answers` encodes those tails once per server; an answer is then one
`struct.pack` for the length plus a few byte-string joins (and for a request of a known
layout, `layout.py`, the header up to the ids is precomputed as well: one join). The rarer
answers (CEA, DWA, DPA, errors) are encoded on demand with `codec.py`.
"""

from __future__ import annotations

import ipaddress
import struct

from tizim.interfaces.diameter import avps as A
from tizim.interfaces.diameter.codec import (
    encode_avp,
    encode_grouped_avp,
    encode_str_avp,
    encode_u32_avp,
)

_U32 = struct.Struct(">I")
_FLAG_BYTES = tuple(bytes((flags,)) for flags in range(256))

PRODUCT_NAME = "tizim"
STATUS_CODES = {
    "white": A.EQUIPMENT_WHITELISTED,
    "black": A.EQUIPMENT_BLACKLISTED,
    "grey": A.EQUIPMENT_GREYLISTED,
}


def answer_header(request: bytes, length: int, *, error: bool = False) -> bytes:
    """The answer's header: R cleared, P kept, E as asked; code, app and ids copied."""
    flags = (request[4] & A.FLAG_PROXIABLE) | (A.FLAG_ERROR if error else 0)
    return _U32.pack(0x01000000 | length) + _FLAG_BYTES[flags] + request[5:20]


def encode_address(ip: str) -> bytes:
    """Diameter Address type: 2-byte address family (1 IPv4, 2 IPv6) then the address."""
    address = ipaddress.ip_address(ip)
    family = 1 if address.version == 4 else 2
    return family.to_bytes(2, "big") + address.packed


class Answers:
    """Answer encoders bound to one server identity (Origin-Host and Origin-Realm)."""

    def __init__(self, origin_host: str, origin_realm: str) -> None:
        self.identity = encode_str_avp(A.AVP_ORIGIN_HOST, origin_host) + encode_str_avp(
            A.AVP_ORIGIN_REALM, origin_realm
        )
        state = encode_u32_avp(A.AVP_AUTH_SESSION_STATE, A.AUTH_SESSION_NO_STATE_MAINTAINED)
        success = encode_u32_avp(A.AVP_RESULT_CODE, A.SUCCESS)
        self.mica_tails: dict[str, bytes] = {
            name: success
            + state
            + self.identity
            + encode_u32_avp(A.AVP_EQUIPMENT_STATUS, code, vendor_id=A.VENDOR_3GPP)
            for name, code in STATUS_CODES.items()
        }
        self.mica_tails["unknown"] = (
            experimental_result(A.ERROR_EQUIPMENT_UNKNOWN) + state + self.identity
        )
        self._state = state

    def mica(self, request: bytes, session_avp: bytes, status: str) -> bytes | None:
        """The ME-Identity-Check-Answer for a status word; None if the word is not known."""
        tail = self.mica_tails.get(status)
        if tail is None:
            return None
        length = 20 + len(session_avp) + len(tail)
        return answer_header(request, length) + session_avp + tail

    def mica_parts(self, request: bytes, session_length: int) -> dict[str, tuple[bytes, bytes]]:
        """Per status word, a MICA's bytes before the ids and after the Session-Id.

        Both depend only on the request's header and the Session-Id AVP's length, so
        `layout.py` computes them once per request layout.
        """
        return {
            status: (answer_header(request, 20 + session_length + len(tail))[:12], tail)
            for status, tail in self.mica_tails.items()
        }

    def mica_error(
        self, request: bytes, session_avp: bytes, result_code: int, reason: str, failed: bytes
    ) -> bytes:
        """A MICA carrying a 5xxx permanent failure (no E bit, RFC 6733 7.1.5)."""
        body = (
            session_avp
            + encode_u32_avp(A.AVP_RESULT_CODE, result_code)
            + self._state
            + self.identity
            + _diagnostics(reason, failed)
        )
        return answer_header(request, 20 + len(body)) + body

    def protocol_error(
        self, request: bytes, session_avp: bytes, result_code: int, reason: str, failed: bytes = b""
    ) -> bytes:
        """An answer-message with the E bit (RFC 6733 7.2), for 3xxx protocol errors."""
        body = (
            session_avp
            + self.identity
            + encode_u32_avp(A.AVP_RESULT_CODE, result_code)
            + _diagnostics(reason, failed)
        )
        return answer_header(request, 20 + len(body), error=True) + body

    def plain(
        self, request: bytes, result_code: int, reason: str = "", failed: bytes = b""
    ) -> bytes:
        """A base answer (DWA, DPA, or a bare failure): Result-Code and identity."""
        body = encode_u32_avp(A.AVP_RESULT_CODE, result_code) + self.identity
        if result_code != A.SUCCESS:
            body += _diagnostics(reason, failed)
        return answer_header(request, 20 + len(body)) + body

    def cea(
        self,
        request: bytes,
        host_ip: str,
        result_code: int = A.SUCCESS,
        reason: str = "",
        failed: bytes = b"",
    ) -> bytes:
        """Capabilities-Exchange-Answer advertising S13 (plain and vendor-specific)."""
        body = (
            encode_u32_avp(A.AVP_RESULT_CODE, result_code)
            + self.identity
            + encode_avp(A.AVP_HOST_IP_ADDRESS, encode_address(host_ip))
            + encode_u32_avp(A.AVP_VENDOR_ID, 0)
            + encode_str_avp(A.AVP_PRODUCT_NAME, PRODUCT_NAME, mandatory=False)
            + encode_u32_avp(A.AVP_SUPPORTED_VENDOR_ID, A.VENDOR_3GPP)
            + encode_u32_avp(A.AVP_AUTH_APPLICATION_ID, A.APP_S13)
            + encode_grouped_avp(
                A.AVP_VENDOR_SPECIFIC_APPLICATION_ID,
                (
                    encode_u32_avp(A.AVP_VENDOR_ID, A.VENDOR_3GPP),
                    encode_u32_avp(A.AVP_AUTH_APPLICATION_ID, A.APP_S13),
                ),
            )
        )
        if result_code != A.SUCCESS:
            body += _diagnostics(reason, failed)
        return answer_header(request, 20 + len(body)) + body


def experimental_result(code: int) -> bytes:
    return encode_grouped_avp(
        A.AVP_EXPERIMENTAL_RESULT,
        (
            encode_u32_avp(A.AVP_VENDOR_ID, A.VENDOR_3GPP),
            encode_u32_avp(A.AVP_EXPERIMENTAL_RESULT_CODE, code),
        ),
    )


def _diagnostics(reason: str, failed: bytes) -> bytes:
    """Error-Message (for the humans reading traces) and Failed-AVP (for the peer)."""
    out = encode_str_avp(A.AVP_ERROR_MESSAGE, reason[:200], mandatory=False) if reason else b""
    if failed:
        out += encode_avp(A.AVP_FAILED_AVP, failed + b"\0" * (-len(failed) % 4))
    return out
