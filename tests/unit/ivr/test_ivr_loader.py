"""The script reader and validator: every error kind, with its line and node."""

from __future__ import annotations

import textwrap

import pytest
from ivr_helpers import issues_of, script_from

from ccserver.capabilities.ivr.loader import (
    ValidationContext,
    check_files,
    external_number,
    load_script,
    normalize_did,
    parse_prompt,
    parse_script,
)
from ccserver.capabilities.ivr.model import (
    CollectNode,
    DialplanTarget,
    HoursNode,
    MenuNode,
    QueueNode,
    TransferNode,
)
from ccserver.core.errors import InvalidInput

OK = """\
script:
  name: ok
  entry: main
  fallback: op
nodes:
  main:
    type: menu
    prompt: custom/main
    choices:
      "1": q
      "2": op
  q:
    type: queue
    queue: billing
    skills: {fr: 2}
  op:
    type: queue
    queue: reception
"""


def where(issues):
    """(line, node, start of message) of each issue."""
    return [(i.line, i.node, i.message) for i in issues]


def one(issues, text):
    found = [i for i in issues if text in i.message]
    assert len(found) == 1, "\n".join(map(str, issues))
    return found[0]


def test_valid_script_is_read_with_every_field():
    script = script_from(OK)
    assert script.name == "ok" and script.entry == "main" and script.fallback_node == "op"
    menu = script.nodes["main"]
    assert isinstance(menu, MenuNode)
    assert [(c.key, c.next) for c in menu.choices] == [("1", "q"), ("2", "op")]
    assert menu.line == 6 and menu.line_of("choices.2") == 11
    assert isinstance(script.nodes["q"], QueueNode) and script.nodes["q"].skills == (("fr", 2),)
    assert script.digest


def test_issue_is_printed_as_file_line_node_message():
    issues = issues_of(OK.replace("queue: billing", "queue: billing\n    colour: red"), file="ivr_scripts/x.yaml")
    assert [str(i) for i in issues] == ["ivr_scripts/x.yaml:15: node q: unknown field 'colour' for a queue node"]


def test_yaml_syntax_error_has_its_line():
    issues = issues_of("script:\n  name: x\nnodes:\n  a: [unclosed\n")
    assert len(issues) == 1 and "not valid YAML" in issues[0].message
    assert issues[0].line >= 4


def test_unknown_node_type():
    issue = one(
        issues_of(OK.replace("type: queue\n    queue: billing", "type: queu\n    queue: billing")), "unknown node type"
    )
    assert (issue.line, issue.node) == (13, "q")
    assert "'queu'" in issue.message


def test_missing_field_and_wrong_types():
    issues = issues_of("""\
        script: {name: t, entry: m}
        nodes:
          m:
            type: menu
            choices: {"1": b}
            timeout: soon
            retries: 1.5
          b:
            type: play
            prompt: [custom/x]
            next: c
            interruptible: maybe
          c:
            type: queue
            queue: [a, b]
    """)
    assert where(issues) == [
        (3, "m", "missing field 'prompt' for a menu node"),
        (6, "m", "field 'timeout' must be a number"),
        (7, "m", "field 'retries' must be a whole number"),
        (12, "b", "field 'interruptible' must be true or false"),
        (15, "c", "field 'queue' must be a text, not a list"),
    ]


def test_reference_to_unknown_node_names_the_field_line():
    issues = issues_of(OK.replace('"2": op', '"2": nowhere'))
    issue = one(issues, "unknown node 'nowhere'")
    assert (issue.line, issue.node) == (11, "main")
    assert "choices.2" in issue.message
    issue = one(issues_of(OK.replace("entry: main", "entry: mian")), "entry: unknown node")
    assert issue.line == 3 and issue.node is None


def test_unreachable_node():
    issues = issues_of(OK + "  lost:\n    type: hangup\n")
    issue = one(issues, "unreachable")
    assert (issue.line, issue.node) == (19, "lost")


