"""The database: one `Database` per process, built from a SQLAlchemy URL.

SQLite (a file, the embedded default) and PostgreSQL (production) are supported. The schema is
owned by the SQL migrations in ``sql/migrations`` (see ``sql/README.md``); `upgrade` applies the
pending ones in order, each in its own transaction, and records them in ``schema_migrations``.

Everything here is synchronous SQLAlchemy; the async web layer calls it through
``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, create_engine, event, inspect, make_url, text
from sqlalchemy.engine import URL, Connection, Engine, Row
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.expression import Executable
from sqlmodel import Session

from ...core.errors import CcError, ConfigurationError

logger = logging.getLogger(__name__)

SUPPORTED_DIALECTS = ("sqlite", "postgresql")
# seconds to wait for a PostgreSQL connection (libpq connect_timeout) and for a SQLite lock
CONNECT_TIMEOUT = 2
SQLITE_BUSY_TIMEOUT = 5.0
# any constant: the key of the PostgreSQL advisory lock that serialises concurrent upgrades
_PG_MIGRATION_LOCK = 7_366_246_001

_MIGRATION_FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+?)(?:\.(?P<dialect>sqlite|postgresql))?\.sql$")
_STATEMENT_END = re.compile(r";[ \t]*$", re.MULTILINE)

_INSERT_MIGRATION = text(
    "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
    "VALUES (:version, :name, :checksum, :applied_at)"
)
_SELECT_MIGRATIONS = text("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version").columns(
    applied_at=DateTime
)
_CREATE_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    checksum VARCHAR(64) NOT NULL,
    applied_at TIMESTAMP NOT NULL
)"""


class MigrationError(ConfigurationError):
    """A migration cannot be applied; nothing of it was written."""

    error_id = "migration-failed"


class DatabaseUnavailable(CcError):
    """The database cannot be reached or read right now."""

    error_id = "database-unavailable"
    status = 503


def _private_sqlite_file(path: Path) -> None:
    """The SQLite file (customers, calls, password hashes) readable by its owner only: created
    0600 before SQLite opens it (SQLite gives its -wal and -shm files the database file's mode),
    and an older world-readable one (with its -wal/-shm) is narrowed to 0600."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if candidate.stat().st_mode & 0o077:
                os.chmod(candidate, 0o600)
        except FileNotFoundError:
            pass


def _add_postgresql_functions(dbapi_connection) -> None:
    """PostgreSQL's md5(text), sha256(bytea), convert_to(text, enc) and encode(bytea, 'hex') on
    a SQLite connection, so that migrations hashing data (0011_sip_digests) stay portable."""

    def md5(value):
        return None if value is None else hashlib.md5(str(value).encode("utf-8")).hexdigest()

    def sha256(value):
        return (
            None
            if value is None
            else hashlib.sha256(value if isinstance(value, bytes) else str(value).encode("utf-8")).digest()
        )

    def convert_to(value, encoding):
        return None if value is None else str(value).encode(str(encoding).replace("UTF8", "utf-8"))

    def encode(value, form):
        if value is None:
            return None
        if str(form).lower() != "hex":
            raise ValueError(f"encode(): only 'hex' is provided on SQLite, not {form!r}")
        return bytes(value).hex()

    for name, nargs, function in (
        ("md5", 1, md5),
        ("sha256", 1, sha256),
        ("convert_to", 2, convert_to),
        ("encode", 2, encode),
    ):
        dbapi_connection.create_function(name, nargs, function, deterministic=True)


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def default_sql_dir() -> Path:
    """``$CCSERVER_SQL_DIR`` if set, else the ``sql/`` directory of the source tree next to the
    ``ccserver`` package (a checkout, an editable install, the docker image)."""
    if os.environ.get("CCSERVER_SQL_DIR"):
        return Path(os.environ["CCSERVER_SQL_DIR"])
    return Path(__file__).resolve().parents[3] / "sql"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    checksum: str  # SHA-256 of the file, line endings normalised

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"

    def statements(self) -> list[str]:
        """The file's statements: ``--`` comment lines dropped, split on ``;`` at a line end."""
        text = "\n".join(line for line in _read(self.path).splitlines() if not line.lstrip().startswith("--"))
        return [s.strip() for s in _STATEMENT_END.split(text) if s.strip()]


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str
    applied_at: datetime


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").replace("\r\n", "\n")


