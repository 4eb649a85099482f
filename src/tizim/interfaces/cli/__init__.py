"""The `tizim` command. Each command group lives in its own module and registers itself here."""

from __future__ import annotations

from tizim.interfaces.cli import core, serve  # noqa: F401  (modules register their commands)
from tizim.interfaces.cli import staff  # noqa: F401
from tizim.interfaces.cli import operator  # noqa: F401
from tizim.interfaces.cli import feeds, orgs  # noqa: F401
from tizim.interfaces.cli import applications  # noqa: F401
from tizim.interfaces.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
