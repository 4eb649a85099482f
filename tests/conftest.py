"""Shared fixtures. `registry` runs each test against SQLite and against a real PostgreSQL.

PostgreSQL: a throw-away database is created for the session on the server named by
TIZIM_TEST_POSTGRES_URL (default: the local server, database `test`), migrated with Alembic,
emptied after every test and dropped at the end. Under CI=true an unreachable PostgreSQL stops
the run with a failure; elsewhere its half of the tests is skipped, with the reason shown.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tizim.config import Settings
from tizim.runtime import Runtime
from tizim.storage.db import normalise_url
from tizim.storage.migrate import upgrade_schema
from tizim.storage.schema import metadata

POSTGRES_ADMIN_URL = os.environ.get(
    "TIZIM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")


def _create_postgres_database() -> tuple[str, str]:
    admin_url = normalise_url(POSTGRES_ADMIN_URL)
    name = f"tizim_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return name, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(name: str) -> None:
    admin = create_engine(normalise_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One migrated database per backend for the whole session (backend → URL)."""
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'tizim.db'}"}
    created: str | None = None
    try:
        created, urls["postgresql"] = _create_postgres_database()
    except Exception as error:
        message = f"PostgreSQL at {POSTGRES_ADMIN_URL} cannot be reached: {error}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.exit(message, returncode=3)
        urls["postgresql-unavailable"] = message
    for backend in BACKENDS:
        if backend in urls:
            runtime = Runtime(Settings(database_url=urls[backend]))
            upgrade_schema(runtime.engine)
            runtime.close()
    yield urls
    if created:
        _drop_postgres_database(created)


@pytest.fixture(scope="session")
def _runtimes(database_urls: dict[str, str]) -> Iterator[dict[str, Runtime]]:
    runtimes = {
        backend: Runtime(Settings(database_url=url))
        for backend, url in database_urls.items()
        if backend in BACKENDS
    }
    yield runtimes
    for runtime in runtimes.values():
        runtime.close()


def empty_all_tables(runtime: Runtime) -> None:
    tables = [table.name for table in metadata.sorted_tables]
    with runtime.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # A test that leaks an open transaction must fail here, not hang the run.
            conn.execute(text("SET LOCAL lock_timeout = '15s'"))
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture(params=BACKENDS)
def registry(
    request: pytest.FixtureRequest, _runtimes: dict[str, Runtime], database_urls: dict[str, str]
) -> Iterator[Runtime]:
    """An empty, migrated registry on SQLite or PostgreSQL, with the default rules."""
    backend = request.param
    if backend not in _runtimes:
        pytest.skip(database_urls.get(f"{backend}-unavailable", f"{backend} unavailable"))
    runtime = _runtimes[backend]
    yield runtime
    empty_all_tables(runtime)


@pytest.fixture
def registry_url(registry: Runtime) -> str:
    """The URL of the `registry` database, for subprocesses (CLI tests)."""
    return registry.settings.database_url


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path