def load_migrations(migrations_dir: Path, dialect: str) -> list[Migration]:
    """The migrations for `dialect`, in version order. For each version the file
    ``NNNN_name.<dialect>.sql`` wins over the portable ``NNNN_name.sql``."""
    if not migrations_dir.is_dir():
        raise ConfigurationError(
            f"migrations directory {migrations_dir} does not exist (set CCSERVER_SQL_DIR to the sql/ directory)",
            file=str(migrations_dir),
        )
    found: dict[int, dict[str | None, Path]] = {}
    names: dict[int, str] = {}
    for path in sorted(migrations_dir.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _MIGRATION_FILE.match(path.name)
        if not match:
            raise ConfigurationError(
                f"badly named migration {path.name}: expected NNNN_name.sql, "
                "NNNN_name.sqlite.sql or NNNN_name.postgresql.sql",
                file=str(path),
            )
        version = int(match["version"])
        if names.setdefault(version, match["name"]) != match["name"]:
            raise ConfigurationError(
                f"two migrations numbered {version:04d}: {names[version]} and {match['name']}", file=str(path)
            )
        found.setdefault(version, {})[match["dialect"]] = path
    migrations = []
    for version in sorted(found):
        variants = found[version]
        path = variants.get(dialect) or variants.get(None)
        if path is None:
            raise ConfigurationError(
                f"migration {version:04d}_{names[version]} has no file for {dialect} "
                f"(add {version:04d}_{names[version]}.sql or .{dialect}.sql)",
                file=str(migrations_dir),
            )
        checksum = hashlib.sha256(_read(path).encode("utf-8")).hexdigest()
        migrations.append(Migration(version, names[version], path, checksum))
    return migrations


def _normalise_url(url: str | URL) -> URL:
    if isinstance(url, str) and url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"invalid database URL: {exc}", field="database_url") from None
    if parsed.get_backend_name() not in SUPPORTED_DIALECTS:
        raise ConfigurationError(
            f"unsupported database {parsed.get_backend_name()!r}: use a sqlite:/// or postgresql:// URL",
            field="database_url",
        )
    return parsed


