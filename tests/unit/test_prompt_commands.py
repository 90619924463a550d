"""``ccserver prompt list|add|remove [--json]``: a WAV or MP3 converted and stored where Asterisk
reads it (here the directory shared with an external Asterisk), listed, refused naming the file,
removed; each change audited as cli:<user>."""

from __future__ import annotations

import json
import math

import numpy as np
import soundfile

from ccserver.adapters.db import AuditLog
from ccserver.adapters.db.database import Database
from ccserver.cli import main


def test_prompt_commands(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CCSERVER_STORAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CCSERVER_ASTERISK_MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setenv("CCSERVER_ASTERISK_MEDIA_DIR_IN_ASTERISK", "/var/lib/asterisk/ccserver-media")
    source = tmp_path / "Bonjour Été.wav"
    t = np.arange(44100 * 2) / 44100
    soundfile.write(str(source), np.stack([0.3 * np.sin(2 * math.pi * 440 * t)] * 2, axis=1), 44100)

    assert main(["prompt", "add", str(source), "--language", "fr", "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert (added["language"], added["name"], added["duration_seconds"]) == ("fr", "bonjour-ete", 2.0)
    stored = soundfile.info(str(tmp_path / "media" / "prompts" / "fr" / "bonjour-ete.wav"))
    assert (stored.samplerate, stored.channels) == (8000, 1)

    assert main(["prompt", "list", "--json"]) == 0
    assert [(p["language"], p["name"]) for p in json.loads(capsys.readouterr().out)] == [("fr", "bonjour-ete")]
    assert main(["prompt", "list"]) == 0
    assert "bonjour-ete" in capsys.readouterr().out

    notes = tmp_path / "notes.wav"
    notes.write_bytes(b"this is text, not audio" * 20)
    assert main(["prompt", "add", str(notes), "--language", "fr"]) == 2
    err = capsys.readouterr().err
    assert "ccserver: error: notes.wav: not a WAV or MP3 file" in err and "field: file" in err
    assert main(["prompt", "add", str(source), "--language", "FR!"]) == 2
    assert "field: language" in capsys.readouterr().err

    assert main(["prompt", "remove", "bonjour-ete", "--language", "fr", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"removed": "fr/bonjour-ete"}
    assert not (tmp_path / "media" / "prompts" / "fr" / "bonjour-ete.wav").exists()
    assert main(["prompt", "remove", "bonjour-ete", "--language", "fr"]) == 2
    assert "no prompt 'bonjour-ete'" in capsys.readouterr().err

    db = Database(f"sqlite:///{tmp_path / 'ccserver.db'}")
    try:
        actions = [(e.action, e.target) for e in reversed(AuditLog(db).list())]
        assert ("prompt.add", "fr/bonjour-ete") in actions and ("prompt.remove", "fr/bonjour-ete") in actions
        assert all(e.actor.startswith("cli") for e in AuditLog(db).list(action="prompt.add"))
    finally:
        db.dispose()
