"""All configuration in one place: TIZIM_* environment variables (pydantic-settings)."""

from __future__ import annotations

from datetime import date
from functools import cached_property
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from tizim.domain.rules import Rules
from tizim.domain.working_days import (
    DEFAULT_DAYS_OFF,
    DEFAULT_WORKING_WEEKENDS,
    WorkingCalendar,
)

_RULE_DEFAULTS = Rules()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIZIM_", frozen=True)

    database_url: str = "sqlite:///tizim.db"
    """SQLAlchemy URL. `postgresql://` URLs use psycopg 3."""

    # The rule book's numbers and dates; their defaults are the domain's own (domain/rules.py).
    grace_days: int = _RULE_DEFAULTS.grace_days
    grandfather_before: date = _RULE_DEFAULTS.grandfather_before
    enforcement_start: date = _RULE_DEFAULTS.enforcement_start
    timezone: str = _RULE_DEFAULTS.timezone
    clone_blocks: bool = _RULE_DEFAULTS.clone_blocks
    reserved_tac_prefixes: tuple[str, ...] = _RULE_DEFAULTS.reserved_tac_prefixes

    bad_row_threshold: float = 0.05
    """Share of malformed rows above which an uploaded file is refused whole."""

    clone_imsi_threshold: int = 3
    """An IMEI used with more distinct IMSIs than this within the clone window is suspected."""
    clone_window_days: int = 30
    """The window (days before now) in which IMSIs are counted and operator overlaps looked for."""
    notification_reminder_days: tuple[int, ...] = (10, 20)
    """Days after the first sighting on which a grey IMEI's subscriber gets a reminder SMS."""

    # Web portal (issue 7).
    redis_url: str | None = None
    """Redis for per-client rate limits shared by every server process; None = in-process."""
    check_rate_limit: int = 30
    """Public IMEI checks one client may make per window."""
    check_rate_window_seconds: int = 60
    support_upload_dir: Path = Path("tizim-support-files")
    """Where support screenshots are kept: outside the web root, under random names."""
    support_max_attachment_bytes: int = 2_000_000
    support_max_attachments: int = 3
    support_answer_working_days: int = 5
    """A support request is answered within this many working days (seed 001: 1–5)."""
    days_off: tuple[date, ...] = DEFAULT_DAYS_OFF
    """Public holidays (and moved days off) of the Kazakh working calendar."""
    working_weekends: tuple[date, ...] = DEFAULT_WORKING_WEEKENDS
    """Saturdays and Sundays worked by government decree."""
    secure_cookies: bool | None = None
    """Secure flag on portal cookies; None = set it when the request came over HTTPS."""
    staff_session_hours: int = 8

    # Owner applications (issue 5).
    mrp_by_year: dict[int, int] = {2025: 3932, 2026: 4325}
    """KZT of 1 MRP (monthly calculation index) per year, set by each budget law: the fee."""
    resubmission_free_days: int = 30
    """A refused application re-submitted within this many days pays no second fee."""
    eds_trusted_ca_files: str = ""
    """Trusted EDS CA certificates: PEM files or directories of *.pem, separated by the OS path
    separator (":"). Empty = the shipped TEST CA only (tizim/data/eds-test-ca.pem)."""

    @cached_property
    def working_calendar(self) -> WorkingCalendar:
        return WorkingCalendar(frozenset(self.days_off), frozenset(self.working_weekends))

    @cached_property
    def rules(self) -> Rules:
        return Rules(
            grace_days=self.grace_days,
            grandfather_before=self.grandfather_before,
            enforcement_start=self.enforcement_start,
            timezone=self.timezone,
            clone_blocks=self.clone_blocks,
            reserved_tac_prefixes=self.reserved_tac_prefixes,
        )