def test_loop_without_exit():
    issues = issues_of("""\
        script: {name: t, entry: a}
        nodes:
          a:
            type: play
            prompt: custom/a
            next: b
          b:
            type: menu
            prompt: custom/b
            choices: {"1": a, "2": b}
            on_exhausted: a
    """)
    issue = one(issues, "loop without exit")
    assert (issue.line, issue.node) == (3, "a")
    assert "a -> b -> a" in issue.message


def test_menu_with_retries_and_a_way_out_is_not_a_loop():
    # a menu that repeats itself and a sub-menu going back: exits exist
    script_from("""\
        script: {name: t, entry: a}
        nodes:
          a:
            type: menu
            prompt: custom/a
            retries: 3
            choices: {"*": a, "1": sub, "2": q}
          sub:
            type: menu
            prompt: custom/sub
            choices: {"*": a}
          q: {type: queue, queue: q}
    """)


def test_loop_without_pause():
    issues = issues_of("""\
        script: {name: t, entry: h}
        nodes:
          h:
            type: hours
            schedule: {mon-fri: "08:00-18:00"}
            open: again
            closed: bye
          again: {type: goto, next: h}
          bye: {type: hangup}
    """)
    issue = one(issues, "loop without pause")
    assert (issue.line, issue.node) == (3, "h")
    assert "h -> again -> h" in issue.message


def test_missing_prompt_file():
    existing = {"sound:custom/main"}
    context = ValidationContext(prompt_exists=existing.__contains__)
    text = OK.replace("prompt: custom/main", 'prompt: [custom/main, custom/missing, "digits:42", recording:gone]')
    issues = issues_of(text, context)
    assert where(issues) == [
        (8, "main", "missing prompt file 'custom/missing'"),
        (8, "main", "missing prompt file 'gone' (stored recording)"),
    ]
    multi_line = OK.replace("prompt: custom/main", "prompt:\n      - custom/main\n      - custom/missing")
    assert [i.line for i in issues_of(multi_line, context)] == [10]  # the item's own line


def test_unknown_queue_and_skill():
    context = ValidationContext(queues=frozenset({"billing"}), skills=frozenset({"en"}))
    issues = issues_of(OK, context)
    assert where(issues) == [
        (15, "q", "unknown skill 'fr' (known: en)"),
        (18, "op", "unknown queue 'reception' (known: billing)"),
    ]


def test_a_language_asterisk_has_no_sounds_for_is_an_error_at_its_line():
    context = ValidationContext(languages=frozenset({"en", "fr"}))
    text = """\
        script:
          name: t
          entry: s
          language: de
        nodes:
          s:
            type: set
            language: es
            next: bye
          bye: {type: hangup}
    """
    issues = issues_of(text, context)
    assert where(issues) == [
        (4, None, "language: Asterisk has no sounds in 'de' (installed: en, fr)"),
        (8, "s", "language: Asterisk has no sounds in 'es' (installed: en, fr)"),
    ]
    assert all(i.file == "t.yaml" for i in issues)
    assert (
        issues_of(text.replace("language: de", "language: fr").replace("language: es", "language: en"), context) == []
    )
    # not checked when the installed languages are unknown; a script naming none takes the default
    assert issues_of(text, ValidationContext()) == []
    undeclared = "".join(line for line in text.splitlines(True) if "language: de" not in line)
    assert issues_of(undeclared.replace("language: es", "language: en"), context) == []


def test_bad_regex_bad_validator_and_bad_terminator():
    issues = issues_of("""\
        script: {name: t, entry: c}
        nodes:
          c:
            type: collect
            prompt: custom/c
            pattern: "[0-9"
            terminator: #
            next: d
          d:
            type: collect
            prompt: custom/d
            validate: iban
            min_digits: 9
            max_digits: 4
            next: e
          e:
            type: collect
            prompt: custom/e
            validate: date
            max_digits: 6
            next: f
          f: {type: hangup}
    """)
    assert where(issues) == [
        (6, "c", "bad regex '[0-9': unterminated character set at position 0"),
        (
            7,
            "c",
            "field 'terminator' is empty (write \"#\" in quotes: YAML reads an unquoted "
            "# as a comment; 'none' for no terminator)",
        ),
        (12, "d", "field 'validate': 'iban' is not one of digits, customer_number, date, regex"),
        (14, "d", "max_digits is smaller than min_digits"),
        (20, "e", "max_digits is smaller than min_digits"),
        (20, "e", "a date is typed as 8 digits (DDMMYYYY)"),
    ]


