"""IvrService without Asterisk: loading and uploading scripts (errors with file, line, node),
the generated dialplan, prompt files inside a chroot, statistics per version and their flush."""

from __future__ import annotations

import asyncio
import os
import textwrap
from pathlib import Path

import pytest
from ivr_helpers import paris

from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.capabilities.ivr.model import CallInfo
from ccserver.capabilities.ivr.service import (
    IvrService,
    asterisk_prompt_checker,
    did_forms,
    render_ivr_dialplan,
    resolve_in_root,
    stats_tree,
)
from ccserver.core.clock import ManualClock
from ccserver.core.errors import InvalidInput

ONE = textwrap.dedent("""\
    script:
      name: one
      version: "1"
      entry: menu
      routes:
        dids: ["+33140000000"]
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


class Writer:
    def __init__(self) -> None:
        self.files: dict[str, str] = {}

    def write_generated(self, filename: str, text: str) -> None:
        self.files[filename] = text


class Store:
    def __init__(self) -> None:
        self.rows: dict = {}
        self.fail = False
        self.writes = 0

    def add(self, deltas, at):
        if self.fail:
            raise OSError("database down")
        self.writes += 1
        for key, value in deltas.items():
            self.rows[key] = self.rows.get(key, 0) + value
        return len(deltas)

    def totals(self, script=None):
        return {k: v for k, v in self.rows.items() if script is None or k[0] == script}


def make(tmp_path: Path, files: dict[str, str], **kwargs) -> IvrService:
    scripts = tmp_path / "ivr_scripts"
    scripts.mkdir(exist_ok=True)
    for name, text in files.items():
        (scripts / name).write_text(text)
    reloads = []

    async def reload() -> bool:
        reloads.append(1)
        return True

    service = IvrService(
        scripts_dir=scripts,
        clock=ManualClock(paris(2026, 7, 15, 10, 0)),
        ari_app="ccs",
        config_writer=Writer(),
        reload_dialplan=reload,
        **kwargs,
    )
    service.reloads = reloads  # type: ignore[attr-defined]
    return service


async def test_load_activates_valid_scripts_and_keeps_the_errors_of_the_others(tmp_path):
    broken = (
        ONE.replace("name: one", "name: two")
        .replace('"+33140000000"', '"0170000000"')
        .replace('"7000"', '"7001"')
        .replace('"1": {next: q, label: Ventes}', '"1": {next: q, label: Ventes}\n      "2": {next: nowhere}')
    )
    service = make(tmp_path, {"one.yaml": ONE, "two.yaml": broken})
    report = await service.load_all()
    assert report.activated == ["one"]
    [issue] = service.load_issues["ivr_scripts/two.yaml"]
    assert (issue.file, issue.node) == ("ivr_scripts/two.yaml", "menu")
    assert issue.line == 14 and "nowhere" in issue.message
    text = service.config_writer.files["extensions_ivr.conf"]
    assert "exten => 0140000000,1,Stasis(ccs,ivr,one,did)" in text
    assert service.dialplan_applied and service.reloads == [1]


async def test_queue_and_skill_names_come_from_the_source_given(tmp_path):
    service = make(tmp_path, {"one.yaml": ONE}, queue_names=lambda: ["accueil"])
    await service.load_all()
    assert service.registry.names() == []
    [issue] = service.load_issues["ivr_scripts/one.yaml"]
    assert issue.node == "q" and issue.message.startswith("unknown queue 'ventes'")


async def test_script_naming_a_queue_created_later_is_activated_when_the_queues_change(tmp_path):
    """The ACD tells its queue listeners the definitions each time it applies them: a new queue
    name reloads the scripts, without a manual reload."""
    queues = ["accueil"]
    service = make(tmp_path, {"one.yaml": ONE}, queue_names=lambda: list(queues))
    service.on_queues_applied([QueueDefinition(name="accueil")])  # before the first load
    assert service.queue_reloads == 0
    await service.load_all()
    assert service.registry.names() == [] and "ivr_scripts/one.yaml" in service.load_issues
    service.on_queues_applied([QueueDefinition(name="accueil")])  # same queues: nothing to do
    assert service.queue_reloads == 0

    queues.append("ventes")  # saved by the ACD, then applied
    service.on_queues_applied([QueueDefinition(name="accueil"), QueueDefinition(name="ventes")])
    service.on_queues_applied([QueueDefinition(name="accueil"), QueueDefinition(name="ventes")])
    assert service.queue_reloads == 1
    await asyncio.gather(*service._queue_reloads)
    assert service.registry.names() == ["one"] and service.load_issues == {}
    assert "exten => 7000,1,Stasis(ccs,ivr,one,exten)" in service.config_writer.files["extensions_ivr.conf"]
    assert service.dialplan_applied and len(service.reloads) == 2
    await service.stop()


async def test_upload_with_errors_is_refused_and_nothing_changes(tmp_path):
    service = make(tmp_path, {"one.yaml": ONE})
    await service.load_all()
    bad = ONE.replace('version: "1"', 'version: "2"').replace("queue: ventes", "queue: [x]")
    with pytest.raises(InvalidInput) as caught:
        await service.upload(bad, "one.yaml", "admin")
    [error] = caught.value.details["errors"]
    assert error["file"] == "one.yaml" and error["node"] == "q" and error["line"] == 16
    assert service.registry.active("one").version == "1"
    assert (tmp_path / "ivr_scripts" / "one.yaml").read_text() == ONE


async def test_upload_of_a_route_another_script_owns_is_refused(tmp_path):
    service = make(tmp_path, {"one.yaml": ONE})
    await service.load_all()
    other = ONE.replace("name: one", "name: other").replace('dids: ["+33140000000"]', 'dids: ["0140000000"]')
    with pytest.raises(InvalidInput) as caught:
        await service.upload(other, "other.yaml")
    assert "already maps" in caught.value.details["errors"][0]["message"]


async def test_upload_stores_a_version_activates_and_rewrites_the_routes(tmp_path):
    """An upload becomes a stored version of its script; the file of ivr_scripts/ is left as
    it is (the database is the truth, the files only seed it)."""
    service = make(tmp_path, {"one.yaml": ONE})
    await service.load_all()
    call = service.start_call(CallInfo("u1", exten="7000"))
    v2 = ONE.replace('version: "1"', 'version: "2"').replace('["7000"]', '["7001"]')
    active = await service.upload(v2, "renamed.yaml", "admin", "new extension")
    assert active.version == "2" and active.revision == 2 and active.file == "ivr_scripts/one.yaml"
    assert (tmp_path / "ivr_scripts" / "one.yaml").read_text() == ONE  # the seed file is untouched
    assert not (tmp_path / "ivr_scripts" / "renamed.yaml").exists()
    assert call.script.version == "1"  # the call in progress keeps its version
    assert service.start_call(CallInfo("u2", exten="7001")).script.version == "2"
    assert "exten => 7001,1," in service.config_writer.files["extensions_ivr.conf"]
    [overview] = await service.overview()
    assert [h["version"] for h in overview["history"]] == ["2", "1"]
    assert [(h["author"], h["comment"]) for h in overview["history"]] == [
        ("admin", "new extension"),
        ("file", "read from ivr_scripts/one.yaml"),
    ]


async def test_removed_file_leaves_its_stored_script_running(tmp_path):
    """Removing a seed file removes nothing: the database keeps the script and its versions."""
    service = make(tmp_path, {"one.yaml": ONE})
    await service.load_all()
    (tmp_path / "ivr_scripts" / "one.yaml").unlink()
    await service.load_all()
    assert service.registry.names() == ["one"]
    assert "Stasis(ccs,ivr,one,exten)" in service.config_writer.files["extensions_ivr.conf"]


async def test_two_files_with_one_script_name_are_reported(tmp_path):
    service = make(tmp_path, {"a.yaml": ONE, "b.yaml": ONE.replace('"7000"', '"7002"')})
    await service.load_all()
    assert "also used by ivr_scripts/a.yaml" in service.load_issues["ivr_scripts/b.yaml"][0].message


def test_dialplan_routes_every_form_of_a_did_and_the_extensions():
    assert did_forms("+33140000000") == ["+33140000000", "33140000000", "0140000000"]
    assert did_forms("0170000000") == ["0170000000", "+33170000000", "33170000000"]
    assert did_forms("12") == ["12"]
    from ccserver.capabilities.ivr.loader import parse_script

    text = render_ivr_dialplan([parse_script(ONE, "one.yaml")], "app1", fallback_queue="accueil")
    assert text.index("[ccserver-ivr-routes]") < text.index("[ccserver-ivr-fallback]")
    for exten, kind in (("+33140000000", "did"), ("0140000000", "did"), ("7000", "exten")):
        assert f"exten => {exten},1,Stasis(app1,ivr,one,{kind})\n same => n,Goto(ccserver-ivr-fallback,s,1)" in text
    assert "GotoIf($[${DIALPLAN_EXISTS(ccq-accueil,open,1)}]?ccq-accueil,open,1)" in text
    assert "[ccserver-ivr-voicemail]" in text and "[ccserver-ivr-transfer]" in text


def test_paths_inside_a_chroot_follow_its_links(tmp_path):
    root = tmp_path / "root"
    real = root / "usr/share/asterisk/sounds/en_US_f_Allison"
    real.mkdir(parents=True)
    (real / "hello.gsm").write_text("x")
    (root / "etc/alternatives").mkdir(parents=True)
    os.symlink("/usr/share/asterisk/sounds/en_US_f_Allison", root / "etc/alternatives/prompt-en")
    os.symlink("/etc/alternatives/prompt-en", root / "usr/share/asterisk/sounds/en")
    (root / "usr/local/share/asterisk/sounds").mkdir(parents=True)
    (root / "usr/local/share/asterisk/sounds/bienvenue.wav").write_text("x")
    os.symlink("../../../local/share/asterisk/sounds", root / "usr/share/asterisk/sounds/custom")
    assert resolve_in_root(root, "/usr/share/asterisk/sounds/en/hello.gsm") == real / "hello.gsm"
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    (recordings / "annonce.wav").write_text("x")
    exists = asterisk_prompt_checker("/usr/share/asterisk/sounds", recordings, root)
    assert exists("sound:hello")  # found through sounds/en -> /etc/alternatives -> ...
    assert exists("sound:custom/bienvenue")
    assert not exists("sound:custom/absent") and not exists("sound:nothing")
    assert exists("recording:annonce") and not exists("recording:other")
    assert exists("digits:123")


async def test_statistics_are_counted_per_version_and_flushed_as_deltas(tmp_path):
    store = Store()
    service = make(tmp_path, {"one.yaml": ONE}, stats_store=store)
    await service.load_all()
    call = service.start_call(CallInfo("u1", exten="7000"))
    call.start()
    call.dtmf("1")
    assert await service.flush_stats() > 0
    key = ("one", "1")
    assert store.rows[(*key, "", "calls")] == 1
    assert store.rows[(*key, "menu", "choice:1")] == 1
    assert store.rows[(*key, "", "outcome:queue:ventes")] == 1
    assert await service.flush_stats() == 0  # nothing new
    await service.upload(ONE.replace('version: "1"', 'version: "2"'), "one.yaml")
    store.fail = True
    call2 = service.start_call(CallInfo("u2", exten="7000"))
    call2.start()
    call2.hangup()
    assert await service.flush_stats() == 0  # kept in memory
    store.fail = False
    await service.flush_stats()
    assert store.rows[("one", "2", "menu", "hangups")] == 1
    assert store.rows[(*key, "", "calls")] == 1
    tree = await service.stats_report()
    assert tree["one"]["1"]["nodes"]["menu"]["choices"] == {"1": 1}
    assert tree["one"]["2"]["outcomes"] == {"caller_hangup": 1}


def test_stats_tree_groups_counters():
    tree = stats_tree({("s", "1", "", "calls"): 2, ("s", "1", "m", "choice:#"): 1, ("s", "1", "m", "timeouts"): 3})
    assert tree == {
        "s": {
            "1": {
                "calls": 2,
                "outcomes": {},
                "nodes": {
                    "m": {
                        "entered": 0,
                        "timeouts": 3,
                        "invalid": 0,
                        "exhausted": 0,
                        "hangups": 0,
                        "errors": 0,
                        "choices": {"#": 1},
                    }
                },
            }
        }
    }


async def test_dialplan_applied_means_asterisk_has_the_routes_of_the_registry_as_it_is_now(tmp_path):
    """A flag left true by an earlier version of the registry let a test (and a caller) reach a
    number whose route was not loaded yet: 'applied' follows the registry's current routes."""
    from ccserver.capabilities.ivr.loader import parse_script

    service = make(tmp_path, {"one.yaml": ONE})
    await service.load_all()
    assert service.dialplan_applied and len(service.reloads) == 1
    two = ONE.replace("name: one", "name: two").replace('"+33140000000"', '"0170000000"').replace('"7000"', '"7001"')
    # the scripts change (as when they are reloaded once per queue created): until the new
    # routes are written and reloaded, Asterisk does not have them
    service.registry.activate(parse_script(two, "ivr_scripts/two.yaml"), await service.validation_context())
    assert not service.dialplan_applied
    assert await service.apply_dialplan()
    assert service.dialplan_applied and len(service.reloads) == 2
    assert "exten => 7001,1,Stasis(ccs,ivr,two,exten)" in service.config_writer.files["extensions_ivr.conf"]
