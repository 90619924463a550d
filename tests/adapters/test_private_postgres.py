"""`./ccs test` on a machine without a running PostgreSQL: the tests start a private one (this
machine's server binaries, a free port, trust auth, database `test`) and delete it afterwards."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ccserver.adapters.db.database import Database
from tests.support.postgres import PrivatePostgres, find_bin_dir

pytestmark = pytest.mark.postgres
REPO = Path(__file__).resolve().parents[2]


def test_a_private_postgres_carries_the_schema_and_leaves_nothing_behind():
    bin_dir = find_bin_dir()
    assert bin_dir is not None, "PostgreSQL's server binaries are missing: apt-get install postgresql"
    server = PrivatePostgres(bin_dir)
    try:
        url = server.start()
        assert url.endswith(f"@127.0.0.1:{server.port}/test")
        db = Database(url)
        try:
            db.upgrade()
            assert db.current_version() > 0 and db.ping()
        finally:
            db.dispose()
    finally:
        server.stop()
    assert not server.dir.exists()
    with socket.socket() as s:  # its port is free again
        s.bind(("127.0.0.1", server.port))


def test_the_data_tests_use_it_when_none_answers():
    """A pytest run told to ignore 127.0.0.1:5432 runs a PostgreSQL data test on a private one."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-m",
            "postgres",
            "tests/adapters/test_db_schema.py",
            "-k",
            "postgres",
            "-x",
        ],
        cwd=REPO,
        env={**__import__("os").environ, "CCSERVER_TEST_POSTGRES": "private", "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0 and " passed" in result.stdout, result.stdout[-3000:] + result.stderr[-2000:]
