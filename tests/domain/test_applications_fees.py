"""The fee: 1 MRP of the year of submission per device; free corrected re-submission."""

from __future__ import annotations

from datetime import date

import pytest

from tizim.domain.fees import (
    DEFAULT_MRP_BY_YEAR,
    FeeNotConfigured,
    verification_fee,
    within_free_resubmission,
)


@pytest.mark.parametrize(
    ("submitted", "devices", "fee"),
    [
        (date(2025, 3, 25), 1, 3932),
        (date(2025, 12, 31), 1, 3932),
        (date(2026, 1, 1), 1, 4325),
        (date(2026, 6, 1), 3, 3 * 4325),
    ],
)
def test_the_fee_is_one_mrp_of_the_submission_year_per_device(
    submitted: date, devices: int, fee: int
) -> None:
    assert (
        verification_fee(submitted_on=submitted, devices=devices, mrp_by_year=DEFAULT_MRP_BY_YEAR)
        == fee
    )


def test_a_year_without_an_mrp_is_a_configuration_error_not_a_guess() -> None:
    with pytest.raises(FeeNotConfigured, match="2031"):
        verification_fee(submitted_on=date(2031, 1, 1), devices=1, mrp_by_year=DEFAULT_MRP_BY_YEAR)


def test_a_free_submission_costs_nothing() -> None:
    assert (
        verification_fee(submitted_on=date(2025, 9, 1), devices=1, mrp_by_year={}, free=True) == 0
    )


@pytest.mark.parametrize(
    ("submitted", "free"),
    [
        (date(2025, 9, 1), True),
        (date(2025, 10, 1), True),
        (date(2025, 10, 2), False),
        (date(2025, 8, 31), False),
    ],
)
def test_the_free_resubmission_period_is_30_calendar_days(submitted: date, free: bool) -> None:
    assert (
        within_free_resubmission(refused_on=date(2025, 9, 1), submitted_on=submitted, free_days=30)
        is free
    )
