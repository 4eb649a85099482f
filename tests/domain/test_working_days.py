"""The Kazakh working calendar: weekends, public holidays, moved days off, worked weekends."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tizim.domain.working_days import WorkingCalendar

CALENDAR = WorkingCalendar()


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        (date(2025, 11, 17), 1, date(2025, 11, 18)),  # Monday + 1 = Tuesday
        (date(2025, 11, 21), 1, date(2025, 11, 24)),  # Friday + 1 = Monday
        (date(2025, 11, 22), 1, date(2025, 11, 24)),  # asked on Saturday: Monday
        (date(2025, 11, 17), 5, date(2025, 11, 24)),  # a week later
        (date(2025, 12, 15), 1, date(2025, 12, 17)),  # Independence Day (Tue 16 Dec) skipped
        (date(2025, 3, 20), 1, date(2025, 3, 26)),  # Nauryz 21–25 March 2025 all off
        (date(2025, 3, 7), 1, date(2025, 3, 11)),  # 8 March on Saturday → Monday 10 off
        (date(2025, 1, 3), 1, date(2025, 1, 4)),  # Saturday 4 January 2025 worked
        (date(2025, 12, 31), 2, date(2026, 1, 6)),  # New Year: 1–2 Jan off, weekend
        (date(2026, 5, 8), 1, date(2026, 5, 12)),  # Victory Day on Saturday → Mon 11 off
        (date(2026, 5, 26), 1, date(2026, 5, 28)),  # Kurban Ait 2026
        (date(2025, 11, 17), 0, date(2025, 11, 17)),
    ],
)
def test_add_working_days_follows_the_kazakh_calendar(
    start: date, count: int, expected: date
) -> None:
    assert CALENDAR.add_working_days(start, count) == expected


def test_a_configured_table_replaces_the_defaults() -> None:
    calendar = WorkingCalendar(days_off=frozenset({date(2027, 1, 1)}), working_weekends=frozenset())
    assert calendar.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert calendar.is_working_day(date(2025, 12, 16))  # not a holiday in this table


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="zero or more"):
        CALENDAR.add_working_days(date(2025, 1, 1), -1)


@given(
    start=st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 20)),
    count=st.integers(min_value=0, max_value=10),
)
def test_the_result_is_a_working_day_exactly_count_working_days_later(
    start: date, count: int
) -> None:
    end = CALENDAR.add_working_days(start, count)
    assert CALENDAR.working_days_between(start, end) == count
    if count:
        assert CALENDAR.is_working_day(end)
        assert end - start <= timedelta(days=count * 3 + 5)
