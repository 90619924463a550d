"""`ccserver audit list|verify|export|seal` on a SQLite database: filters, --json, the first broken
entry named after a row is changed with SQL, field errors, legacy rows sealed."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest
from sqlalchemy import text

from ccserver.adapters.db import AuditLog, Database
from ccserver.capabilities.audit.model import CLIENT_ADDRESS
from ccserver.cli import main


@pytest.fixture
def database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    monkeypatch.setenv("CCSERVER_STORAGE_DATABASE_URL", url)
    monkeypatch.setenv("CCSERVER_STORAGE_DATA_DIR", str(tmp_path))
    db = Database(url)
    db.upgrade()
    yield db
    db.dispose()


def run(capsys, *args):
    code = main(["audit", *args])
    out, err = capsys.readouterr()
    return code, out, err


def fill(db: Database) -> list:
    log = AuditLog(db)
    token = CLIENT_ADDRESS.set("2001:db8::5")
    try:
        return [
            log.record("alice", "login", "alice"),
            log.record("bob", "login.failed", "bob"),
            log.record("alice", "queue.update", "sales", before={"ring_seconds": 15}, after={"ring_seconds": 25}),
        ]
    finally:
        CLIENT_ADDRESS.reset(token)


def test_list_filters_and_json(database, capsys):
    fill(database)
    code, out, err = run(capsys, "list")
    assert code == 0 and "3 entries" in err
    lines = out.splitlines()
    assert "queue.update" in lines[0] and "2001:db8::5" in lines[0] and '"before"' in lines[0]
    code, out, _ = run(capsys, "list", "--action", "login", "--json")
    data = json.loads(out)
    assert [e["action"] for e in data["entries"]] == ["login.failed", "login"] and data["total"] == 2
    code, out, _ = run(capsys, "list", "--actor", "alice", "--text", "sales", "--json")
    assert [e["target"] for e in json.loads(out)["entries"]] == ["sales"]


def test_bad_filters_name_the_field(database, capsys):
    code, _, err = run(capsys, "list", "--from", "yesterday")
    assert code == 2 and "ccserver: error:" in err and "field: from" in err
    code, _, err = run(capsys, "list", "--limit", "0")
    assert code == 2 and "field: size" in err


def test_verify_names_the_first_broken_entry(database, capsys):
    entries = fill(database)
    code, out, _ = run(capsys, "verify")
    assert code == 0 and "intact: 3 entries" in out
    with database.write_session() as session:
        session.execute(text("UPDATE audit_log SET actor = 'carol' WHERE id = :id"), {"id": entries[1].id})
    code, _, err = run(capsys, "verify")
    assert code == 2
    assert f"BROKEN at entry {entries[1].id} ({entries[1].at.isoformat()})" in err
    assert f"id: {entries[1].id}" in err
    code, out, _ = run(capsys, "verify", "--json")
    verdict = json.loads(out)
    assert code == 1 and verdict["ok"] is False and verdict["broken"]["id"] == entries[1].id


def test_export_writes_neutralised_csv_and_is_logged(database, capsys, tmp_path):
    AuditLog(database).record("=cmd", "customer.create", "+33612345678")
    out_file = tmp_path / "audit.csv"
    code, _, _ = run(capsys, "export", "--action", "customer", "--output", str(out_file))
    assert code == 0
    rows = list(csv.reader(io.StringIO(out_file.read_text(encoding="utf-8").lstrip("\ufeff"))))
    assert rows[1][2:5] == ["'=cmd", "customer.create", "'+33612345678"]
    [export] = AuditLog(database).list(action="audit.export")
    assert export.actor.startswith("cli") and export.details_dict == {"filters": {"action": "customer"}}


def test_seal_chains_rows_from_before_the_chain(database, capsys):
    with database.write_session() as session:
        session.execute(
            text("INSERT INTO audit_log (at, actor, action) VALUES (:at, 'old', 'x')"), {"at": datetime(2026, 1, 1)}
        )
    code, out, _ = run(capsys, "verify")
    assert code == 1 and "not sealed" in out
    code, out, _ = run(capsys, "seal")
    assert code == 0 and out.startswith("1 entries sealed")
    code, out, _ = run(capsys, "seal")
    assert "nothing to seal" in out
    assert run(capsys, "verify")[0] == 0
