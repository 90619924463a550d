"""`ccserver compliance check` through ccserver.cli.main, JSON on stdout."""

from __future__ import annotations

import json

import pytest

from ccserver.cli import main


def run(capsys, *args):
    code = main(["compliance", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_allowed_call_prints_one_json_object(capsys, tmp_path):
    history = tmp_path / "h.json"
    history.write_text(json.dumps([{"at": "2026-09-01T10:00:00Z", "refused": False}]))
    code, out, _ = run(
        capsys,
        "check",
        "--number",
        "06 12 34 56 78",
        "--at",
        "2026-09-15T09:00:00Z",
        "--postcode",
        "75001",
        "--history",
        str(history),
        "--basis",
        "consent",
    )
    assert code == 0
    data = json.loads(out)
    assert data["allowed"] is True
    assert data["timezone"] == "Europe/Paris"
    assert data["local_time"] == "2026-09-15T11:00:00+02:00"
    assert {r["rule"] for r in data["reasons"]} >= {
        "hours.weekday",
        "hours.window",
        "hours.holiday",
        "frequency.4_in_30_days",
        "frequency.60_days_after_refusal",
        "consent.required",
        "bloctel.opposed",
        "bloctel.list_stale",
        "dnc.company_list",
        "number.invalid",
    }
    assert all({"rule", "passed", "explanation"} <= set(r) for r in data["reasons"])
    assert out.count("\n") == 1


def test_forbidden_call_exits_1_with_the_failed_rules(capsys, tmp_path):
    history = tmp_path / "h.json"
    history.write_text(json.dumps([{"at": "2026-09-10T09:00:00Z", "refused": True}]))
    code, out, _ = run(
        capsys, "check", "--number", "+262 692 12 34 56", "--at", "2026-09-19T06:00:00Z", "--history", str(history)
    )
    assert code == 1
    data = json.loads(out)
    assert data["allowed"] is False
    assert data["timezone"] == "Indian/Reunion"
    assert data["local_time"] == "2026-09-19T10:00:00+04:00"
    failed = {r["rule"] for r in data["reasons"] if not r["passed"]}
    assert failed == {"hours.weekday", "frequency.60_days_after_refusal", "consent.required"}


def test_outside_hours_consent_and_contract(capsys):
    code, out, _ = run(
        capsys,
        "check",
        "--number",
        "0145454545",
        "--at",
        "2026-09-19T10:00:00Z",
        "--basis",
        "contract",
        "--outside-hours-consent",
    )
    assert code == 0 and json.loads(out)["allowed"] is True


def test_bloctel_regime_with_lists(capsys, tmp_path):
    bloctel = tmp_path / "bloctel.txt"
    bloctel.write_text("06 12 34 56 78\n")
    dnc = tmp_path / "dnc.txt"
    dnc.write_text("0145454545\n")
    common = [
        "--at",
        "2026-03-03T10:00:00Z",
        "--bloctel",
        str(bloctel),
        "--bloctel-scrubbed-at",
        "2026-03-01T00:00:00Z",
        "--dnc",
        str(dnc),
    ]
    code, out, _ = run(capsys, "check", "--number", "0612345678", *common)
    assert code == 1
    assert list(json.loads(out)["failed"]) == ["bloctel.opposed"]
    code, out, _ = run(capsys, "check", "--number", "0145454545", *common)
    assert json.loads(out)["failed"] == ["dnc.company_list"]
    code, out, _ = run(capsys, "check", "--number", "0699999999", *common)
    assert code == 0
    code, out, _ = run(capsys, "check", "--number", "0699999999", "--at", "2026-03-03T10:00:00Z")
    assert json.loads(out)["failed"] == ["bloctel.opposed", "bloctel.list_stale"]


def test_bitmap_lists_built_by_the_cli(capsys, tmp_path):
    text = tmp_path / "b.txt"
    text.write_text("06 12 34 56 78\nbad\n")
    bitmap = tmp_path / "b.bitmap"
    code, out, _ = run(
        capsys,
        "build-list",
        "--kind",
        "bloctel",
        "--input",
        str(text),
        "--output",
        str(bitmap),
        "--scrubbed-at",
        "2026-01-01T00:00:00Z",
    )
    assert code == 0
    assert json.loads(out)["count"] == 1 and json.loads(out)["invalid_lines"] == 1
    # the bitmap carries its own scrub date, too old by March
    code, out, _ = run(
        capsys, "check", "--number", "0699999999", "--at", "2026-03-03T10:00:00Z", "--bloctel", str(bitmap)
    )
    assert json.loads(out)["failed"] == ["bloctel.list_stale"]
    code, out, _ = run(
        capsys, "check", "--number", "0612345678", "--at", "2026-01-13T10:00:00Z", "--bloctel", str(bitmap)
    )
    assert json.loads(out)["failed"] == ["bloctel.opposed"]


@pytest.mark.parametrize(
    "args,field",
    [
        (["--number", "0612345678", "--at", "tomorrow"], "at"),
        (["--number", "0612345678", "--at", "2026-09-15T09:00:00Z", "--postcode", "75"], "postcode"),
        (["--number", "0612345678", "--at", "2026-09-15T09:00:00Z", "--history", "/nonexistent"], "history"),
        (["--number", "0612345678", "--at", "2026-09-15T09:00:00Z", "--dnc", "/nonexistent"], "dnc"),
    ],
)
def test_bad_input_exits_2_naming_the_field(capsys, args, field):
    code, out, err = run(capsys, "check", *args)
    assert code == 2
    assert out == ""
    assert f"field: {field}" in err


def test_bad_history_item_is_named(capsys, tmp_path):
    history = tmp_path / "h.json"
    history.write_text(json.dumps([{"at": "2026-09-01T10:00:00Z"}, {"at": "x"}]))
    code, _, err = run(
        capsys, "check", "--number", "0612345678", "--at", "2026-09-15T09:00:00Z", "--history", str(history)
    )
    assert code == 2 and "history[1].at" in err


def test_invalid_number_is_a_decision_not_an_error(capsys):
    code, out, _ = run(capsys, "check", "--number", "12345", "--at", "2026-09-15T09:00:00Z")
    assert code == 1
    data = json.loads(out)
    assert "number.invalid" in data["failed"] and data["timezone"] is None
