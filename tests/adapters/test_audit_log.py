"""The audit log on SQLite and PostgreSQL: one chain whoever appends (threads, processes),
tampering with SQL named by `verify`, legacy entries sealed, an erasure re-chained, searches."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from ccserver.adapters.db import AuditLog, Database
from ccserver.adapters.db.audit import link_of, rechain
from ccserver.adapters.db.tables import AuditEntry
from ccserver.capabilities.audit.model import CLIENT_ADDRESS, GENESIS, Filters, chained
from ccserver.core.clock import ManualClock

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def audit(database):
    return AuditLog(database)


def fill(audit: AuditLog, n: int = 5) -> list[AuditEntry]:
    return [
        audit.record(f"user{i}", "config.change", f"queue{i}", before={"n": i}, after={"n": i + 1}) for i in range(n)
    ]


def sql(database: Database, statement: str, **params) -> None:
    with database.write_session() as session:
        session.execute(text(statement), params)


def test_entries_form_one_chain_that_verifies(audit):
    entries = fill(audit)
    assert entries[0].prev_hash == GENESIS
    assert [e.prev_hash for e in entries[1:]] == [e.entry_hash for e in entries[:-1]]
    verdict = audit.verify()
    assert verdict.ok and verdict.checked == 5 and verdict.head == entries[-1].entry_hash
    # what was stored is what was hashed (times and texts come back from the database unchanged)
    stored = audit.search(Filters(), limit=10)
    assert [e.entry_hash for e in reversed(stored)] == [e.entry_hash for e in entries]


def test_the_client_address_of_the_request_is_stored_ipv6_safe(audit):
    token = CLIENT_ADDRESS.set("2001:0DB8:0000:0000:0000:ff00:0042:8329")
    try:
        entry = audit.record("alice", "login", "alice")
    finally:
        CLIENT_ADDRESS.reset(token)
    assert entry.client_address == "2001:db8::ff00:42:8329"
    full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"  # the longest canonical form fits the column
    token = CLIENT_ADDRESS.set(full)
    try:
        audit.record("bob", "login", "bob")
    finally:
        CLIENT_ADDRESS.reset(token)
    assert audit.search(Filters(actor="bob"))[0].client_address == full
    assert audit.search(Filters(text="ff00:42"))[0].actor == "alice"
    assert audit.verify().ok


def test_the_time_never_goes_back_before_the_previous_entry(database):
    clock = ManualClock(datetime(2026, 12, 5, 10, 0, tzinfo=UTC))
    audit = AuditLog(database, clock)
    first = audit.record("a", "x")
    clock.advance(seconds=-3600)  # the system clock stepped back (NTP)
    second = audit.record("b", "y")
    assert second.at == first.at
    assert audit.verify().ok


@pytest.mark.parametrize("where", [0, 2, 4])
def test_an_update_with_sql_is_named_with_its_id_and_time(database, audit, where):
    entries = fill(audit)
    victim = entries[where]
    sql(database, "UPDATE audit_log SET details = :d WHERE id = :id", d='{"after": {"n": 0}}', id=victim.id)
    verdict = audit.verify()
    assert verdict.broken.id == victim.id
    assert verdict.broken.at == victim.at
    assert "changed" in verdict.broken.reason


def test_an_update_that_recomputes_the_hash_is_named_at_the_next_entry(database, audit):
    entries = fill(audit)
    forged = chained(
        link_of(entries[1]).__class__(**{**link_of(entries[1]).__dict__, "actor": "mallory"}), entries[1].prev_hash
    )
    sql(
        database,
        "UPDATE audit_log SET actor = 'mallory', entry_hash = :h WHERE id = :id",
        h=forged.entry_hash,
        id=entries[1].id,
    )
    assert audit.verify().broken.id == entries[2].id


@pytest.mark.parametrize("where", [0, 2])
def test_a_delete_with_sql_is_named_at_the_entry_after_the_gap(database, audit, where):
    entries = fill(audit)
    sql(database, "DELETE FROM audit_log WHERE id = :id", id=entries[where].id)
    verdict = audit.verify()
    assert verdict.broken.id == entries[where + 1].id
    assert "deleted" in verdict.broken.reason


def test_an_insert_in_the_middle_with_sql_is_named(database, audit):
    entries = fill(audit)
    sql(database, "DELETE FROM audit_log WHERE id = :id", id=entries[2].id)  # make room, as a forger would
    sql(
        database,
        "INSERT INTO audit_log (id, at, actor, action, target, details, client_address, prev_hash, entry_hash) "
        "VALUES (:id, :at, 'mallory', 'login', 'mallory', '{}', '', :prev, :h)",
        id=entries[2].id,
        at=entries[2].at.replace(tzinfo=None),
        prev=entries[1].entry_hash,
        h="f" * 64,
    )
    verdict = audit.verify()
    assert verdict.broken.id == entries[2].id and "changed" in verdict.broken.reason


def test_a_forged_entry_appended_without_a_hash_is_named_and_not_sealed(database, audit):
    fill(audit, 2)
    sql(database, "INSERT INTO audit_log (at, actor, action) VALUES (:at, 'mallory', 'login')", at=datetime(2026, 1, 1))
    broken = audit.verify().broken
    assert "not written by ccserver" in broken.reason
    assert audit.seal() == 0  # a forgery after the chain is never sealed into it
    audit.record("alice", "after")  # logging goes on; the break stays where it is
    assert audit.verify().broken.id == broken.id


def test_legacy_entries_are_sealed_before_the_first_new_one(database, audit):
    for i in range(3):
        sql(
            database,
            "INSERT INTO audit_log (at, actor, action) VALUES (:at, :a, 'old')",
            at=datetime(2026, 1, 1, 0, i),
            a=f"u{i}",
        )
    verdict = audit.verify()
    assert verdict.unsealed == 3 and not verdict.ok and verdict.broken is None
    entry = audit.record("alice", "new")  # seals the three in the same transaction
    assert audit.verify().ok and audit.verify().checked == 4
    assert entry.prev_hash != GENESIS
    assert audit.seal() == 0


def test_seal_chains_legacy_entries_once(database, audit):
    sql(database, "INSERT INTO audit_log (at, actor, action) VALUES (:at, 'u', 'old')", at=datetime(2026, 1, 1))
    assert audit.seal() == 1
    assert audit.seal() == 0
    assert audit.verify().ok


def _append_many(url: str, who: str, count: int, errors: list) -> None:
    db = Database(url)
    try:
        log = AuditLog(db)
        for i in range(count):
            log.record(who, "concurrent", str(i))
    except Exception as exc:  # pragma: no cover - reported by the test
        errors.append(exc)
    finally:
        db.dispose()


def test_threads_appending_at_once_make_one_chain(database, db_url):
    errors: list = []
    threads = [threading.Thread(target=_append_many, args=(db_url, f"t{n}", 25, errors)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    verdict = AuditLog(database).verify()
    assert verdict.ok, verdict.summary()
    assert verdict.checked == 100


def test_processes_appending_at_once_make_one_chain(database, db_url):
    code = (
        "import sys; from ccserver.adapters.db import AuditLog, Database\n"
        "db = Database(sys.argv[1]); log = AuditLog(db)\n"
        "for i in range(30): log.record(sys.argv[2], 'concurrent', str(i))\n"
        "db.dispose()\n"
    )
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", code, db_url, f"p{n}"], env=env, cwd=REPO) for n in range(2)]
    assert [p.wait(180) for p in procs] == [0, 0]
    verdict = AuditLog(database).verify()
    assert verdict.ok, verdict.summary()
    assert verdict.checked == 60
    assert {e.actor for e in AuditLog(database).search(Filters(), limit=100)} == {"p0", "p1"}


def test_a_redaction_rechains_from_the_first_redacted_entry(database, audit):
    entries = fill(audit, 4)
    audit.record("alice", "customer.create", "customer:7", number="+33612345678")
    audit.record("alice", "login", "alice")

    def redact(entry: AuditEntry) -> bool:
        if "+33612345678" not in entry.details:
            return False
        entry.details = entry.details.replace("+33612345678", "[effacé]")
        return True

    with database.write_session() as session:
        assert rechain(session, database.dialect, entries[-1].id + 1, redact) == 1
    assert audit.verify().ok
    assert "+33612345678" not in json.dumps([e.details for e in audit.search(Filters(), limit=10)])


def test_a_redaction_does_not_launder_an_earlier_break(database, audit):
    entries = fill(audit, 4)
    sql(database, "UPDATE audit_log SET actor = 'mallory' WHERE id = :id", id=entries[2].id)
    with database.write_session() as session:
        rechain(session, database.dialect, entries[1].id, lambda e: False)
    assert audit.verify().broken.id == entries[2].id


def test_search_filters_count_and_pages(database):
    clock = ManualClock(datetime(2026, 12, 5, 8, 0, tzinfo=UTC))
    audit = AuditLog(database, clock)
    for i in range(12):
        audit.record("alice" if i % 2 else "bob", "login.failed" if i % 3 else "login", f"t{i}", note=f"100%_{i}")
        clock.advance(seconds=60)
    assert audit.count(Filters()) == 12
    assert audit.count(Filters(actor="alice")) == 6
    assert audit.count(Filters(action="login")) == 12  # the action and its sub-actions
    assert audit.count(Filters(action="login.failed")) == 8
    assert audit.count(Filters(action="log")) == 0  # a prefix is a whole part of the name
    assert audit.count(Filters(target="t3")) == 1
    start = datetime(2026, 12, 5, 8, 2, tzinfo=UTC)
    assert [e.target for e in audit.search(Filters(since=start, until=start + timedelta(minutes=3)))] == [
        "t4",
        "t3",
        "t2",
    ]
    assert audit.count(Filters(text="100%_1")) == 3  # 1, 10, 11: % and _ are literal
    assert audit.count(Filters(text="ALICE")) == 6  # case-insensitive
    page2 = audit.search(Filters(), limit=5, offset=5)
    assert [e.target for e in page2] == ["t6", "t5", "t4", "t3", "t2"]
    assert [link.id for link in audit.export(Filters(actor="bob"))] == sorted(
        e.id for e in audit.search(Filters(actor="bob"))
    )
