"""``ccserver kb``: add, edit, import, list, show and search from the command line (SQLite)."""

from __future__ import annotations

import io
import json

import pytest

from ccserver.cli import main


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CCSERVER_STORAGE_DATA_DIR", str(tmp_path))

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--log-level", "WARNING", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_add_edit_import_list_show_search(cli, tmp_path):
    code, out, _ = cli(
        "kb", "add", "--title", "Contester une facture", "--file", "-", "--json", stdin="Vérifier le **relevé**."
    )
    assert code == 0
    article = json.loads(out)
    assert article["revision"] == 1 and article["created_by"].startswith("cli")
    code, out, _ = cli(
        "kb",
        "edit",
        str(article["id"]),
        "--file",
        "-",
        "--comment",
        "plus clair",
        "--json",
        stdin="Relevé du compteur.",
    )
    assert code == 0 and json.loads(out)["revision"] == 2
    items = tmp_path / "kb.json"
    items.write_text(
        json.dumps([{"title": "Facturation en ligne", "body": "Chaque mois.", "tags": ["disposition:resolu"]}])
    )
    code, out, _ = cli("kb", "import", str(items), "--json")
    assert code == 0 and len(json.loads(out)["created"]) == 1
    code, out, _ = cli("kb", "search", "factures", "--json")
    assert {h["title"] for h in json.loads(out)} == {"Contester une facture", "Facturation en ligne"}
    code, out, _ = cli("kb", "list", "--tag", "disposition:resolu")
    assert "Facturation en ligne" in out and "Contester" not in out
    code, out, _ = cli("kb", "show", str(article["id"]))
    assert "Relevé du compteur." in out and "revision 2" in out


def test_bad_input_is_named_and_nothing_written(cli, tmp_path):
    code, _, err = cli("kb", "add", "--title", "", "--file", "-", stdin="x")
    assert code == 2 and "title" in err
    code, _, err = cli("kb", "add", "--title", "T", "--file", "-", "--tag", "queue:inconnue", stdin="x")
    assert code == 2 and "inconnue" in err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"title": "A", "body": "a"}, {"title": "B"}]))
    code, _, err = cli("kb", "import", str(bad))
    assert code == 2 and "articles[1]" in err
    code, out, _ = cli("kb", "list", "--json")
    assert json.loads(out) == []
