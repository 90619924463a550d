"""`ccserver user list|add|edit|disable|enable|passwd|revoke --json`: the output parses as JSON
and says what happened; errors name the field (exit status 2)."""

from __future__ import annotations

import io
import json

import pytest

from ccserver.cli import main

PASSWORD = "correct horse battery"


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CCSERVER_STORAGE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CCSERVER_CONFIG", raising=False)

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--log-level", "WARNING", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_every_user_command_answers_json(cli):
    code, out, _ = cli("user", "add", "boss", "--role", "admin", "--json", stdin=PASSWORD + "\n")
    assert code == 0 and json.loads(out)["role"] == "admin" and json.loads(out)["password"] is None
    code, out, _ = cli("user", "add", "sup", "--role", "supervisor", "--generate-password", "--json")
    generated = json.loads(out)["password"]
    assert code == 0 and len(generated) >= 16

    code, out, _ = cli("user", "list", "--json")
    users = {u["username"]: u for u in json.loads(out)}
    assert set(users) == {"boss", "sup"} and users["sup"]["active"] is True
    assert users["sup"]["scopes"] == {"teams": [], "queues": [], "campaigns": []}

    code, out, _ = cli("user", "edit", "sup", "--display-name", "Sophie", "--json")
    assert code == 0 and json.loads(out)["display_name"] == "Sophie"
    code, out, _ = cli("user", "disable", "sup", "--json")
    assert json.loads(out) == {"username": "sup", "active": False, "sessions_revoked": 0}
    code, out, _ = cli("user", "enable", "sup", "--json")
    assert json.loads(out) == {"username": "sup", "active": True}
    code, out, _ = cli("user", "passwd", "sup", "--json", stdin="another long password\n")
    assert json.loads(out) == {"username": "sup", "password": None, "sessions_revoked": 0}
    code, out, _ = cli("user", "passwd", "sup", "--generate", "--json")
    assert len(json.loads(out)["password"]) >= 16
    code, out, _ = cli("user", "revoke", "sup", "--json")
    assert json.loads(out) == {"username": "sup", "sessions_revoked": 0}

    code, out, _ = cli("user", "list")  # the text form: one line per user
    assert [line.split()[0] for line in out.splitlines()] == ["boss", "sup"]


@pytest.mark.parametrize(
    ("args", "stdin", "field"),
    [
        (("user", "add", "Bad Name", "--role", "agent"), PASSWORD, "username"),
        (("user", "add", "newbie", "--role", "agent"), "", "password"),
        (("user", "add", "newbie", "--role", "agent"), "short", "password"),
        (("user", "add", "newbie", "--role", "supervisor", "--queues", "ghost"), PASSWORD, "scopes.queues"),
        (("user", "add", "newbie", "--role", "agent", "--teams", "Nord"), PASSWORD, "scopes"),
        (("user", "edit", "boss", "--role", "agent"), "", "role"),
        (("user", "disable", "boss"), "", "active"),
        (("user", "edit", "nobody", "--role", "agent"), "", "username"),
        (("user", "edit", "boss", "--campaigns", "abc"), "", "scopes.campaigns"),
    ],
)
def test_errors_name_the_field(cli, args, stdin, field):
    cli("user", "add", "boss", "--role", "admin", stdin=PASSWORD + "\n")
    code, _out, err = cli(*args, stdin=stdin + "\n")
    assert code == 2
    assert err.startswith("ccserver: error: ")
    assert f"  field: {field}" in err.splitlines()


def test_teams_are_created_listed_and_renamed_from_the_command_line(cli):
    code, out, _ = cli("team", "add", "Nord", "--json")
    assert code == 0 and json.loads(out) == {"name": "Nord", "agents": 0}
    code, out, _ = cli("user", "add", "sup", "--role", "supervisor", "--teams", "Nord", "--json", stdin=PASSWORD)
    assert code == 0 and json.loads(out)["scopes"]["teams"] == ["Nord"]
    code, out, _ = cli("team", "rename", "Nord", "Nord-Est", "--json")
    assert code == 0 and json.loads(out) == {"name": "Nord-Est", "before": "Nord", "agents": 0}
    code, out, _ = cli("team", "list", "--json")
    assert json.loads(out) == [{"name": "Nord-Est", "agents": 0}]
    code, out, _ = cli("user", "list", "--json")
    assert json.loads(out)[0]["scopes"]["teams"] == ["Nord-Est"]  # the supervisor's scope follows
    code, out, _ = cli("team", "list")
    assert out.split()[0] == "Nord-Est"
    for args, field in (
        (("team", "add", "Nord-Est"), "name"),  # exists already
        (("team", "add", "bad\nname"), "name"),
        (("team", "rename", "ghost", "Sud"), "name"),
        (("team", "rename", "Nord-Est", "x" * 200), "new_name"),
    ):
        code, _out, err = cli(*args)
        assert code == 2 and f"  field: {field}" in err.splitlines(), (args, err)
