"""IvrRegistry (activation, versions, routes) and `ccserver ivr check`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ivr_helpers import paris

from ccserver.capabilities.ivr.errors import NoSuchIvrScript
from ccserver.capabilities.ivr.loader import ValidationContext, parse_script, read_script
from ccserver.capabilities.ivr.model import CallInfo
from ccserver.capabilities.ivr.registry import IvrRegistry
from ccserver.cli import main
from ccserver.commands import demo
from ccserver.core.clock import ManualClock
from ccserver.core.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[3]
SCRIPTS = ROOT / "ivr_scripts"
QUEUES = "accueil,facturation,support-technique,commercial,rappels"
SKILLS = "facturation,internet,mobile,tv,vente"
# the demo call center's (`ccserver demo`), which the example scripts run on
DEMO_QUEUES = ",".join(q.name for q in demo.QUEUES)
DEMO_SKILLS = ",".join(demo.SKILLS)

SCRIPT = """\
script:
  name: {name}
  version: "{version}"
  entry: main
  routes:
    dids: ["{did}"]
    extensions: ["{exten}"]
nodes:
  main:
    type: queue
    queue: {queue}
"""


def text(name="sc", version="1", did="0140000000", exten="7000", queue="q1"):
    return SCRIPT.format(name=name, version=version, did=did, exten=exten, queue=queue)


# --- registry -------------------------------------------------------------------------------


def test_activate_refuses_an_invalid_script_and_keeps_the_previous_version():
    registry = IvrRegistry(ValidationContext(queues=frozenset({"q1"})))
    v1 = registry.activate_text(text(), "sc.yaml")
    with pytest.raises(InvalidInput) as info:
        registry.activate_text(text(version="2", queue="nope"), "sc.yaml")
    (error,) = info.value.details["errors"]
    assert {k: error[k] for k in ("file", "line", "node", "message")} == {
        "file": "sc.yaml",
        "line": 11,
        "node": "main",
        "message": "unknown queue 'nope' (known: q1)",
    }
    assert error["message_text"]["id"] == "unknown queue %(name)r%(known)s"  # shown in the reader's language
    assert registry.active("sc") is v1
    assert registry.history("sc") == [v1]
    v2 = registry.activate_text(text(version="2"), "sc.yaml")
    assert registry.active("sc") is v2 and registry.history("sc") == [v1, v2]


def test_activating_the_same_text_again_keeps_the_active_object():
    registry = IvrRegistry()
    v1 = registry.activate_text(text())
    assert registry.activate_text(text()) is v1
    assert len(registry.history("sc")) == 1


def test_resolve_by_did_in_any_form_by_extension_and_by_name():
    registry = IvrRegistry()
    script = registry.activate_text(text())
    assert registry.resolve(did="+33140000000") is script
    assert registry.resolve(did="33140000000") is script
    assert registry.resolve(did="0140000000") is script
    assert registry.resolve(exten="7000") is script
    assert registry.resolve(name="sc") is script
    assert registry.resolve(did="0140000001") is None
    call = registry.start_call(CallInfo("u1", did="+33140000000"), ManualClock(paris(2026, 7, 15, 10, 0)))
    assert call.script is script
    with pytest.raises(NoSuchIvrScript):
        registry.start_call(CallInfo("u2", did="0999999999", exten="1"), ManualClock(paris(2026, 7, 15, 10, 0)))


def test_a_did_can_map_to_one_active_script_only():
    registry = IvrRegistry()
    registry.activate_text(text(), "a.yaml")
    with pytest.raises(InvalidInput) as info:
        registry.activate_text(text(name="other", did="+33140000000", exten="7001"), "b.yaml")
    assert [e["message"] for e in info.value.details["errors"]] == [
        "routes: '+33140000000' already maps to the active script 'sc'"
    ]
    registry.deactivate("sc")
    registry.activate_text(text(name="other", did="+33140000000", exten="7001"), "b.yaml")
    assert registry.resolve(did="0140000000").name == "other"
    with pytest.raises(NoSuchIvrScript):
        registry.active("sc")


def test_registry_stats_are_shared_by_its_calls():
    registry = IvrRegistry()
    registry.activate_text(text())
    for n in range(3):
        registry.start_call(CallInfo(f"u{n}", exten="7000"), ManualClock(paris(2026, 7, 15, 10, 0))).start()
    assert registry.stats.script("sc").calls == 3
    assert registry.stats.script("sc").outcomes == {"queue:q1": 3}


def test_example_scripts_activate(tmp_path):
    registry = IvrRegistry(
        ValidationContext(queues=frozenset(DEMO_QUEUES.split(",")), skills=frozenset(DEMO_SKILLS.split(",")))
    )
    for path in sorted(SCRIPTS.glob("*.yaml")):
        registry.activate(read_script(path))
    assert registry.resolve(did="01 40 00 03 00".replace(" ", "")).name == "service-client"
    assert registry.resolve(exten="300").name == "service-client"
    assert registry.resolve(exten="7100").name == "astreinte"


# --- ccserver ivr check ---------------------------------------------------------------------


def _sound_dir(tmp_path: Path, skip: str = "") -> Path:
    """A sounds directory holding every sound the examples use (but `skip`)."""
    sounds = tmp_path / "sounds"
    for path in SCRIPTS.glob("*.yaml"):
        for media in re.findall(r"(?:prompt|on_timeout|on_invalid):\s*\[?([^\]\n#]+)", path.read_text()):
            for name in media.split(","):
                name = name.strip()
                if not name or name == skip:
                    continue
                target = sounds / ("fr/" + name if name.startswith("custom/") else name)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.with_name(target.name + ".wav").write_bytes(b"")
    return sounds


def test_check_passes_on_the_example_scripts(capsys, tmp_path):
    sounds = _sound_dir(tmp_path)
    code = main(
        [
            "ivr",
            "check",
            str(SCRIPTS / "service-client.yaml"),
            str(SCRIPTS / "astreinte.yaml"),
            "--queues",
            DEMO_QUEUES,
            "--skills",
            DEMO_SKILLS,
            "--sounds-dir",
            str(sounds),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "OK: 2 script(s) valid" in out
    assert "not checked" not in err


def test_shipped_scripts_pass_the_check_with_the_demo_queues_and_skills(capsys):
    """`ccserver ivr check ivr_scripts/*.yaml` with the lists of the demo call center: the
    scripts as shipped run on the demo (the prompt files are checked against the real Asterisk
    sounds in tests/integration/test_ivr_to_agent.py)."""
    files = [str(p) for p in sorted(SCRIPTS.glob("*.yaml"))]
    code = main(["ivr", "check", *files, "--queues", DEMO_QUEUES, "--skills", DEMO_SKILLS])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert f"OK: {len(files)} script(s) valid" in out
    assert "not checked: prompt files" in err and "queues" not in err.split("not checked:")[1]


def test_check_on_a_directory_without_lists_says_what_it_did_not_check(capsys):
    assert main(["ivr", "check", str(SCRIPTS)]) == 0
    out, err = capsys.readouterr()
    assert "OK:" in out and "not checked: prompt files, queues, skills" in err


def test_check_reports_a_missing_prompt_file(capsys, tmp_path):
    sounds = _sound_dir(tmp_path, skip="vm-reachoper")
    code = main(["ivr", "check", str(SCRIPTS / "service-client.yaml"), "--sounds-dir", str(sounds)])
    out, _err = capsys.readouterr()
    assert code == 1
    line = next(
        n for n, t in enumerate((SCRIPTS / "service-client.yaml").read_text().splitlines(), 1) if "vm-reachoper" in t
    )
    assert out.splitlines() == [
        f"{SCRIPTS / 'service-client.yaml'}:{line}: node menu_principal: missing prompt file 'vm-reachoper'"
    ]


def test_check_on_a_broken_script_prints_file_line_node(capsys, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("""\
script:
  name: broken
  entry: menu
nodes:
  menu:
    type: menu
    prompt: custom/menu
    choices:
      "1": billing
      "2": nowhere
  billing:
    type: queue
    queue: unknown-queue
  orphan:
    type: hangup
""")
    code = main(["ivr", "check", str(broken), "--queues", QUEUES])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == [
        f"{broken}:10: node menu: unknown node 'nowhere' in 'choices.2'",
        f"{broken}:13: node billing: unknown queue 'unknown-queue' (known: accueil, commercial, "
        f"facturation, rappels, support-technique)",
        f"{broken}:14: node orphan: unreachable node: no path leads here from the entry 'menu'",
    ]
    assert "3 error(s) in 1 file(s)" in err


# --- purity ---------------------------------------------------------------------------------


def test_script_objects_are_immutable():
    script = parse_script(text())
    with pytest.raises(Exception):
        script.entry = "other"  # type: ignore[misc]
    with pytest.raises(Exception):
        script.nodes["main"].queue = "x"  # type: ignore[misc]
