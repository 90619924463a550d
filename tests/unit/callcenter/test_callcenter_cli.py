"""`ccserver skill|pause-code|wrapup-code|queue ...` with --json on a SQLite database (no
Asterisk running): what the demo seeds can be made from the command line, errors name the field."""

from __future__ import annotations

import json

import pytest

from ccserver.adapters.db import Database, UserRepository
from ccserver.adapters.db.acd import AcdRepository
from ccserver.adapters.db.repositories import AuditLog
from ccserver.cli import main
from ccserver.commands.callcenter import parse_queue_show


@pytest.fixture
def database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    monkeypatch.setenv("CCSERVER_STORAGE_DATABASE_URL", url)
    monkeypatch.setenv("CCSERVER_STORAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CCSERVER_ASTERISK_INSTANCE", "callcenter-cli-none")  # no Asterisk runs
    db = Database(url)
    db.upgrade()
    yield db
    db.dispose()


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if "--json" in args and code == 0 else out), err


def test_the_demo_settings_are_made_from_the_command_line(database, capsys):
    for name in ("fr", "tech", "billing"):
        assert run(capsys, "skill", "add", name, "--label", name.upper(), "--json")[0] == 0
    code, out, _ = run(capsys, "skill", "list", "--json")
    assert out == [
        {"name": "billing", "label": "BILLING"},
        {"name": "fr", "label": "FR"},
        {"name": "tech", "label": "TECH"},
    ]
    code, out, _ = run(
        capsys,
        "queue", "add", "support",
        "--set", "strategy=leastrecent", "--set", "required_skills=fr:1,tech:1", "--set", "wrapup_seconds=15",
        "--set", "numbers=100,0140000100", "--set", "callback_key=1", "--set", "holidays=",
        "--set", "max_callers=25", "--set", "announce_holdtime=no", "--set", "hours=mon-fri=08:00-19:00",
        "--json",
    )  # fmt: skip
    assert code == 0, out
    assert (out["strategy"], out["required_skills"], out["numbers"], out["max_callers"]) == (
        "leastrecent",
        {"fr": 1, "tech": 1},
        ["100", "0140000100"],
        25,
    )
    assert (out["announce_holdtime"], out["hours"]) == (False, {"mon-fri": "08:00-19:00"})
    code, out, _ = run(capsys, "queue", "edit", "support", "--set", "ring_seconds=20", "--json")
    assert code == 0 and out["ring_seconds"] == 20 and out["max_callers"] == 25
    assert [q["name"] for q in run(capsys, "queue", "list", "--json")[1]] == ["support"]
    for code_name in ("resolved", "escalated"):
        assert run(capsys, "wrapup-code", "add", "--queue", "support", code_name, "--json")[0] == 0
    assert [c["code"] for c in run(capsys, "wrapup-code", "list", "--queue", "support", "--json")[1]] == [
        "resolved",
        "escalated",
    ]
    code, out, _ = run(
        capsys, "pause-code", "add", "break", "--label", "Pause", "--paid", "--max-minutes", "15", "--json"
    )
    assert out == {"code": "break", "label": "Pause", "paid": True, "max_minutes": 15, "active": True}
    code, out, _ = run(capsys, "pause-code", "edit", "break", "--unpaid", "--json")
    assert (out["paid"], out["max_minutes"]) == (False, 15)
    UserRepository(database).create_user("admin", "password-1234", role="admin")
    AcdRepository(database).create_agent("alice", "password-1234", "Alice", {"fr": 9})
    code, out, _ = run(capsys, "skill", "levels", "alice", "fr:9,tech:8", "--json")
    assert code == 0 and out["skills"] == {"fr": 9, "tech": 8} and out["penalties"] == {}
    assert AcdRepository(database).agent("alice").skills == {"fr": 9, "tech": 8}
    actors = {e.actor.split(":")[0] for e in AuditLog(database).list(limit=100)}
    assert actors == {"cli"}  # every change audited
    code, text, _ = run(capsys, "pause-code", "list")
    assert "break" in text and "unpaid" in text and "max 15 min" in text


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("skill", "add", "Bad Name"), "name"),
        (("pause-code", "add", "lunch", "--max-minutes", "5000"), "max_minutes"),
        (("queue", "add", "sales", "--set", "colour=red"), "colour"),
        (("queue", "add", "sales", "--set", "ring_seconds=soon"), "ring_seconds"),
        (("queue", "add", "sales", "--set", "strategy=fastest"), "strategy"),
        (("queue", "add", "sales", "--set", "required_skills=klingon:3"), "required_skills"),
        (("skill", "levels", "nobody", ""), "username"),
        (("skill", "levels", "nobody", "fr:3"), "skills"),  # no skill fr exists
    ],
)
def test_bad_input_names_the_field(database, capsys, args, field):
    code, _out, err = run(capsys, *args)
    assert code == 2
    assert err.startswith("ccserver: error: ") and f"field: {field}" in err, err


def test_a_skill_in_use_is_not_removed(database, capsys):
    run(capsys, "skill", "add", "fr")
    run(capsys, "queue", "add", "support", "--set", "required_skills=fr:1")
    code, _out, err = run(capsys, "skill", "remove", "fr")
    assert code == 2 and "queue support" in err
    run(capsys, "queue", "remove", "support")
    assert run(capsys, "skill", "remove", "fr", "--json")[1] == {"removed": "fr"}


def test_queue_show_is_read_as_queuestatus_parameters():
    text = (
        "support has 0 calls (max 20) in 'leastrecent' strategy (0s holdtime, 0s talktime), W:0, C:0, A:0, "
        "SL:0.0%, SL2:0.0% within 30s\n   No Members\n   No Callers\n\n"
        "billing has 1 calls (max unlimited) in 'rrmemory' strategy (0s holdtime, 0s talktime), W:0, C:0, A:0, "
        "SL:0.0%, SL2:0.0% within 20s\n"
    )
    assert parse_queue_show(text) == {
        "support": {"strategy": "leastrecent", "max": "20", "servicelevel": "30"},
        "billing": {"strategy": "rrmemory", "max": "0", "servicelevel": "20"},
    }
