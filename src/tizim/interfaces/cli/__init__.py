"""The `tizim` command. Each command group lives in its own module and registers itself here."""

from __future__ import annotations

# Each module registers its commands on `app` when imported.
from tizim.interfaces.cli import (  # noqa: F401
    applications,
    conflicts,
    core,
    feeds,
    operator,
    orgs,
    serve,
    staff,
)
from tizim.interfaces.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
