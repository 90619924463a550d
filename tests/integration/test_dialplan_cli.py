"""`ccserver dialplan ...` on the REAL Asterisk, with --json: check a bad file (exit 1, file:line),
apply files as a new version (the new number answers), list, show --diff, history, rollback."""

from __future__ import annotations

import json

import pytest

from ccserver.adapters.asterisk.instance import AsteriskInstance
from ccserver.cli import main as ccserver_main
from ccserver.settings import env_name

PROBE = "[inbound]\nexten => probe,1,Answer()\n same => n,Hangup()\n"


@pytest.fixture
def live(asterisk_factory, monkeypatch):
    instance = asterisk_factory()
    instance.up()
    instance.write_dialplans({"default.conf": PROBE})
    instance.reload("pbx_config.so")
    for key, value in (
        ("asterisk.root", instance.settings.asterisk.root),  # the CLI reads CCSERVER_*
        ("asterisk.mode", instance.settings.asterisk.mode),
        ("asterisk.instance", instance.name),
        ("storage.data_dir", instance.settings.storage.data_dir),
    ):
        monkeypatch.setenv(env_name(key), str(value))
    yield instance
    scratch = AsteriskInstance(
        instance.settings.replace({"asterisk.instance": f"{instance.name}-scratch-cli"}),
        environment=instance.environment,
    )
    assert scratch.status() is None or scratch.pid() is None  # each command stops its scratch Asterisk
    scratch.destroy()


def run(capsys, *argv) -> tuple[int, object]:
    code = ccserver_main(["dialplan", *argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_dialplan_commands_with_json(live, tmp_path, capsys):
    bad = tmp_path / "default.conf"
    bad.write_text(PROBE + "exten => 9,1,Goto(nowhere,s,1)\nexten => 9,2,NoOp()\nexten => 9,2,NoOp()\n")
    code, report = run(capsys, "check", str(bad))
    assert code == 1 and not report["ok"]
    assert {(p["file"], p["line"], p["rule"]) for p in report["problems"]} >= {
        ("default.conf", 4, "unknown-context"),
        ("default.conf", 6, "duplicate-priority"),
        ("default.conf", 6, "asterisk"),
    }
    code, refused = run(capsys, "apply", str(bad), "--comment", "broken")
    assert code == 1 and refused["error"] == "dialplan-refused"
    assert live.read_dialplans() == {"default.conf": PROBE}

    good = tmp_path / "good" / "default.conf"
    good.parent.mkdir()
    good.write_text(PROBE + "exten => 3131,1,Answer()\n same => n,Hangup()\n")
    code, result = run(capsys, "apply", str(good), "--comment", "number 3131")
    assert code == 0 and result["applied"] and result["version_id"] == 2 and result["previous_version_id"] == 1
    assert "exten => 3131" in live.read_dialplans()["default.conf"]
    assert "'3131' =>" in live.cli("dialplan show inbound")

    code, listing = run(capsys, "list")
    assert code == 0 and listing["running_version"] == 2
    assert [(v["id"], v["comment"]) for v in listing["versions"]] == [
        (2, "number 3131"),
        (1, "the dialplans found at first start"),
    ]
    code, shown = run(capsys, "show", "1", "--diff")
    assert code == 0 and "-exten => 3131,1,Answer()" in shown["diff"]

    # an apply under way in another process (the server) holds the lock: this one is refused
    # after --wait seconds, nothing changed (it waits for it by default: 90 s)
    from ccserver.adapters.db.database import Database
    from ccserver.adapters.db.dialplans import DIALPLAN_APPLY_LOCK
    from ccserver.adapters.db.locks import DatabaseLock

    server_db = Database(live.settings.storage.effective_database_url)
    server_lock = DatabaseLock(server_db, DIALPLAN_APPLY_LOCK)
    assert server_lock.try_acquire()
    try:
        code, busy = run(capsys, "rollback", "1", "--comment", "undo", "--wait", "0.5")
    finally:
        server_lock.release()
        server_db.dispose()
    assert code == 1 and busy["error"] == "dialplan-busy" and "another apply or rollback" in busy["message"]
    assert "'3131' =>" in live.cli("dialplan show inbound")

    code, result = run(capsys, "rollback", "1", "--comment", "undo")
    assert code == 0 and result["applied"] and result["action"] == "rollback" and result["seconds"] < 5
    assert "3131" not in live.cli("dialplan show inbound")
    code, history = run(capsys, "history")
    assert [(h["action"], h["version_id"], h["outcome"]) for h in history] == [
        ("rollback", 1, "applied"),
        ("apply", 2, "applied"),
        ("apply", 1, "applied"),
    ]
    assert history[0]["actor"].startswith("cli")
    assert ccserver_main(["dialplan", "apply", str(good), "--version", "1"]) == 2  # either, not both
    assert "give either FILE... or --version N" in capsys.readouterr().err
