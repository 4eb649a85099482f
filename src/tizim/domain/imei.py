"""Reading an IMEI as people and networks give it, and the authenticity rules of the registry.

Accepted input: 14 digits (body without check digit: the check digit is computed), 15 digits
(IMEI with Luhn check digit), 16 digits (IMEISV: body + 2-digit software version). Spaces,
hyphens, dots and slashes, as printed on boxes, are ignored. The registry always stores the
15-digit IMEI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum import luhn

from tizim.domain.reasons import Reason

_SEPARATORS = re.compile(r"[\s\-./]")

DEFAULT_RESERVED_TAC_PREFIXES: tuple[str, ...] = (
    "00000000",  # all-zero TAC: never allocated
    "00101",  # test equipment TACs (3GPP test IMEIs 00101xxx...)
    "12345678",  # the classic forged "123456789012345"
)


@dataclass(frozen=True, slots=True)
class ImeiReading:
    """What the registry makes of one IMEI input.

    `imei` is the 15-digit IMEI whenever the input had the shape of one (even with a bad check
    digit, so the device can still be listed and blocked); None only for INVALID_FORMAT.
    """

    raw: str
    imei: str | None
    software_version: str | None
    invalid_reason: Reason | None

    @property
    def tac(self) -> str | None:
        return self.imei[:8] if self.imei else None

    @property
    def is_valid(self) -> bool:
        return self.invalid_reason is None


def check_digit(body14: str) -> str:
    """The Luhn check digit of a 14-digit IMEI body."""
    return str(luhn.calc_check_digit(body14))


def read_imei(
    raw: str, reserved_tac_prefixes: tuple[str, ...] = DEFAULT_RESERVED_TAC_PREFIXES
) -> ImeiReading:
    """Parse and check one IMEI/IMEISV input (structure only: the TAC database comes later)."""
    digits = _SEPARATORS.sub("", raw or "")
    if not digits.isascii() or not digits.isdigit() or len(digits) not in (14, 15, 16):
        return ImeiReading(raw, None, None, Reason.INVALID_FORMAT)
    body = digits[:14]
    software_version = digits[14:] if len(digits) == 16 else None
    imei = body + (digits[14] if len(digits) == 15 else check_digit(body))
    if is_reserved(imei, reserved_tac_prefixes):
        return ImeiReading(raw, imei, software_version, Reason.RESERVED_IMEI)
    if imei[14] != check_digit(body):
        return ImeiReading(raw, imei, software_version, Reason.INVALID_CHECK_DIGIT)
    return ImeiReading(raw, imei, software_version, None)


def is_reserved(imei: str, reserved_tac_prefixes: tuple[str, ...]) -> bool:
    """All-same-digit bodies and reserved/test TACs are never real equipment."""
    body = imei[:14]
    return len(set(body)) == 1 or imei.startswith(reserved_tac_prefixes)


def authenticity_reason(reading: ImeiReading, tac_known: bool | None) -> Reason | None:
    """The first authenticity failure of an IMEI, if any.

    `tac_known` is None while no TAC database is loaded: the UNKNOWN_TAC rule is then inactive.
    """
    if reading.invalid_reason is not None:
        return reading.invalid_reason
    if tac_known is False:
        return Reason.UNKNOWN_TAC
    return None
