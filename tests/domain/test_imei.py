"""IMEI reading and authenticity rules (FORMATS.md reason codes)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tizim.domain.imei import authenticity_reason, check_digit, read_imei
from tizim.domain.reasons import Reason

VALID = "490154203237518"  # the classic example IMEI, check digit 8


@pytest.mark.parametrize(
    ("raw", "imei", "software_version", "reason"),
    [
        (VALID, VALID, None, None),
        ("49015420323751", VALID, None, None),  # 14 digits: check digit computed
        ("4901542032375107", VALID, "07", None),  # IMEISV: body + software version
        ("49-015420-323751-8", VALID, None, None),  # as printed on a box
        (" 490154203237518 ", VALID, None, None),
        ("490154203237519", "490154203237519", None, Reason.INVALID_CHECK_DIGIT),
        ("4901542032375", None, None, Reason.INVALID_FORMAT),  # 13 digits
        ("49015420323751800", None, None, Reason.INVALID_FORMAT),  # 17 digits
        ("49015420323751A", None, None, Reason.INVALID_FORMAT),
        ("", None, None, Reason.INVALID_FORMAT),
        ("٤٩٠١٥٤٢٠٣٢٣٧٥١٨", None, None, Reason.INVALID_FORMAT),  # non-ASCII digits
        ("000000000000000", "000000000000000", None, Reason.RESERVED_IMEI),
        ("111111111111111", "111111111111111", None, Reason.RESERVED_IMEI),
        ("00000000" + "1234567", "000000001234567", None, Reason.RESERVED_IMEI),  # zero TAC
        ("00101000000000", "001010000000008", None, Reason.RESERVED_IMEI),  # test TAC
        ("123456789012345", "123456789012345", None, Reason.RESERVED_IMEI),
    ],
)
def test_read_imei(
    raw: str, imei: str | None, software_version: str | None, reason: Reason | None
) -> None:
    reading = read_imei(raw)
    assert (reading.imei, reading.software_version, reading.invalid_reason) == (
        imei,
        software_version,
        reason,
    )


def test_tac_is_the_first_eight_digits() -> None:
    assert read_imei(VALID).tac == "49015420"


@pytest.mark.parametrize(
    ("tac_known", "expected"),
    [(None, None), (True, None), (False, Reason.UNKNOWN_TAC)],
)
def test_unknown_tac_only_counts_once_a_tac_database_is_loaded(
    tac_known: bool | None, expected: Reason | None
) -> None:
    assert authenticity_reason(read_imei(VALID), tac_known) == expected


def test_structural_failure_outranks_unknown_tac() -> None:
    bad = read_imei("490154203237519")
    assert authenticity_reason(bad, tac_known=False) == Reason.INVALID_CHECK_DIGIT


bodies = st.text(alphabet="0123456789", min_size=14, max_size=14).filter(
    lambda body: read_imei(body).invalid_reason != Reason.RESERVED_IMEI
)


@given(bodies)
def test_every_body_with_its_computed_check_digit_is_valid(body: str) -> None:
    reading = read_imei(body + check_digit(body))
    assert reading.is_valid
    assert reading.imei == body + check_digit(body)


@given(bodies, st.integers(min_value=0, max_value=14), st.integers(min_value=1, max_value=9))
def test_changing_any_one_digit_makes_a_valid_imei_invalid(
    body: str, position: int, shift: int
) -> None:
    valid = body + check_digit(body)
    digits = list(valid)
    digits[position] = str((int(digits[position]) + shift) % 10)
    assert not read_imei("".join(digits)).is_valid