def test_bad_dtmf_keys_and_duplicate_keys():
    issues = issues_of("""\
        script: {name: t, entry: m}
        nodes:
          m:
            type: menu
            prompt: custom/m
            prompt: custom/again
            choices:
              "1": q
              12: q
              "A": q
              1: q
          q: {type: queue, queue: q}
          q: {type: hangup}
    """)
    assert where(issues) == [
        (6, "m", "duplicate key 'prompt' (first at line 5)"),
        (9, "m", "bad DTMF key '12' in 'choices' (one of 0-9, \"*\", \"#\"; quote * and #)"),
        (10, "m", "bad DTMF key 'A' in 'choices' (one of 0-9, \"*\", \"#\"; quote * and #)"),
        (11, "m", "duplicate DTMF key '1' in 'choices' (first at line 8)"),
        (13, "q", "duplicate node id (first at line 12)"),
    ]


def test_every_error_is_reported_not_only_the_first():
    issues = issues_of("""\
        script:
          name: "bad name!"
          entry: start
          fallback: nowhere
          routes: {dids: [abc], extensions: ["7000", "7000"]}
          colour: blue
        nodes:
          start:
            type: menu
            prompt: custom/menu.wav
            choices: {"1": missing}
          orphan: {type: teleport}
          t: {type: transfer, number: "12"}
          h:
            type: hours
            timezone: Mars/Olympus
            schedule: {mon-frei: "08:00-18:00", sat: "18:00-08:00"}
            closed_dates: ["2026-13-01"]
            open: t
            closed: t
    """)
    assert len(issues) >= 13, "\n".join(map(str, issues))
    messages = "\n".join(map(str, issues))
    for text in (
        "t.yaml:2: script: field 'name': 'bad name!' is not valid",
        "t.yaml:4: script: fallback: unknown node 'nowhere'",
        "t.yaml:5: script: routes: bad did 'abc'",
        "t.yaml:5: script: routes: '7000' is listed twice",
        "t.yaml:6: script: unknown field 'colour' for the script header",
        "t.yaml:10: node start: field 'prompt': write the sound 'custom/menu.wav' without its file extension",
        "t.yaml:11: node start: unknown node 'missing' in 'choices.1'",
        "t.yaml:12: node orphan: unknown node type 'teleport'",
        "t.yaml:12: node orphan: unreachable node",
        "t.yaml:13: node t: field 'number': '12' is not a valid phone number",
        "t.yaml:16: node h: unknown time zone 'Mars/Olympus'",
        "t.yaml:17: node h: schedule: bad days 'mon-frei'",
        "t.yaml:17: node h: schedule sat: bad time range '18:00-08:00'",
        "t.yaml:18: node h: closed_dates: bad date '2026-13-01'",
    ):
        assert text in messages, messages


def test_unknown_variables_are_refused():
    issues = issues_of("""\
        script: {name: t, entry: a}
        nodes:
          a: {type: set, data: {x: "{nope}"}, next: b}
          b: {type: play, prompt: "digits:{x}", next: c}
          c: {type: lookup, from: collected, variable: num, found: d, not_found: d}
          d: {type: play, prompt: "characters:{customer.name}", next: e}
          e: {type: hangup}
    """)
    assert where(issues) == [
        (3, "a", "unknown variable {nope} (no collect node stores it, no set node sets it)"),
        (5, "c", "no collect node stores 'num'"),
    ]


def test_prompts_are_parsed_to_media_uris():
    assert parse_prompt("custom/bienvenue") == ("sound:custom/bienvenue", None)
    assert parse_prompt("recording:annonce-noel") == ("recording:annonce-noel", None)
    assert parse_prompt("digits:{customer_number}")[0] == "digits:{customer_number}"
    assert parse_prompt("number:12")[0] == "number:12"
    assert "unknown prompt kind" in parse_prompt("video:x")[1]
    assert "bad sound name" in parse_prompt("../etc/passwd")[1]
    assert "bad digits prompt" in parse_prompt("digits:12a")[1]


