"""The verification fee: 1 MRP (monthly calculation index) of the year of submission per device.

The MRP is set every year by the republican budget law (3,932 KZT in 2025, 4,325 KZT in 2026),
so it is a per-year table in configuration, not a constant. A corrected re-submission of a
refused application within the free period (30 days from the refusal, Asia/Almaty calendar)
pays nothing more: the person already paid for the decision that went wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

DEFAULT_MRP_BY_YEAR: dict[int, int] = {2025: 3932, 2026: 4325}
DEFAULT_FREE_RESUBMISSION_DAYS = 30
FEE_IN_MRP_PER_DEVICE = 1


class FeeNotConfigured(LookupError):
    """No MRP is configured for the year: the fee cannot be computed (a configuration error)."""

    def __init__(self, year: int) -> None:
        super().__init__(f"no MRP configured for {year} (set TIZIM_MRP_BY_YEAR)")
        self.year = year


def mrp_of(year: int, mrp_by_year: Mapping[int, int]) -> int:
    try:
        return mrp_by_year[year]
    except KeyError:
        raise FeeNotConfigured(year) from None


def verification_fee(
    *, submitted_on: date, devices: int, mrp_by_year: Mapping[int, int], free: bool = False
) -> int:
    """KZT due for verifying `devices` devices submitted on that (local) day."""
    if free:
        return 0
    return FEE_IN_MRP_PER_DEVICE * devices * mrp_of(submitted_on.year, mrp_by_year)


def within_free_resubmission(*, refused_on: date, submitted_on: date, free_days: int) -> bool:
    """Re-submitted on the day of the refusal up to `free_days` calendar days after it."""
    return refused_on <= submitted_on <= refused_on + timedelta(days=free_days)
