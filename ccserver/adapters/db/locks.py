"""Named locks shared by every process on one database, held for as long as a slow operation
takes (a dialplan apply: check, write, reload, verify, probe, roll back — up to about a minute).

The audit chain's locks are transaction-scoped (``pg_advisory_xact_lock``, SQLite's
``BEGIN IMMEDIATE``) and last a few milliseconds; a transaction held open that long would stop
every other writer on SQLite. So these are:

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection of its
  own, kept until `release` (the server closes that connection if the process dies: the lock
  goes with it);
- SQLite: ``flock`` on a file next to the database file (released by the kernel if the process
  dies); an in-memory database is private to its process: a lock of that process only.

`try_acquire` never blocks: the caller polls it (from a worker thread) and decides how long to
wait. Blocking calls: run them in a worker thread."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection

from .database import Database

_PG_NAMESPACE = 0x63637376  # "ccsv": the first key of the two-key advisory locks of this module
# advisory locks are per database, not per schema: the second key names the schema too, so two
# deployments (or test runs) in schemas of one database never wait on each other
_PG_KEY = "hashtext(current_schema() || ':' || :name)"
_PG_TRY = text(f"SELECT pg_try_advisory_lock(:ns, {_PG_KEY})")
_PG_UNLOCK = text(f"SELECT pg_advisory_unlock(:ns, {_PG_KEY})")


class DatabaseLock:
    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name
        self._conn: Connection | None = None
        self._fd: int | None = None
        self._local = threading.Lock()
        self._held_locally = False
        memory = db.dialect == "sqlite" and db.url.database in (None, "", ":memory:")
        self.path: Path | None = None
        if db.dialect == "sqlite" and not memory:
            database = Path(db.url.database).expanduser()
            self.path = database.with_name(f"{database.name}.{name}.lock")

    @property
    def held(self) -> bool:
        return self._held_locally

    def try_acquire(self) -> bool:
        """Take the lock if no process holds it (this one included); False at once otherwise."""
        if not self._local.acquire(blocking=False):
            return False
        try:
            got = self._take()
        except BaseException:
            self._local.release()
            raise
        if not got:
            self._local.release()
            return False
        self._held_locally = True
        return True

    def release(self) -> None:
        if not self._held_locally:
            return
        try:
            self._give_back()
        finally:
            self._held_locally = False
            self._local.release()

    # --- per dialect --------------------------------------------------------------------------
    def _take(self) -> bool:
        if self.db.dialect == "postgresql":
            conn = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                got = conn.execute(_PG_TRY, {"ns": _PG_NAMESPACE, "name": self.name}).scalar()
            except BaseException:
                conn.close()
                raise
            if not got:
                conn.close()
                return False
            self._conn = conn
            return True
        if self.path is None:  # in-memory SQLite: this process only
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def _give_back(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.execute(_PG_UNLOCK, {"ns": _PG_NAMESPACE, "name": self.name})
            except BaseException:
                conn.invalidate()  # never pooled with the lock still held: it ends with the connection
                raise
            finally:
                conn.close()
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
