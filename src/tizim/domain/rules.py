"""The registry's configurable rule parameters and the Asia/Almaty calendar they are counted in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tizim.domain.imei import DEFAULT_RESERVED_TAC_PREFIXES


@dataclass(frozen=True, slots=True)
class Rules:
    """Numbers and dates of the rule book (Order No. 226 as amended in 2025); all configurable."""

    grace_days: int = 30
    grandfather_before: date = date(2025, 5, 25)
    enforcement_start: date = date(2025, 8, 18)
    timezone: str = "Asia/Almaty"
    clone_blocks: bool = False
    reserved_tac_prefixes: tuple[str, ...] = DEFAULT_RESERVED_TAC_PREFIXES

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_date(self, moment: datetime) -> date:
        """The calendar day of `moment` in the registry's time zone."""
        return moment.astimezone(self.zone).date()

    def local_midnight(self, day: date) -> datetime:
        """00:00 of `day` in the registry's time zone, as an aware UTC datetime."""
        return datetime.combine(day, time(0), self.zone).astimezone(UTC)

    def grace_deadline(self, first_seen: datetime) -> datetime:
        """When a grey IMEI first seen at `first_seen` goes black.

        The local date of the first sighting + grace days, at local midnight; never before the
        start of enforcement (IMEIs whose grace expired earlier were all cut off on that day).
        """
        by_grace = self.local_date(first_seen) + timedelta(days=self.grace_days)
        return self.local_midnight(max(by_grace, self.enforcement_start))

    def is_grandfathered(self, first_seen: datetime) -> bool:
        return first_seen < self.local_midnight(self.grandfather_before)
