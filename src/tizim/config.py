"""All configuration in one place: TIZIM_* environment variables (pydantic-settings)."""

from __future__ import annotations

from datetime import date
from functools import cached_property

from pydantic_settings import BaseSettings, SettingsConfigDict

from tizim.domain.rules import Rules

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
