"""The rules a dialplan version must pass before any Asterisk loads it (pure: no Asterisk)."""

from __future__ import annotations

import pytest

from ccserver.capabilities.dialplans.model import (
    asterisk_problems,
    check_comment,
    check_files,
    diff,
    lint,
    matches,
    parse,
)
from ccserver.capabilities.dialplans.service import probe_rule
from ccserver.core.errors import InvalidInput

APPS = {"Answer", "Hangup", "NoOp", "Goto", "GotoIf", "Gosub", "GosubIf", "Return", "Dial", "Playback", "Set", "Wait"}
PROBE = "[inbound]\nexten => probe,1,Answer()\n same => n,Hangup()\n"


def problems(text: str, **kw) -> list[tuple[int, str]]:
    return [(p.line, p.rule) for p in lint({"a.conf": text}, known_apps=kw.pop("apps", APPS), **kw)]


def test_the_shipped_default_dialplan_passes_every_rule():
    from ccserver.adapters.asterisk.instance import DEFAULT_DIALPLAN_DIR

    files = {p.name: p.read_text() for p in DEFAULT_DIALPLAN_DIR.glob("*.conf")}
    assert lint(files, known_apps=APPS) == []
    assert probe_rule(files) == []


def test_a_clean_dialplan_has_no_problem():
    text = PROBE + (
        "exten => 100,1,Goto(menu,s,1)\n"
        "exten => 101,1,Gosub(sub,s,1(a,b))\n"
        " same => n,Dial(Local/s@menu&PJSIP/alice,30)\n"
        " same => n(again),GotoIf($[${X} = 1]?again:menu,s,1)\n"
        " same => n,Goto(ccserver-routes,3000,1)\n"
        "[menu]\nexten => s,1,Playback(hello-world)\n same => n,Goto(1)\n"
        "[sub]\nexten => s,1,Return()\n"
    )
    assert problems(text) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("exten => 1,1,Goto(nowhere,s,1)", "unknown-context"),
        ("exten => 1,1,Goto(inbound,nope,1)", "unknown-extension"),
        ("exten => 1,1,Goto(nope,1)", "unknown-extension"),
        ("exten => 1,1,Goto(inbound,probe,missing)", "unknown-label"),
        ("exten => 1,1,Gosub(nowhere,s,1(x))", "unknown-context"),
        ("exten => 1,1,GotoIf($[1]?inbound,nope,1)", "unknown-extension"),
        ("exten => 1,1,GotoIf($[1]?probe,1:nowhere,s,1)", "unknown-context"),
        ("exten => 1,1,GosubIf($[1]?nowhere,s,1)", "unknown-context"),
        ("exten => 1,1,Dial(Local/nope@inbound)", "unknown-extension"),
        ("exten => 1,1,Dial(PJSIP/a&Local/s@nowhere/n,20)", "unknown-context"),
        ("exten => 1,1,Goto(ccserver-spy,s,1)", "server-context"),
        ("exten => 1,1,Dial(Local/1@ccserver-dialer)", "server-context"),
        ("exten => 1,1,Foobar()", "unknown-application"),
        ("exten => 1,1,Goto(a,b,c,d)", "syntax"),
    ],
)
def test_each_jump_and_application_rule(line, expected):
    assert (4, expected) in problems(PROBE + line + "\n")


def test_computed_targets_are_left_to_run_time():
    assert problems(PROBE + "exten => 1,1,Goto(${DEST},s,1)\n same => n,Dial(Local/${N}@inbound)\n") == []


def test_jumps_into_the_server_entry_points_are_allowed_but_not_elsewhere():
    ok = PROBE + "".join(
        f"exten => {i},1,Goto({c},100,1)\n"
        for i, c in enumerate(["ccserver-inbound", "ccserver-routes", "ccserver-ivr-routes", "ccserver-test"])
    )
    assert problems(ok) == []
    assert problems(PROBE + "exten => 1,1,Goto(ccserver-admission,1,1)\n") == [(4, "server-context")]


def test_applications_are_checked_only_against_a_known_list_case_insensitively():
    text = PROBE + "exten => 1,1,noop()\n same => n,MadeUp()\n"
    assert problems(text) == [(5, "unknown-application")]
    assert problems(text, apps=None) == []


def test_duplicate_priorities_are_refused_with_the_first_place():
    found = lint({"a.conf": PROBE + "exten => 1,1,NoOp()\nexten => 1,1,NoOp()\n"}, known_apps=APPS)
    assert [(p.line, p.rule) for p in found] == [(5, "duplicate-priority")]
    assert "a.conf:4" in found[0].message


def test_priorities_n_follow_the_previous_one_and_labels_are_known():
    plan = parse(
        {"a.conf": "[c]\nexten => 1,1,NoOp()\n same => n(two),NoOp()\n same => n,NoOp()\nexten => 2,hint,PJSIP/a\n"}
    )
    assert [(p.exten, p.number, p.label) for p in plan.contexts["c"].priorities] == [
        ("1", 1, ""),
        ("1", 2, "two"),
        ("1", 3, ""),
    ]


