"""The Kazakh working calendar: which days are working days, and "N working days from now".

Support requests are answered within 1–5 *working* days (seed 001). A working day is a
Monday–Friday that is not a public holiday, plus any Saturday or Sunday the government
declared a working day when it moved a day off (a "transferred" day).

The Labour Code of the Republic of Kazakhstan (art. 84–85) and the Law on holidays give the
public holidays; a holiday that falls on a weekend moves to the next working day, except the
religious ones (Orthodox Christmas, Kurban Ait). Each year the government may also swap a
working day with a weekend day by decree. Those decrees and the lunar date of Kurban Ait
change every year, so the calendar is a *table* (dates off, weekend days worked) that
configuration can replace; the defaults below cover 2025 and 2026.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

# Days off that fall on a weekday, including the weekday a weekend holiday moved to.
DEFAULT_DAYS_OFF: tuple[date, ...] = (
    # 2025
    date(2025, 1, 1),  # New Year
    date(2025, 1, 2),  # New Year
    date(2025, 1, 3),  # day off moved from Saturday 4 January (decree)
    date(2025, 1, 7),  # Orthodox Christmas
    date(2025, 3, 10),  # International Women's Day (8 March is a Saturday)
    date(2025, 3, 21),  # Nauryz
    date(2025, 3, 24),  # Nauryz (22 March is a Saturday)
    date(2025, 3, 25),  # Nauryz (23 March is a Sunday)
    date(2025, 5, 1),  # Kazakhstan People's Unity Day
    date(2025, 5, 7),  # Defender of the Fatherland Day
    date(2025, 5, 9),  # Victory Day
    date(2025, 6, 6),  # Kurban Ait
    date(2025, 7, 7),  # Capital Day (6 July is a Sunday)
    date(2025, 9, 1),  # Constitution Day (30 August is a Saturday)
    date(2025, 10, 27),  # Republic Day (25 October is a Saturday)
    date(2025, 12, 16),  # Independence Day
    # 2026
    date(2026, 1, 1),  # New Year
    date(2026, 1, 2),  # New Year
    date(2026, 1, 7),  # Orthodox Christmas
    date(2026, 3, 9),  # International Women's Day (8 March is a Sunday)
    date(2026, 3, 23),  # Nauryz
    date(2026, 3, 24),  # Nauryz (21 March is a Saturday)
    date(2026, 3, 25),  # Nauryz (22 March is a Sunday)
    date(2026, 5, 1),  # Kazakhstan People's Unity Day
    date(2026, 5, 7),  # Defender of the Fatherland Day
    date(2026, 5, 11),  # Victory Day (9 May is a Saturday)
    date(2026, 5, 27),  # Kurban Ait
    date(2026, 7, 6),  # Capital Day
    date(2026, 8, 31),  # Constitution Day (30 August is a Sunday)
    date(2026, 10, 26),  # Republic Day (25 October is a Sunday)
    date(2026, 12, 16),  # Independence Day
)

# Saturdays and Sundays worked because a day off was moved (government decrees).
DEFAULT_WORKING_WEEKENDS: tuple[date, ...] = (
    date(2025, 1, 4),  # worked for Friday 3 January
)


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    """A working calendar: weekends are off unless listed in `working_weekends`."""

    days_off: frozenset[date] = frozenset(DEFAULT_DAYS_OFF)
    working_weekends: frozenset[date] = frozenset(DEFAULT_WORKING_WEEKENDS)

    def is_working_day(self, day: date) -> bool:
        if day in self.working_weekends:
            return True
        return day.weekday() < 5 and day not in self.days_off

    def add_working_days(self, start: date, count: int) -> date:
        """The `count`-th working day after `start` (`start` itself never counts).

        A request made on Friday evening or on a holiday is answered counting from the next
        working day, as any office counts: Friday + 1 working day = Monday.
        """
        if count < 0:
            raise ValueError(f"count must be zero or more, got {count}")
        day = start
        remaining = count
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days lie in (start, end]: 0 when `end` is not after `start`."""
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count
