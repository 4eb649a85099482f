"""What every interface needs to run a use case: settings, the database engine, the rules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine

from tizim.config import Settings
from tizim.domain.rules import Rules
from tizim.storage.db import make_engine


@dataclass
class Runtime:
    settings: Settings
    engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        self.engine = make_engine(self.settings.database_url, self.settings.rules)

    @property
    def rules(self) -> Rules:
        return self.settings.rules

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()
