"""A private PostgreSQL for the tests, as there is a private Asterisk: when no PostgreSQL answers
(tests/support/db.py tries $CCSERVER_TEST_POSTGRES_URL, then 127.0.0.1:5432), one is made with
the server binaries of this machine (Debian's `postgresql` package, which `./ccs test` installs
when they are missing) in a temporary directory, on a free port of 127.0.0.1, trust auth, with a
database `test`; it runs as long as the test process and is deleted with its directory after.

As root it runs as the `postgres` user (PostgreSQL refuses to run as root), via `runuser`.
`CCSERVER_TEST_POSTGRES=private` uses it even when 127.0.0.1:5432 answers (to test this file).
"""

from __future__ import annotations

import atexit
import glob
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)


class PostgresUnavailable(Exception):
    """No PostgreSQL server binaries here, or the private server did not start (the message says)."""


def find_bin_dir() -> Path | None:
    """The directory of initdb and pg_ctl: Debian's newest /usr/lib/postgresql/N/bin, else PATH."""

    def version(path: str) -> int:
        name = Path(path).parent.name
        return int(name) if name.isdigit() else 0

    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl and (Path(pg_ctl).parent / "initdb").exists():
        return Path(pg_ctl).parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostgres:
    """One throw-away PostgreSQL server: `start()` returns the URL of its database `test`."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ccserver-test-pg-"))
        self.data = self.dir / "data"
        self.user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable(
                    "PostgreSQL does not run as root and there is no 'postgres' user "
                    "(apt-get install postgresql creates it)"
                ) from None
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self.started = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/test"

    def _run(self, *argv: str, timeout: float = 120) -> None:
        command = [str(self.bin_dir / argv[0]), *argv[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user.pw_name, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.dir)
        if result.returncode != 0:
            log = self.dir / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{' '.join(argv[:1])} failed: {(result.stderr or result.stdout).strip()}\n{tail}"
            )

    def start(self) -> str:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "-N")
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "-t", "60", "-o", options, "start"
        )
        self.started = True
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "test")
        logger.info("private PostgreSQL for the tests on 127.0.0.1:%s (%s)", self.port, self.dir)
        return self.url

    def stop(self) -> None:
        try:
            if self.started:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=30)
                self.started = False
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


_private: PrivatePostgres | None = None


def private_postgres_url() -> str:
    """The URL of this process's private PostgreSQL, started on first call; PostgresUnavailable
    when this machine has no PostgreSQL server binaries or it does not start."""
    global _private
    if _private is None:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise PostgresUnavailable(
                "no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql (./ccs test does)"
            )
        server = PrivatePostgres(bin_dir)
        try:
            server.start()
        except BaseException:
            server.stop()
            raise
        atexit.register(server.stop)
        _private = server
    return _private.url
