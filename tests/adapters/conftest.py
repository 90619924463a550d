"""Fixtures for adapter tests. The database fixtures run each test on SQLite and PostgreSQL."""

from tests.support.db import database, db_url, empty_database  # noqa: F401
