"""`read_imei` with a fast path for bulk files, where nearly every IMEI is a clean 15 digits.

The domain's `read_imei` costs ~9 µs (python-stdnum's general Luhn); a million-device file
has 1.5 M IMEIs, so that alone would eat the whole load budget. A clean 15-digit, non-reserved
IMEI with a correct check digit is recognised here in ~1.5 µs; anything else goes to
`read_imei`, so the verdict is always the domain's (a property test checks they agree).
"""

from __future__ import annotations

from tizim.domain.imei import ImeiReading, is_reserved, read_imei

_DOUBLED = str.maketrans("0123456789", "0246813579")  # digit → digit sum of its double


def read_imei_fast(raw: str, reserved_tac_prefixes: tuple[str, ...]) -> ImeiReading:
    """The same reading as `read_imei(raw, reserved_tac_prefixes)`, faster for clean input."""
    if (
        len(raw) == 15
        and raw.isascii()
        and raw.isdigit()
        and (sum(map(int, raw[0::2])) + sum(map(int, raw[1::2].translate(_DOUBLED)))) % 10 == 0
        and not is_reserved(raw, reserved_tac_prefixes)
    ):
        return ImeiReading(raw, raw, None, None)
    return read_imei(raw, reserved_tac_prefixes)