def test_numbers_are_read_as_written_not_as_yaml_numbers():
    script = script_from("""\
        script:
          name: t
          entry: a
          routes: {dids: [0140000000, +33170000000], extensions: [7000]}
        nodes:
          a: {type: transfer, number: 0612345678}
    """)
    assert script.dids == ("0140000000", "+33170000000")
    assert script.extensions == ("7000",)
    assert isinstance(script.nodes["a"], TransferNode)
    assert script.nodes["a"].number == "+33612345678"


def test_phone_number_helpers():
    assert external_number("+44 20 7946 0958") == "+442079460958"
    assert external_number("01 40 00 00 00") == "+33140000000"
    assert external_number("112") is None and external_number("abc") is None
    assert (
        normalize_did("0140000000") == normalize_did("+33140000000") == normalize_did("33140000000") == "+33140000000"
    )
    assert normalize_did("7000") == "7000"


def test_defaults_and_options():
    script = script_from("""\
        script:
          name: t
          entry: c
          language: en
          fallback: {context: ivr-fb, exten: "9", priority: 2}
        nodes:
          c:
            type: collect
            prompt: custom/c
            validate: customer_number
            checksum: luhn
            terminator: none
            next: h
          h:
            type: hours
            schedule: {"lun-ven": ["08:30-12:30", "13:30-18:00"], "sat,sun": closed}
            holidays: false
            open: e
            closed: e
          e: {type: hangup}
    """)
    assert script.language == "en"
    assert script.fallback_dialplan == DialplanTarget("ivr-fb", "9", 2)
    collect = script.nodes["c"]
    assert isinstance(collect, CollectNode)
    assert (
        collect.min_digits,
        collect.max_digits,
        collect.terminator,
        collect.store_as,
        collect.retries,
        collect.timeout,
    ) == (8, 8, None, "c", 2, 5.0)
    hours = script.nodes["h"]
    assert isinstance(hours, HoursNode)
    assert hours.holidays_country is None
    assert hours.schedule[0] == ((510, 750), (810, 1080)) and hours.schedule[5] == ()


def test_load_script_raises_invalid_input_with_every_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(OK.replace('"2": op', '"2": nowhere').replace("queue: billing", "queue: [x]"))
    with pytest.raises(InvalidInput) as info:
        load_script(path)
    errors = info.value.details["errors"]
    assert [(e["line"], e["node"]) for e in errors] == [(11, "main"), (14, "q")]
    assert info.value.details["file"] == str(path)
    good = tmp_path / "good.yaml"
    good.write_text(OK)
    assert load_script(good).name == "ok"


def test_unreadable_file_is_an_issue(tmp_path):
    scripts, issues = check_files([tmp_path / "missing.yaml"])
    assert len(issues) == 1 and "cannot read" in issues[0].message


def test_routes_and_names_must_be_unique_across_files(tmp_path):
    first = tmp_path / "a.yaml"
    first.write_text(OK.replace("  fallback: op\n", '  fallback: op\n  routes: {dids: ["0140000000"]}\n'))
    second = tmp_path / "b.yaml"
    second.write_text(
        OK.replace("name: ok", "name: other").replace(
            "  fallback: op\n", '  fallback: op\n  routes:\n    dids: ["+33140000000"]\n'
        )
    )
    third = tmp_path / "c.yaml"
    third.write_text(OK)
    _scripts, issues = check_files([tmp_path])
    assert [str(i) for i in issues] == [
        f"{second}:6: script: routes: '+33140000000' already maps to script 'ok' ({first})",
        f"{third}:2: script: script name 'ok' is also used by {first}",
    ]


def test_parse_never_raises_on_garbage():
    for text in (
        "",
        "just text",
        "- a\n- b\n",
        "script: 3\nnodes: 4\n",
        "nodes:\n  a: 3\n",
        textwrap.dedent("""\
                 script: {name: x, entry: a}
                 nodes:
                   a: {type: menu, prompt: x, choices: [1, 2]}
                 """),
    ):
        script = parse_script(text)
        assert script.parse_issues
