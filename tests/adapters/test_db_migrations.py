"""Schema migrations, on SQLite and PostgreSQL (fixtures in tests.support.db)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from ccserver.adapters.db import AuditLog, CallRepository, Database, DatabaseUnavailable, MigrationError, UserRepository
from ccserver.adapters.db.database import default_sql_dir, load_migrations
from ccserver.core.errors import ConfigurationError
from ccserver.core.passwords import hash_password

REAL_MIGRATIONS = default_sql_dir() / "migrations"
# versions may have gaps (parallel branches each take a number): compare with the real list
VERSIONS = [m.version for m in load_migrations(REAL_MIGRATIONS, "sqlite")]
LATEST = max(VERSIONS)


@pytest.fixture
def migrations_dir(tmp_path) -> Path:
    """A copy of the real migrations that a test may add to or change."""
    directory = tmp_path / "migrations"
    shutil.copytree(REAL_MIGRATIONS, directory)
    return directory


def tables(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_upgrade_from_empty_creates_every_table(empty_database):
    assert empty_database.current_version() == 0
    applied = empty_database.upgrade()
    assert [m.version for m in applied] == VERSIONS
    assert empty_database.current_version() == LATEST
    assert {"users", "web_sessions", "audit_log", "calls", "schema_migrations"} <= tables(empty_database)
    recorded = empty_database.applied_migrations()
    assert [(m.version, m.name) for m in recorded] == [(m.version, m.name) for m in applied]
    assert all(r.checksum == m.checksum and r.applied_at.tzinfo for r, m in zip(recorded, applied))


def test_upgrade_twice_is_a_no_op(database):
    before = database.applied_migrations()
    assert database.upgrade() == []
    assert database.applied_migrations() == before
    assert database.pending_migrations() == []


def test_upgrade_existing_database_in_place_keeps_rows(db_url, migrations_dir):
    db = Database(db_url, migrations_dir=migrations_dir)
    try:
        assert [m.version for m in db.upgrade(target=1)] == [1]
        assert "calls" not in tables(db)
        users = UserRepository(db)
        # written as the version-1 schema has it (the User class has later columns)
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (username, display_name, password_hash, role, active, created_at)"
                    " VALUES ('alice', 'Alice', :hash, 'admin', TRUE, CURRENT_TIMESTAMP)"
                ),
                {"hash": hash_password("correct horse")},
            )
        with db.write_session() as session:  # an entry written before the chain existed (0013)
            session.exec(
                text(
                    "INSERT INTO audit_log (at, actor, action, target, details) "
                    "VALUES ('2026-01-02 03:04:05.000006', 'alice', 'user.create', 'alice', '{}')"
                )
            )

        assert [m.version for m in db.upgrade()] == VERSIONS[1:]
        CallRepository(db).upsert("1700000000.1", queue="sales")

        # a later migration extends a table that already has rows (as the inbound capability will)
        (migrations_dir / f"{LATEST + 1:04d}_extend_calls.sql").write_text(
            "-- portable: one file for both databases\n"
            "ALTER TABLE calls ADD COLUMN test_extra_seconds INTEGER;\n"
            "CREATE INDEX ix_calls_test_extra_seconds ON calls (test_extra_seconds);\n"
        )
        assert [m.version for m in db.upgrade()] == [LATEST + 1]
        assert db.current_version() == LATEST + 1

        assert users.authenticate("alice", "correct horse").display_name == "Alice"
        assert [e.action for e in AuditLog(db).list()] == ["user.create"]
        # the entry from before the chain is sealed into it, then verified with the new ones
        assert AuditLog(db).seal() == 1
        AuditLog(db).record("alice", "user.edit", "alice")
        assert AuditLog(db).verify().ok
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT queue, test_extra_seconds FROM calls")).all() == [("sales", None)]
    finally:
        db.dispose()


def test_changed_applied_migration_is_refused(db_url, migrations_dir):
    db = Database(db_url, migrations_dir=migrations_dir)
    try:
        db.upgrade()
        applied_file = db.migrations()[0].path
        applied_file.write_text(applied_file.read_text() + "\n-- an innocent-looking edit\n")
        with pytest.raises(ConfigurationError, match="was changed after it was applied") as caught:
            db.upgrade()
        assert caught.value.details["version"] == 1
        assert caught.value.details["file"] == str(applied_file)
    finally:
        db.dispose()


def test_crlf_checkout_of_applied_migration_is_accepted(db_url, migrations_dir):
    db = Database(db_url, migrations_dir=migrations_dir)
    try:
        db.upgrade()
        path = db.migrations()[0].path
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
        assert db.upgrade() == []
    finally:
        db.dispose()


def test_failing_migration_rolls_back_and_keeps_version(db_url, migrations_dir):
    broken = migrations_dir / f"{LATEST + 1:04d}_broken.sql"
    broken.write_text(
        "CREATE TABLE half_written (id INTEGER PRIMARY KEY);\n"
        "INSERT INTO half_written (id) VALUES (1);\n"
        "ALTER TABLE users ADD COLUMN nickname VARCHAR(20);\n"
        "INSERT INTO no_such_table (id) VALUES (1);\n"
    )
    db = Database(db_url, migrations_dir=migrations_dir)
    try:
        with pytest.raises(MigrationError, match="failed at statement 4") as caught:
            db.upgrade()
        assert caught.value.details["statement"].startswith("INSERT INTO no_such_table")
        # the earlier migrations are applied, nothing of the broken one is
        assert db.current_version() == LATEST
        assert "half_written" not in tables(db)
        with db.engine.connect() as conn:
            assert "nickname" not in {c["name"] for c in inspect(conn).get_columns("users")}

        # an unapplied migration may be fixed; the next upgrade applies it
        broken.write_text("CREATE TABLE half_written (id INTEGER PRIMARY KEY);\n")
        assert [m.version for m in db.upgrade()] == [LATEST + 1]
        assert "half_written" in tables(db)
    finally:
        db.dispose()


def test_database_newer_than_code_is_refused(db_url, migrations_dir):
    Database(db_url, migrations_dir=migrations_dir).upgrade()
    for path in migrations_dir.glob(f"{LATEST:04d}_*"):
        path.unlink()
    db = Database(db_url, migrations_dir=migrations_dir)
    try:
        with pytest.raises(ConfigurationError, match="newer than the code"):
            db.upgrade()
    finally:
        db.dispose()


def test_concurrent_upgrades_apply_each_migration_once(db_url):
    dbs = [Database(db_url) for _ in range(3)]
    results, errors = [], []

    def run(db: Database) -> None:
        try:
            results.append([m.version for m in db.upgrade()])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(db,)) for db in dbs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        assert errors == []
        assert sorted(v for versions in results for v in versions) == VERSIONS
        assert dbs[0].current_version() == LATEST
    finally:
        for db in dbs:
            db.dispose()


# --- migration files ---------------------------------------------------------------------------


def test_dialect_file_wins_over_portable_file(tmp_path):
    (tmp_path / "0001_base.sql").write_text("CREATE TABLE a (id INTEGER);\n")
    (tmp_path / "0001_base.postgresql.sql").write_text("CREATE TABLE a (id BIGINT);\n")
    (tmp_path / "0002_more.sql").write_text("CREATE TABLE b (id INTEGER);\n")
    (tmp_path / "README.md").write_text("not a migration")
    assert [m.path.name for m in load_migrations(tmp_path, "postgresql")] == [
        "0001_base.postgresql.sql",
        "0002_more.sql",
    ]
    assert [m.path.name for m in load_migrations(tmp_path, "sqlite")] == ["0001_base.sql", "0002_more.sql"]


def test_migration_missing_for_a_dialect_is_refused(tmp_path):
    (tmp_path / "0001_base.postgresql.sql").write_text("SELECT 1;\n")
    with pytest.raises(ConfigurationError, match="no file for sqlite"):
        load_migrations(tmp_path, "sqlite")


@pytest.mark.parametrize(
    "names, message",
    [
        (["1_base.sql"], "badly named"),
        (["0001_Base.sql"], "badly named"),
        (["0001_base.mysql.sql"], "badly named"),
        (["0001_base.sql", "0001_other.sql"], "two migrations numbered 0001"),
    ],
)
def test_badly_named_migrations_are_refused(tmp_path, names, message):
    for name in names:
        (tmp_path / name).write_text("SELECT 1;\n")
    with pytest.raises(ConfigurationError, match=message):
        load_migrations(tmp_path, "sqlite")


def test_statements_split_on_semicolon_at_line_end(tmp_path):
    path = tmp_path / "0001_x.sql"
    path.write_text(
        "-- a comment; with a semicolon;\n"
        "CREATE TABLE a (\n    note VARCHAR(10) DEFAULT 'x;y'\n);  \n"
        "\n"
        "INSERT INTO a (note) VALUES ('50%');\n"
        "-- trailing comment\n"
    )
    [migration] = load_migrations(tmp_path, "sqlite")
    assert migration.statements() == [
        "CREATE TABLE a (\n    note VARCHAR(10) DEFAULT 'x;y'\n)",
        "INSERT INTO a (note) VALUES ('50%')",
    ]


def test_percent_sign_in_migration_runs_on_both(db_url, tmp_path):
    (tmp_path / "0001_x.sql").write_text("CREATE TABLE a (note VARCHAR(10));\nINSERT INTO a (note) VALUES ('50%');\n")
    db = Database(db_url, migrations_dir=tmp_path)
    try:
        db.upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT note FROM a")).scalar_one() == "50%"
    finally:
        db.dispose()


def test_missing_migrations_directory_is_a_configuration_error(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}", migrations_dir=tmp_path / "nowhere")
    with pytest.raises(ConfigurationError, match="CCSERVER_SQL_DIR"):
        db.upgrade()


DIALECT_SPECIFIC = "\n-- dialect-specific:"


def test_pair_files_differ_only_in_id_columns():
    """The .sqlite.sql / .postgresql.sql pairs must say the same thing (the schema test checks
    the result; this points at the line when they drift)."""
    for sqlite_file in REAL_MIGRATIONS.glob("*.sqlite.sql"):
        pg_file = sqlite_file.with_name(sqlite_file.name.replace(".sqlite.sql", ".postgresql.sql"))
        # a pair may end with a block that cannot be portable (a full-text index: an FTS5 table on
        # SQLite, a tsvector and its GIN index on PostgreSQL), after the line DIALECT_SPECIFIC
        code = lambda p: [
            line for line in p.read_text().split(DIALECT_SPECIFIC, 1)[0].splitlines() if not line.startswith("--")
        ]
        for left, right in zip(code(sqlite_file), code(pg_file), strict=True):
            if left != right:
                assert (left.strip(), right.strip()) == (
                    "id INTEGER PRIMARY KEY AUTOINCREMENT,",
                    "id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,",
                ), sqlite_file.name


# --- URLs and health -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["mysql://root@localhost/x", "not a url"])
def test_unsupported_url_is_a_configuration_error(url):
    with pytest.raises(ConfigurationError):
        Database(url)


def test_sqlite_file_gets_wal_and_foreign_keys(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'sub' / 'dir' / 'cc.db'}")
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert (tmp_path / "sub" / "dir" / "cc.db").exists()
    finally:
        db.dispose()


def test_ping_is_true_when_database_answers(database):
    assert database.ping() is True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ping_on_closed_port_is_false_quickly_and_logged_once(caplog):
    db = Database(f"postgresql+psycopg2://postgres@127.0.0.1:{_free_port()}/test")
    try:
        started = time.monotonic()
        assert db.ping() is False
        assert db.ping() is False
        assert time.monotonic() - started < 3
        assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 1
    finally:
        db.dispose()


def test_upgrade_when_database_is_down_is_a_clear_error():
    db = Database(f"postgresql+psycopg2://postgres@127.0.0.1:{_free_port()}/test")
    try:
        with pytest.raises(DatabaseUnavailable, match="Connection refused|connection refused"):
            db.upgrade()
        with pytest.raises(DatabaseUnavailable):
            db.current_version()
    finally:
        db.dispose()


def test_ping_on_silent_server_gives_up_after_connect_timeout():
    """A server that accepts the TCP connection and never answers (hung, SIGSTOPped)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        port = listener.getsockname()[1]
        db = Database(f"postgresql+psycopg2://postgres@127.0.0.1:{port}/test")
        try:
            started = time.monotonic()
            assert db.ping() is False
            assert time.monotonic() - started < 3.5
        finally:
            db.dispose()


def test_session_rolls_back_on_error(database):
    from ccserver.adapters.db import AuditEntry
    from ccserver.core.clock import SystemClock

    with pytest.raises(RuntimeError):
        with database.session() as session:
            session.add(AuditEntry(at=SystemClock().now(), actor="a", action="x"))
            session.flush()
            raise RuntimeError("boom")
    assert AuditLog(database).list() == []
