"""Pytest fixtures that run a test on both databases: SQLite (a temporary file) and PostgreSQL (a
fresh schema per test, dropped afterwards). Use them from any conftest.py::

    from tests.support.db import database, db_url, empty_database  # noqa: F401

PostgreSQL is found at ``$CCSERVER_TEST_POSTGRES_URL``, else 127.0.0.1:5432 database ``test`` as
user ``postgres`` or ``root`` (trust auth), else a private PostgreSQL is started on a free port
with this machine's server binaries (tests/support/postgres.py). If none of that works the
PostgreSQL variant FAILS (it never skips); deselect it locally with ``-m 'not postgres'``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from ccserver.adapters.db.database import Database
from tests.support.postgres import PostgresUnavailable, private_postgres_url

DEFAULT_POSTGRES_URLS = (
    "postgresql+psycopg2://postgres@127.0.0.1:5432/test",
    "postgresql+psycopg2://root@127.0.0.1:5432/test",
)


_found: URL | None = None  # the server found (or started) by this process


def _admin_url() -> URL:
    global _found
    if _found is not None:
        return _found
    explicit = os.environ.get("CCSERVER_TEST_POSTGRES_URL")
    private_only = os.environ.get("CCSERVER_TEST_POSTGRES") == "private"
    candidates = [explicit] if explicit else ([] if private_only else list(DEFAULT_POSTGRES_URLS))
    errors = []
    for candidate in candidates:
        engine = create_engine(candidate, connect_args={"connect_timeout": 3}, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            _found = make_url(candidate)
            return _found
        except OperationalError as exc:
            shown = make_url(candidate).render_as_string(hide_password=True)
            errors.append(f"{shown}: {str(exc.orig).strip().splitlines()[0]}")
        finally:
            engine.dispose()
    if not explicit:  # none answers: a private one, as for Asterisk (tests/support/postgres.py)
        try:
            _found = make_url(private_postgres_url())
            return _found
        except PostgresUnavailable as exc:
            errors.append(f"private PostgreSQL: {exc}")
    pytest.fail(
        "PostgreSQL is unreachable, and the data tests run on SQLite AND PostgreSQL:\n  "
        + "\n  ".join(errors)
        + "\nStart PostgreSQL (trust auth, database 'test'), set CCSERVER_TEST_POSTGRES_URL, "
        "install PostgreSQL's server (apt-get install postgresql: a private one is then started), "
        "or deselect these tests with -m 'not postgres'.",
        pytrace=False,
    )


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL schema (search_path set to it); dropped on exit."""
    admin = _admin_url()
    schema = f"t_{secrets.token_hex(6)}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        url = admin.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """A URL to an empty database; the test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ccserver.db'}"
    else:
        with postgres_schema_url() as url:
            yield url


@pytest.fixture
def empty_database(db_url) -> Iterator[Database]:
    """A `Database` on an empty database (no migration applied)."""
    db = Database(db_url)
    yield db
    db.dispose()


@pytest.fixture
def database(empty_database) -> Database:
    """A `Database` with every migration applied."""
    empty_database.upgrade()
    return empty_database