class Database:
    """A connection pool plus the schema migrations. Create one per process, `dispose` it at exit."""

    def __init__(self, url: str | URL, *, migrations_dir: Path | None = None, echo: bool = False) -> None:
        self.url = _normalise_url(url)
        self.dialect = self.url.get_backend_name()
        self.migrations_dir = migrations_dir or default_sql_dir() / "migrations"
        self._healthy: bool | None = None
        self.engine: Engine = self._create_engine(echo)
        # PostgreSQL: quick reads (`read_rows`) on their own pool: autocommit, no ping on checkout
        self._read_engine: Engine = (
            create_engine(
                self.url,
                echo=echo,
                isolation_level="AUTOCOMMIT",
                pool_timeout=10,
                connect_args={} if "connect_timeout" in self.url.query else {"connect_timeout": CONNECT_TIMEOUT},
            )
            if self.dialect == "postgresql"
            else self.engine
        )
        self._session_engine = (
            self.engine.execution_options(ccserver_immediate=True) if self.dialect == "sqlite" else self.engine
        )

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    # --- engine ---------------------------------------------------------------------------

    def _create_engine(self, echo: bool) -> Engine:
        if self.dialect == "postgresql":
            connect_args = {}
            if "connect_timeout" not in self.url.query:
                connect_args["connect_timeout"] = CONNECT_TIMEOUT
            return create_engine(self.url, echo=echo, pool_pre_ping=True, pool_timeout=10, connect_args=connect_args)
        memory = self.url.database in (None, "", ":memory:")
        if not memory:
            directory = Path(self.url.database).expanduser().parent
            try:
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                _private_sqlite_file(Path(self.url.database).expanduser())
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot create the database file in {directory}: {exc.strerror}", field="database_url"
                ) from None
        engine = create_engine(
            self.url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT},
            **({"poolclass": StaticPool} if memory else {}),
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record) -> None:
            # let SQLAlchemy, not the sqlite3 module, open transactions: the module would not
            # open one before DDL, and migrations must be all-or-nothing
            dbapi_connection.isolation_level = None
            _add_postgresql_functions(dbapi_connection)
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # IMMEDIATE takes the write lock at once: concurrent upgrades queue instead of failing
            immediate = conn.get_execution_options().get("ccserver_immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    def dispose(self) -> None:
        self.engine.dispose()
        if self._read_engine is not self.engine:
            self._read_engine.dispose()

    def read_rows(self, statement: Executable, params: dict[str, object]) -> list[Row]:
        """The rows of one read-only statement, in one round trip: on PostgreSQL the statement
        alone on an autocommit connection (no BEGIN, no ROLLBACK, no ping before it: each is a
        round trip, and a wait for the server's process on a busy machine); a connection found
        dropped (server restarted) is replaced and the statement sent once more. On SQLite a
        plain read transaction (in-process, nothing to save)."""
        for attempt in (1, 2):
            try:
                with self._read_engine.connect() as conn:
                    return list(conn.execute(statement, params))
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back if it raises. Objects stay
        usable after the block (they are not expired on commit).

        On SQLite it starts with BEGIN IMMEDIATE: a transaction that reads then writes would
        otherwise fail with "database is locked" when another writer got there first (SQLite
        cannot wait for a read lock to become a write lock); taking the write lock up front
        makes writers queue (busy timeout) instead. Pure reads that must not wait behind a
        long write (the login check on every request) use `read_session`."""
        with Session(self._session_engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    # the same: kept as the explicit name where a transaction reads then writes
    write_session = session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reads only: on SQLite (WAL) it never waits for a writer. (Closing it
        ends the transaction without expiring what was read.)"""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def compact(self, tables: Iterable[str] = ()) -> None:
        """After a GDPR erasure: make the deleted bytes go from the disk. SQLite keeps deleted
        rows in free pages and old row versions in the WAL: VACUUM rewrites the file, then a
        TRUNCATE checkpoint empties the WAL (retried while a reader holds it). PostgreSQL keeps
        dead tuples until VACUUM: the given tables are vacuumed."""
        raw = self.engine.raw_connection()
        try:
            if self.dialect == "sqlite":
                cursor = raw.cursor()
                cursor.execute("VACUUM")
                for _ in range(50):
                    busy = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                    if not busy or not busy[0]:
                        break
                    time.sleep(0.1)
                else:
                    raise RuntimeError("the WAL could not be emptied (a reader kept it busy)")
                cursor.close()
            elif tables:
                driver = raw.driver_connection
                driver.rollback()
                driver.autocommit = True
                try:
                    cursor = driver.cursor()
                    for table in tables:
                        cursor.execute(f'VACUUM "{table}"')
                    cursor.close()
                finally:
                    driver.autocommit = False
        finally:
            raw.close()

    def ping(self) -> bool:
        """True when the database answers ``SELECT 1``. Never raises; gives up after about
        `CONNECT_TIMEOUT` seconds when the server cannot be reached."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except (SQLAlchemyError, OSError) as exc:
            if self._healthy is not False:
                logger.warning("database %r unreachable: %s", self, _reason(exc))
            self._healthy = False
            return False
        if self._healthy is False:
            logger.info("database %r reachable again", self)
        self._healthy = True
        return True

    # --- migrations -----------------------------------------------------------------------

    def migrations(self) -> list[Migration]:
        """All the migrations known for this database's dialect, in order."""
        return load_migrations(self.migrations_dir, self.dialect)

    def applied_migrations(self) -> list[AppliedMigration]:
        """The migrations recorded in ``schema_migrations``, in order (none on an empty database)."""
        try:
            with self.engine.connect() as conn:
                if not inspect(conn).has_table("schema_migrations"):
                    return []
                rows = conn.execute(_SELECT_MIGRATIONS).all()
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable(f"cannot read the schema version of {self!r}: {_reason(exc)}") from exc
        return [AppliedMigration(v, n, c, at.replace(tzinfo=UTC)) for v, n, c, at in rows]

    def current_version(self) -> int:
        """The version of the last applied migration; 0 for an empty database."""
        applied = self.applied_migrations()
        return applied[-1].version if applied else 0

    def pending_migrations(self) -> list[Migration]:
        """The migrations not applied yet, in order. Raises `ConfigurationError` when an applied
        migration's file was changed or the database is newer than the code."""
        known = self.migrations()
        applied = self.applied_migrations()
        self._check_applied(known, applied)
        done = {m.version for m in applied}
        return [m for m in known if m.version not in done]

    def _check_applied(self, known: list[Migration], applied: list[AppliedMigration]) -> None:
        by_version = {m.version: m for m in known}
        for row in applied:
            migration = by_version.get(row.version)
            if migration is None:
                raise ConfigurationError(
                    f"the database has migration {row.version:04d}_{row.name} applied, which this "
                    f"ccserver does not know: the database is newer than the code "
                    f"(migrations in {self.migrations_dir})",
                    version=row.version,
                )
            if migration.checksum != row.checksum:
                raise ConfigurationError(
                    f"migration {migration.label} was changed after it was applied "
                    f"(file {migration.path}); restore it and put the change in a new migration",
                    version=row.version,
                    file=str(migration.path),
                    applied_checksum=row.checksum,
                    file_checksum=migration.checksum,
                )

    def upgrade(self, target: int | None = None) -> list[Migration]:
        """Apply the pending migrations up to `target` (default: all), each in its own
        transaction. Returns those applied; an up-to-date database is left untouched.

        Raises `ConfigurationError` when an applied migration's file was changed or the database
        is newer than the code, `MigrationError` when a migration fails (that migration is
        rolled back entirely, the earlier ones stay)."""
        self._create_migrations_table()
        pending = [m for m in self.pending_migrations() if target is None or m.version <= target]
        applied = []
        for migration in pending:
            if self._apply(migration):
                applied.append(migration)
        return applied

    @contextmanager
    def _migration_transaction(self) -> Iterator[Connection]:
        """A transaction holding the migration lock: concurrent upgrades run one after another."""
        with self.engine.connect() as conn:
            conn.execution_options(ccserver_immediate=True)  # SQLite: BEGIN IMMEDIATE
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
                yield conn

    def _create_migrations_table(self) -> None:
        # On a brand-new SQLite file, upgrades starting together race while the first one turns
        # the file to WAL: SQLite then says "database is locked" at once, without waiting (its
        # busy handler does not cover that moment). CREATE ... IF NOT EXISTS is idempotent: try
        # again, for up to the busy timeout.
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
        try:
            while True:
                try:
                    with self._migration_transaction() as conn:
                        conn.exec_driver_sql(_CREATE_SCHEMA_MIGRATIONS)
                    return
                except OperationalError as exc:
                    if self.dialect != "sqlite" or "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable(f"cannot create schema_migrations in {self!r}: {_reason(exc)}") from exc

    def _apply(self, migration: Migration) -> bool:
        statements = migration.statements()
        try:
            with self._migration_transaction() as conn:
                # another process may have applied it while we waited for the lock
                if conn.execute(
                    text("SELECT 1 FROM schema_migrations WHERE version = :v"), {"v": migration.version}
                ).first():
                    return False
                for index, statement in enumerate(statements, 1):
                    try:
                        # no_parameters: a '%' in the SQL is not a psycopg2 placeholder
                        conn.exec_driver_sql(statement, execution_options={"no_parameters": True})
                    except SQLAlchemyError as exc:
                        raise MigrationError(
                            f"migration {migration.label} failed at statement {index}: {_reason(exc)}; "
                            "nothing of it was applied",
                            version=migration.version,
                            file=str(migration.path),
                            statement=statement,
                        ) from exc
                conn.execute(
                    _INSERT_MIGRATION,
                    {
                        "version": migration.version,
                        "name": migration.name,
                        "checksum": migration.checksum,
                        "applied_at": datetime.now(UTC).replace(tzinfo=None),
                    },
                )
        except SQLAlchemyError as exc:
            raise MigrationError(
                f"migration {migration.label} could not be applied: {_reason(exc)}",
                version=migration.version,
                file=str(migration.path),
            ) from exc
        logger.info("applied migration %s to %r", migration.label, self)
        return True
