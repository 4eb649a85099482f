"""The one way routes get a database connection, the time and the rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from tizim.clock import Clock
from tizim.domain.rules import Rules
from tizim.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_conn(request: Request) -> Iterator[Connection]:
    """A connection in a transaction, committed when the route returns without error."""
    with get_runtime(request).engine.begin() as conn:
        yield conn


def get_now(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock.now()


def get_rules(request: Request) -> Rules:
    return get_runtime(request).rules


# scope="function": commit BEFORE the response is sent (FastAPI's default for yield
# dependencies ends them after sending), so a client that reads right after a write sees it.
DbConn = Annotated[Connection, Depends(get_conn, scope="function")]
Now = Annotated[datetime, Depends(get_now)]
CurrentRules = Annotated[Rules, Depends(get_rules)]
