"""The clock is injected everywhere: domain functions take `now`, services take a Clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

ALMATY = ZoneInfo("Asia/Almaty")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved: for `--now` on the CLI and for tests."""

    def __init__(self, moment: datetime) -> None:
        self.moment = as_utc(moment)

    def now(self) -> datetime:
        return self.moment

    def set(self, moment: datetime) -> None:
        self.moment = as_utc(moment)


def as_utc(moment: datetime) -> datetime:
    """Aware UTC; a naive value is Asia/Almaty local time, as FORMATS.md says."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ALMATY)
    return moment.astimezone(UTC)


def parse_moment(text: str) -> datetime:
    """ISO 8601 timestamp or bare date (00:00 Asia/Almaty) → aware UTC datetime."""
    return as_utc(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
