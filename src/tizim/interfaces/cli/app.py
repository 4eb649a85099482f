"""The Typer application and what every command shares: runtime, `--now`, output, exits.

Exit codes (FORMATS.md): 0 done; 1 the input was refused (the report says why); 2 usage error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from tizim.clock import SystemClock, parse_moment
from tizim.config import Settings
from tizim.runtime import Runtime
from tizim.storage.migrate import current_revision, head_revision

app = typer.Typer(
    name="tizim",
    help="tizim — the national IMEI registry: white, grey and black lists.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)

EXIT_REFUSED = 1
EXIT_USAGE = 2


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_moment(value)
    except ValueError as error:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}") from error


NowOption = Annotated[
    str | None,
    typer.Option(
        "--now",
        help="The time to act at (ISO 8601; without offset = Asia/Almaty; default: now).",
        show_default=False,
    ),
]


def resolve_now(value: str | None) -> datetime:
    return _parse_now(value) or SystemClock().now()


def fail(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def open_runtime(*, require_schema: bool = True) -> Runtime:
    """The runtime of the configured database; refuses to work on an unmigrated schema."""
    runtime = Runtime(Settings())
    if require_schema:
        try:
            current = current_revision(runtime.engine)
        except Exception as error:  # connection refused, bad URL...: say it plainly
            fail(f"cannot open the database: {type(error).__name__}: {error}", EXIT_USAGE)
        if current != head_revision():
            fail(
                f"the database is at schema {current or 'none'}, not {head_revision()}:"
                " run `tizim init` first",
                EXIT_USAGE,
            )
    return runtime
