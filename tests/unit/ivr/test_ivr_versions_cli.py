"""`ccserver ivr history|diff|rollback ... [--json]` on a SQLite database (no Asterisk runs):
what the server stored, a diff, a rollback stored and audited, refusals naming the field."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime

import pytest

from ccserver.adapters.db import AuditLog, Database
from ccserver.adapters.db.acd import AcdRepository
from ccserver.adapters.db.ivr import IvrVersionRepository
from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.cli import main

V1 = textwrap.dedent("""\
    script:
      name: accueil
      version: "1"
      entry: menu
      routes:
        extensions: ["7000"]
    nodes:
      menu:
        type: menu
        prompt: hello
        choices:
          "1": {next: q, label: Ventes}
      q:
        type: queue
        queue: ventes
    """)
V2 = V1.replace('version: "1"', 'version: "2"').replace("queue: ventes", "queue: support")
AT = datetime(2026, 7, 15, 9, 0, tzinfo=UTC)


@pytest.fixture
def database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    monkeypatch.setenv("CCSERVER_STORAGE_DATABASE_URL", url)
    monkeypatch.setenv("CCSERVER_STORAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CCSERVER_ASTERISK_INSTANCE", "ivr-cli-none")  # no Asterisk runs
    db = Database(url)
    db.upgrade()
    acd = AcdRepository(db)
    acd.save_queue(QueueDefinition(name="ventes"), create=True)
    acd.save_queue(QueueDefinition(name="support"), create=True)
    repo = IvrVersionRepository(db)
    repo.add(
        script="accueil", content=V1, author="file", origin="file", at=AT, label="1", file="ivr_scripts/accueil.yaml"
    )
    repo.add(script="accueil", content=V2, author="alice", origin="upload", at=AT, label="2", comment="vers support")
    yield db
    db.dispose()


def run(capsys, *args):
    code = main(["ivr", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_history_lists_the_versions_newest_first(database, capsys):
    code, out, _ = run(capsys, "history", "accueil", "--json")
    assert code == 0
    body = json.loads(out)
    assert [(v["number"], v["author"], v["origin"], v["active"]) for v in body["versions"]] == [
        (2, "alice", "upload", True),
        (1, "file", "file", False),
    ]
    code, out, _ = run(capsys, "history", "accueil")
    assert code == 0
    assert out.splitlines()[1].startswith("v2       * 2026-07-15 09:00:00  alice")
    assert "vers support" in out
    code, _, err = run(capsys, "history", "ghost")
    assert code == 2 and "ccserver: error: no IVR script 'ghost'" in err and "field: name" in err


def test_diff_between_two_versions(database, capsys):
    code, out, _ = run(capsys, "diff", "accueil", "1", "2")
    assert code == 0
    assert out.startswith("--- accueil v1\n+++ accueil v2\n") and "-    queue: ventes\n+    queue: support\n" in out
    code, out, _ = run(capsys, "diff", "accueil", "2", "1", "--json")
    assert json.loads(out)["diff"].startswith("--- accueil v2\n")
    code, _, err = run(capsys, "diff", "accueil", "1", "9")
    assert code == 2 and "has no version 9" in err and "field: version" in err
    with pytest.raises(SystemExit):  # argparse: a version is a number
        run(capsys, "diff", "accueil", "1", "two")


def test_rollback_stores_a_new_version_copying_the_old_one_and_audits_it(database, capsys):
    code, out, _ = run(capsys, "rollback", "accueil", "1", "--comment", "support fermé", "--json")
    assert code == 0
    version = json.loads(out)
    assert (version["number"], version["origin"], version["rollback_of"], version["active"]) == (3, "rollback", 1, True)
    assert version["author"].startswith("cli") and version["comment"] == "support fermé"
    repo = IvrVersionRepository(database)
    assert repo.version("accueil", 3).content == V1 and repo.active_numbers() == {"accueil": 3}
    [entry] = [e for e in AuditLog(database).list() if e.action == "ivr.rollback"]
    assert entry.target == "accueil" and '"version": 3' in entry.details
    code, out, _ = run(capsys, "rollback", "accueil", "2")
    assert code == 0 and "version 2 is back as version 4" in out


def test_rollback_refused_when_the_old_version_no_longer_validates(database, capsys):
    with database.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM queues WHERE name = 'ventes'")
    code, out, err = run(capsys, "rollback", "accueil", "1", "--json")
    assert code == 2
    assert json.loads(out)["details"]["field"] == "version"
    assert "ccserver: error: version 1 of accueil no longer validates (unknown queue 'ventes'" in err
    assert "accueil v2 (v2) keeps running" in err
    assert "ivr_scripts/accueil.yaml:15: node q: unknown queue 'ventes'" in err
    assert IvrVersionRepository(database).active_numbers() == {"accueil": 2}
    assert len(IvrVersionRepository(database).versions("accueil")) == 2


def test_rollback_to_the_running_content_is_refused(database, capsys):
    code, _, err = run(capsys, "rollback", "accueil", "2")
    assert code == 2 and "has the content of the running version" in err and "field: version" in err
