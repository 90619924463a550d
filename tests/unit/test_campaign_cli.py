"""`ccserver campaign list|edit [--json]`: a campaign's language from the command line, checked
against the languages Asterisk has sounds for (errors name the field, nothing changed), audited."""

from __future__ import annotations

import asyncio
import io
import json
from types import SimpleNamespace

import pytest

from ccserver.adapters.db.database import Database
from ccserver.adapters.db.outbound import OutboundRepository
from ccserver.adapters.db.repositories import AuditLog
from ccserver.capabilities.outbound.service import OutboundService
from ccserver.cli import main
from ccserver.core.clock import SystemClock


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CCSERVER_STORAGE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CCSERVER_CONFIG", raising=False)
    # what the private Asterisk has sounds for
    monkeypatch.setattr(
        "ccserver.adapters.asterisk.media_files.media_files_of",
        lambda settings, instance: SimpleNamespace(languages=lambda: ["en", "fr"]),
    )

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        code = main(["--log-level", "WARNING", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def make_campaign(tmp_path) -> int:
    db = Database(f"sqlite:///{tmp_path / 'ccserver.db'}")
    db.upgrade()
    try:
        service = OutboundService(OutboundRepository(db), clock=SystemClock())
        return asyncio.run(service.campaigns.create_campaign("Automne", {"mode": "progressive"}, "admin"))["id"]
    finally:
        db.dispose()


def test_a_campaigns_language_is_listed_and_changed_from_the_command_line(cli, tmp_path):
    code, out, err = cli("campaign", "list", "--json")
    assert code == 0 and json.loads(out) == [], err
    cid = make_campaign(tmp_path)
    code, out, _ = cli("campaign", "edit", str(cid), "--language", "fr", "--json")
    assert code == 0 and json.loads(out)["language"] == "fr"
    code, out, _ = cli("campaign", "list", "--json")
    assert json.loads(out) == [
        {"id": cid, "name": "Automne", "mode": "progressive", "status": "draft", "language": "fr"}
    ]
    for bad, words in (("de", "no sounds in 'de' (installed: en, fr)"), ("fr)\nX", "not a language code")):
        code, _out, err = cli("campaign", "edit", str(cid), "--language", bad)
        assert code == 2 and "  field: language" in err.splitlines() and words in err, err
    code, _out, err = cli("campaign", "edit", "999", "--language", "fr")
    assert code == 2 and "999" in err
    code, out, _ = cli("campaign", "list")
    assert "Automne" in out and out.splitlines()[1].split()[-1] == "fr"  # unchanged by the refusals
    code, out, _ = cli("campaign", "edit", str(cid), "--language", "")
    assert code == 0 and "(default)" in out
    db = Database(f"sqlite:///{tmp_path / 'ccserver.db'}")
    try:
        entries = [e for e in AuditLog(db).list() if e.action == "campaign.update"]
    finally:
        db.dispose()
    assert len(entries) == 2 and all(e.actor.startswith("cli") for e in entries)
