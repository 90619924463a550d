"""`ccserver phone list|add|reset USER [--json]` on a SQLite database (no Asterisk running)."""

from __future__ import annotations

import json

import pytest

from ccserver.adapters.db import Database, UserRepository
from ccserver.adapters.db.acd import AcdRepository
from ccserver.capabilities.acd.model import sip_password_digests
from ccserver.cli import main


@pytest.fixture
def database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    monkeypatch.setenv("CCSERVER_STORAGE_DATABASE_URL", url)
    monkeypatch.setenv("CCSERVER_STORAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CCSERVER_ASTERISK_INSTANCE", "phones-cli-none")  # no Asterisk runs
    monkeypatch.setenv("CCSERVER_ASTERISK_SIP_PORT", "5077")
    db = Database(url)
    db.upgrade()
    UserRepository(db).create_user("sophie", "password-1234", role="supervisor", display_name="Sophie")
    UserRepository(db).create_user("7seven", "password-1234", role="agent")
    yield db
    db.dispose()


def run(capsys, *args):
    code = main(["phone", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_add_prints_the_password_once_and_stores_its_digests(database, capsys):
    code, out, _ = run(capsys, "list", "--json")
    assert code == 0
    assert {p["username"]: p["has_phone"] for p in json.loads(out)} == {"7seven": False, "sophie": False}

    code, out, _ = run(capsys, "add", "sophie", "--json")
    assert code == 0
    issued = json.loads(out)
    password = issued["settings"]["password"]
    assert issued["settings"] | {"password": ""} == {
        "server": "127.0.0.1",
        "port": 5077,
        "transport": "udp",
        "username": "sophie",
        "password": "",
        "realm": "ccserver",
        "display_name": "Sophie",
    }
    assert f"Password: {password}" in issued["provisioning"]["zoiper"]
    assert issued["applied_to"] == ""  # no private Asterisk runs: the server applies it
    assert dict(AcdRepository(database).agent("sophie").sip_digests) == sip_password_digests("sophie", password)

    code, out, _ = run(capsys, "list")
    assert code == 0 and password not in out
    assert [line.split() for line in out.splitlines()[1:]] == [
        ["7seven", "agent", "-"],
        ["sophie", "supervisor", "sophie"],
    ]

    code, out, _ = run(capsys, "reset", "sophie")
    assert code == 0
    new_password = next(line.split()[1] for line in out.splitlines() if line.strip().startswith("password"))
    assert new_password != password
    assert dict(AcdRepository(database).agent("sophie").sip_digests) == sip_password_digests("sophie", new_password)


def test_bad_usernames_exit_2_naming_the_field(database, capsys):
    for args, message in (
        (("add", "Bad Name"), "a username is"),
        (("add", "nobody"), "no active user"),
        (("add", "7seven"), "must start with a letter"),
        (("reset", "sophie"), "has no phone yet"),
    ):
        code, _, err = run(capsys, *args)
        assert code == 2, args
        assert message in err and "field: username" in err, (args, err)
    assert run(capsys, "add", "sophie")[0] == 0
    code, _, err = run(capsys, "add", "sophie")
    assert code == 2 and "already has a phone" in err