def test_an_extension_shadowed_by_the_including_context_or_an_earlier_include():
    text = (
        PROBE
        + "include => first\ninclude => second\nexten => _1XX,1,NoOp()\n[first]\nexten => 555,1,NoOp()\n[second]\nexten => 555,1,NoOp()\nexten => 150,1,NoOp()\nexten => 9,1,NoOp()\n"
    )
    found = problems(text)
    assert found == [
        (10, "shadowed-extension"),  # 555 of [second]: [first] takes it
        (11, "shadowed-extension"),  # 150 of [second]: the _1XX of [inbound] takes it
    ]  # 555 of [first] (line 8) and 9 of [second] (line 12) are reached


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("[ccserver-inbound]\nexten => 1,1,NoOp()\n", "server-context"),
        ("[mine]\ninclude => ccserver-spy\n", "server-context"),
        ("[globals]\nX=1\n", "reserved-section"),
        ("[general]\nstatic=no\n", "reserved-section"),
        ("#exec /bin/date\n", "directive"),
        ("#include /etc/asterisk/extensions.conf\n", "include-outside"),
        ("#include ../x.conf\n", "include-outside"),
        ("#tryinclude a.conf\n", "include-outside"),
        ("[mine]\nswitch => IAX2/host/ctx\n", "directive"),
        ("[mine]\nexten => 1,x,NoOp()\n", "syntax"),
        ("[mine]\nexten => 1,1\n", "syntax"),
        ("[mine]\nsame => n,NoOp()\n", "syntax"),
        ("[mine]\nexten => 1,n,NoOp()\n", "syntax"),
        ("exten => 1,1,NoOp()\n", "syntax"),
        ("[mine]\nnonsense\n", "syntax"),
        ("[mine]\nfoo => bar\n", "syntax"),
        ("[bad name]\n", "syntax"),
        ("[mine]\ninclude => elsewhere\n", "unknown-context"),
    ],
)
def test_guards_and_syntax(text, rule):
    assert rule in {p.rule for p in lint({"a.conf": text}, known_apps=APPS)}


def test_include_of_another_file_of_the_version_is_allowed():
    files = {"a.conf": "#include b.conf\n" + PROBE, "b.conf": "[other]\nexten => 1,1,NoOp()\n"}
    assert lint(files, known_apps=APPS) == []


def test_comments_are_ignored_but_escaped_semicolons_kept():
    text = PROBE + ";-- a block\n[fake]\n--;\nexten => 1,1,NoOp(a\\;b) ; Foobar()\n"
    assert problems(text) == []


def test_patterns_match_as_asterisk_does():
    assert matches("_NXX", "200") and not matches("_NXX", "100") and not matches("_NXX", "2000")
    assert matches("_X.", "12") and not matches("_X.", "1")
    assert matches("_X!", "1") and matches("_[1-3]Z", "31") and not matches("_[1-3]Z", "40")
    assert matches("probe", "probe") and not matches("probe", "probes")


def test_the_probe_extension_is_required():
    assert probe_rule({"a.conf": PROBE}) == []
    assert [p.rule for p in probe_rule({"a.conf": "[inbound]\nexten => 1,1,NoOp()\n"})] == ["no-probe"]


def test_files_names_and_text_are_validated_naming_the_field():
    assert check_files({"a.conf": "x\r\ny"}) == {"a.conf": "x\ny"}
    for bad in (
        {},
        None,
        {"../a.conf": ""},
        {"A.conf": ""},
        {"a.txt": ""},
        {"a.conf": 3},
        {"a.conf": "x\x00"},
        {"a.conf": "exten => 1,1,NoOp(\x1b)"},
    ):
        with pytest.raises(InvalidInput) as error:
            check_files(bad)
        assert error.value.details["field"] == "files"
    with pytest.raises(InvalidInput):
        check_comment("two\nlines")
    assert check_comment(None) == "" and check_comment(" why ") == "why"


def test_asterisk_messages_become_problems_at_file_and_line():
    files = {"x.conf": "[inbound]\nexten => 1,1(a),NoOp()\nexten => 1,2(a),NoOp()\n"}
    messages = [
        "[2026-01-01 00:00:00.000] WARNING[1] pbx_config.c: Unable to register extension at line 3 of /srv/i/etc/dialplans/x.conf",
        "[2026-01-01 00:00:00.000] WARNING[1] pbx.c: Extension '1' priority 2 in 'inbound', label 'a' already in use at priority 1",
        "[2026-01-01 00:00:00.000] WARNING[1] pbx.c: Context 'ccserver-agents' tries to include nonexistent context 'ccserver-routes'",
        "[2026-01-01 00:00:00.000] NOTICE[1] pbx.c: Cannot find extension",
        "[2026-01-01 00:00:00.000] WARNING[1] pbx_config.c: Invalid priority at line 2 of /srv/i/etc/dialplans/other.conf",
    ]
    found = asterisk_problems(messages, files)
    assert [(p.file, p.line, p.source) for p in found] == [("x.conf", 3, "asterisk"), ("x.conf", 1, "asterisk")]
    assert "at line 3 of" in found[0].message


def test_diff_names_each_changed_file():
    text = diff({"a.conf": "x\n", "b.conf": "y\n"}, {"a.conf": "x\nz\n", "c.conf": "w\n"})
    assert "+++ new/a.conf" in text and "+z" in text
    assert "--- running/b.conf" in text and "+++ /dev/null" in text
    assert "--- /dev/null" in text and "+++ new/c.conf" in text
    assert diff({"a.conf": "x"}, {"a.conf": "x"}) == ""
