"""All configuration in one place: TIZIM_* environment variables (pydantic-settings)."""

from __future__ import annotations

from datetime import date
from functools import cached_property

from pydantic_settings import BaseSettings, SettingsConfigDict

from tizim.domain.imei import DEFAULT_RESERVED_TAC_PREFIXES
from tizim.domain.rules import Rules


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIZIM_", frozen=True)

    database_url: str = "sqlite:///tizim.db"
    """SQLAlchemy URL. `postgresql://` URLs use psycopg 3."""

    grace_days: int = 30
    grandfather_before: date = date(2025, 5, 25)
    enforcement_start: date = date(2025, 8, 18)
    timezone: str = "Asia/Almaty"
    clone_blocks: bool = False
    reserved_tac_prefixes: tuple[str, ...] = DEFAULT_RESERVED_TAC_PREFIXES

    bad_row_threshold: float = 0.05
    """Share of malformed rows above which an uploaded file is refused whole."""

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
