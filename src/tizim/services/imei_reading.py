"""`read_imei` with a fast path for bulk files, where nearly every IMEI is a clean 15 digits.

The domain's `read_imei` costs ~9 µs (python-stdnum's general Luhn); a million-device file
has 1.5 M IMEIs, so that alone would eat the whole load budget. A clean 15-digit, non-reserved
IMEI with a correct check digit is recognised here in well under a microsecond; anything else
goes to `read_imei`, so the verdict is always the domain's (a property test checks they agree).
"""

from __future__ import annotations

from tizim.domain.imei import ImeiReading, read_imei

_DOUBLED = str.maketrans("0123456789", "0246813579")  # digit → digit sum of its double
_ZEROS = 15 * ord("0")  # the byte values of 15 ASCII digits exceed their values by this


def clean_imei(raw: str, reserved_tac_prefixes: tuple[str, ...]) -> bool:
    """Whether `raw` is a valid 15-digit IMEI as it stands (no reading needed).

    Same tests as the domain: 15 ASCII digits, Luhn check digit (digit sums computed on the
    bytes: the sum of 15 ASCII digits is their digit sum + 720), not all-same-digit body, no
    reserved TAC prefix.
    """
    return (
        len(raw) == 15
        and raw.isdigit()
        and raw.isascii()
        and (sum(raw[0::2].encode()) + sum(raw[1::2].translate(_DOUBLED).encode()) - _ZEROS) % 10
        == 0
        and raw[:14] != raw[0] * 14
        and not raw.startswith(reserved_tac_prefixes)
    )


def luhn_check_digit(body14: str) -> str:
    """`tizim.domain.imei.check_digit` for a 14-digit body, without python-stdnum's overhead.

    Positions 2, 4, … 14 (1-based) are doubled: the digit after the body takes position 15.
    """
    total = sum(body14[0::2].encode()) + sum(body14[1::2].translate(_DOUBLED).encode())
    return str(-(total - 14 * ord("0")) % 10)


def read_imei_fast(raw: str, reserved_tac_prefixes: tuple[str, ...]) -> ImeiReading:
    """The same reading as `read_imei(raw, reserved_tac_prefixes)`, faster for clean input."""
    if clean_imei(raw, reserved_tac_prefixes):
        return ImeiReading(raw, raw, None, None)
    return read_imei(raw, reserved_tac_prefixes)
