"""The SQLModel tables (ccserver.adapters.db.tables) must mirror the migrated schema exactly, on
SQLite and on PostgreSQL, so code and migrations cannot drift apart."""

from __future__ import annotations

import pytest
from sqlalchemy import Boolean, DateTime, Float, Integer, Numeric, String, Text, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

import ccserver.adapters.db.tables  # noqa: F401  (registers the tables in SQLModel.metadata)

NOT_MODELLED = {"schema_migrations"}  # kept by Database.upgrade itself
# the knowledge base's full-text index: an FTS5 virtual table (and the shadow tables SQLite keeps
# for it) or a tsvector table on PostgreSQL, kept by adapters/db/knowledge.py, not modelled
FULL_TEXT_PREFIXES = ("knowledge_fts",)


def type_family(sql_type) -> str:
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    if isinstance(sql_type, Boolean):
        return "boolean"
    if isinstance(sql_type, Integer):
        return sql_type.__class__.__name__.lower().replace("biginteger", "bigint")
    if isinstance(sql_type, Text):
        return "text"
    if isinstance(sql_type, String):
        return f"varchar({sql_type.length})"
    if isinstance(sql_type, DateTime):
        return "timestamp"
    if isinstance(sql_type, (Float, Numeric)):
        return "float"
    raise AssertionError(f"unexpected column type {sql_type!r}")


def describe_model(table) -> dict:
    return {
        "columns": {c.name: (type_family(c.type), c.nullable) for c in table.columns},
        "primary_key": [c.name for c in table.primary_key.columns],
        "foreign_keys": sorted(
            (tuple(fk.column_keys), fk.referred_table.name, tuple(e.column.name for e in fk.elements), fk.ondelete)
            for fk in table.foreign_key_constraints
        ),
        "unique": sorted(
            {
                tuple(c.name for c in con.columns)
                for con in table.constraints
                if con.__class__.__name__ == "UniqueConstraint"
            }
            | {tuple(c.name for c in ix.columns) for ix in table.indexes if ix.unique}
        ),
        "indexes": sorted((ix.name, tuple(c.name for c in ix.columns)) for ix in table.indexes if not ix.unique),
        "checks": sorted(con.name for con in table.constraints if con.__class__.__name__ == "CheckConstraint"),
    }


def describe_database(inspector, name: str) -> dict:
    indexes = inspector.get_indexes(name)
    primary_key = inspector.get_pk_constraint(name)["constrained_columns"]
    return {
        # SQLite reports "INTEGER PRIMARY KEY" as nullable: a primary key never holds NULL
        "columns": {
            c["name"]: (type_family(c["type"]), c["nullable"] and c["name"] not in primary_key)
            for c in inspector.get_columns(name)
        },
        "primary_key": primary_key,
        "foreign_keys": sorted(
            (
                tuple(fk["constrained_columns"]),
                fk["referred_table"],
                tuple(fk["referred_columns"]),
                (fk.get("options") or {}).get("ondelete"),
            )
            for fk in inspector.get_foreign_keys(name)
        ),
        "unique": sorted(
            {tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)}
            | {tuple(ix["column_names"]) for ix in indexes if ix["unique"] and not ix.get("duplicates_constraint")}
        ),
        "indexes": sorted((ix["name"], tuple(ix["column_names"])) for ix in indexes if not ix["unique"]),
        "checks": sorted(c["name"] for c in inspector.get_check_constraints(name)),
    }


def test_tables_mirror_the_migrated_schema(database):
    with database.engine.connect() as conn:
        inspector = inspect(conn)
        tables = {t for t in inspector.get_table_names() if not t.startswith(FULL_TEXT_PREFIXES)}
        assert tables - NOT_MODELLED == set(SQLModel.metadata.tables)
        for name, table in SQLModel.metadata.tables.items():
            assert describe_database(inspector, name) == describe_model(table), name


def test_role_check_constraint_is_enforced(database):
    with pytest.raises(IntegrityError):
        with database.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (username, display_name, password_hash, role, active, "
                    "created_at) VALUES ('bob', '', 'x', 'boss', TRUE, CURRENT_TIMESTAMP)"
                )
            )


def test_session_of_unknown_user_is_refused(database):
    with pytest.raises(IntegrityError):
        with database.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO web_sessions (token_hash, user_id, csrf_token, created_at, "
                    "expires_at, last_seen_at) VALUES ('h', 999, 'c', CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
