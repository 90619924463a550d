"""IVR script versions (issue 13 item 5): the files seed the store, uploads and rollbacks add
versions (never rewriting one), the active versions run again after a restart, an invalid
script or a rollback to a version that no longer validates is refused and the running version
stays; history, diff, audit, and changes made by another process picked up by `sync`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from ivr_helpers import paris

from ccserver.capabilities.ivr.errors import NoSuchIvrScript, NoSuchIvrVersion
from ccserver.capabilities.ivr.model import CallInfo
from ccserver.capabilities.ivr.service import IvrService, MemoryVersionStore
from ccserver.core.clock import ManualClock
from ccserver.core.errors import Conflict, InvalidInput

ONE = textwrap.dedent("""\
    script:
      name: one
      version: "1"
      entry: menu
      routes:
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
TWO = ONE.replace('version: "1"', 'version: "2"').replace('["7000"]', '["7001"]')
THREE = ONE.replace('version: "1"', 'version: "3"').replace("queue: ventes", "queue: support")


class Writer:
    def __init__(self) -> None:
        self.files: dict[str, str] = {}

    def write_generated(self, filename: str, text: str) -> None:
        self.files[filename] = text


class Audit:
    def __init__(self) -> None:
        self.entries: list[tuple] = []

    def __call__(self, actor, action, target, **details):
        self.entries.append((actor, action, target, details))


def make(
    tmp_path: Path, store: MemoryVersionStore, queues: list[str], files: dict[str, str] | None = None
) -> IvrService:
    """A service as the server builds it at start: the same `store` plays the database kept
    across restarts."""
    scripts = tmp_path / "ivr_scripts"
    scripts.mkdir(exist_ok=True)
    for name, text in (files or {}).items():
        (scripts / name).write_text(text)

    async def reload() -> bool:
        return True

    return IvrService(
        scripts_dir=scripts,
        clock=ManualClock(paris(2026, 7, 15, 10, 0)),
        ari_app="ccs",
        versions=store,
        config_writer=Writer(),
        reload_dialplan=reload,
        queue_names=lambda: list(queues),
        audit=Audit(),
    )


def routes(service: IvrService) -> str:
    return service.config_writer.files["extensions_ivr.conf"]


async def test_a_fresh_install_is_seeded_from_the_files(tmp_path):
    store = MemoryVersionStore()
    service = make(tmp_path, store, ["ventes"], {"one.yaml": ONE})
    report = await service.load_all()
    assert report.activated == ["one"]
    [v1] = await service.history("one")
    assert (v1.number, v1.origin, v1.author, v1.file, v1.label, v1.active) == (
        1, "file", "file", "ivr_scripts/one.yaml", "1", True,
    )  # fmt: skip
    assert v1.comment == "read from ivr_scripts/one.yaml"
    assert service.registry.active("one").revision == 1
    await service.load_all()  # the same file again: nothing new
    assert len(await service.history("one")) == 1


async def test_an_uploaded_version_survives_a_restart_while_the_seed_file_is_unchanged(tmp_path):
    store = MemoryVersionStore()
    service = make(tmp_path, store, ["ventes"], {"one.yaml": ONE})
    await service.load_all()
    await service.upload(TWO, "one.yaml", "alice", "7001 instead of 7000")

    restarted = make(tmp_path, store, ["ventes"])  # same store ("database"), same files
    await restarted.start()
    running = restarted.registry.active("one")
    assert (running.version, running.revision) == ("2", 2)
    assert "exten => 7001,1,Stasis(ccs,ivr,one,exten)" in routes(restarted)
    assert "exten => 7000," not in routes(restarted)
    assert restarted.start_call(CallInfo("u1", exten="7001")).script.revision == 2
    assert [v.number for v in await restarted.history("one")] == [2, 1]
    await restarted.stop()


async def test_an_edited_file_becomes_the_next_version_at_reload(tmp_path):
    store = MemoryVersionStore()
    service = make(tmp_path, store, ["ventes"], {"one.yaml": ONE})
    await service.load_all()
    await service.upload(TWO, "one.yaml", "alice")
    (tmp_path / "ivr_scripts" / "one.yaml").write_text(ONE.replace("prompt: hello", "prompt: welcome"))
    await service.load_all()
    latest = (await service.history("one"))[0]
    assert (latest.number, latest.origin, latest.author) == (3, "file", "file")
    assert service.registry.active("one").revision == 3


async def test_an_invalid_upload_never_becomes_a_version(tmp_path):
    store = MemoryVersionStore()
    service = make(tmp_path, store, ["ventes"], {"one.yaml": ONE})
    await service.load_all()
    with pytest.raises(InvalidInput) as caught:
        await service.upload(ONE.replace("queue: ventes", "queue: nowhere"), "one.yaml", "alice")
    [error] = caught.value.details["errors"]
    assert (error["file"], error["line"], error["node"]) == ("one.yaml", 15, "q")
    assert "unknown queue 'nowhere'" in error["message"]
    assert len(store.versions("one")) == 1 and service.registry.active("one").revision == 1
    assert service.audit.entries == []


async def test_uploading_the_running_content_again_stores_nothing(tmp_path):
    store = MemoryVersionStore()
    service = make(tmp_path, store, ["ventes"], {"one.yaml": ONE})
    await service.load_all()
    same = await service.upload(ONE, "one.yaml", "alice")
    assert same.revision == 1 and len(store.versions("one")) == 1


async def test_rollback_copies_the_old_content_into_a_new_version_and_runs_it(tmp_path):
    store = MemoryVersionStore()
    service = make(tmp_path, store, ["ventes"], {"one.yaml": ONE})
    await service.load_all()
    await service.upload(TWO, "one.yaml", "alice", "new extension")
    call = service.start_call(CallInfo("u1", exten="7001"))
    active = await service.rollback("one", 1, "bob", "callers still dial 7000")
    assert (active.version, active.revision) == ("1", 3)
    history = await service.history("one")
    assert [(v.number, v.origin, v.rollback_of, v.author, v.active) for v in history] == [
        (3, "rollback", 1, "bob", True),
        (2, "upload", None, "alice", False),
        (1, "file", None, "file", False),
    ]
    assert history[0].content == history[2].content == ONE and history[1].content == TWO  # never rewritten
    assert history[0].comment == "callers still dial 7000"
    assert "exten => 7000,1,Stasis(ccs,ivr,one,exten)" in routes(service) and "7001" not in routes(service)
    assert call.script.revision == 2  # the call in progress keeps the version it started with
    assert [(a, act, t, d["version"], d["rollback_of"], d["comment"]) for a, act, t, d in service.audit.entries] == [
        ("alice", "ivr.upload", "one", 2, None, "new extension"),
        ("bob", "ivr.rollback", "one", 3, 1, "callers still dial 7000"),
    ]
    default = await service.rollback("one", 2, "bob")
    assert default.revision == 4 and (await service.history("one"))[0].comment == "rollback to version 2"


async def test_rollback_to_a_version_that_no_longer_validates_is_refused_and_the_running_one_stays(tmp_path):
    queues = ["ventes", "support"]
    store = MemoryVersionStore()
    service = make(tmp_path, store, queues, {"one.yaml": ONE})
    await service.load_all()
    await service.upload(THREE, "one.yaml", "alice")  # v2 routes to support
    queues.remove("ventes")  # the queue of v1 is removed since
    with pytest.raises(InvalidInput) as caught:
        await service.rollback("one", 1, "bob")
    message = caught.value.message
    assert message.startswith("version 1 of one no longer validates (unknown queue 'ventes'")
    assert message.endswith("one v3 (v2) keeps running")
    assert caught.value.details["field"] == "version"
    [error] = caught.value.details["errors"]
    assert (error["file"], error["line"], error["node"]) == ("ivr_scripts/one.yaml", 15, "q")
    assert len(store.versions("one")) == 2 and service.registry.active("one").revision == 2
    assert [e[1] for e in service.audit.entries] == ["ivr.upload"]


async def test_rollback_to_the_running_content_or_to_nothing_is_refused(tmp_path):
    store = MemoryVersionStore()
    service = make(tmp_path, store, ["ventes"], {"one.yaml": ONE})
    await service.load_all()
    with pytest.raises(Conflict, match="has the content of the running version"):
        await service.rollback("one", 1, "bob")
    with pytest.raises(NoSuchIvrVersion):
        await service.rollback("one", 5, "bob")
    with pytest.raises(NoSuchIvrScript):
        await service.rollback("ghost", 1, "bob")
    with pytest.raises(NoSuchIvrScript):
        await service.history("ghost")
    assert len(store.versions("one")) == 1


async def test_diff_between_any_two_versions(tmp_path):
    store = MemoryVersionStore()
    service = make(tmp_path, store, ["ventes"], {"one.yaml": ONE})
    await service.load_all()
    await service.upload(TWO, "one.yaml", "alice")
    diff = await service.diff("one", 1, 2)
    assert diff.startswith("--- one v1\n+++ one v2\n")
    assert '-  version: "1"\n' in diff and '+  version: "2"\n' in diff
    assert '+    extensions: ["7001"]\n' in diff
    assert (await service.diff("one", 2, 1)).startswith("--- one v2\n+++ one v1\n")
    assert await service.diff("one", 2, 2) == ""
    with pytest.raises(NoSuchIvrVersion):
        await service.diff("one", 1, 9)


async def test_sync_runs_what_another_process_made_active(tmp_path):
    """`ccserver ivr rollback` runs in its own process against the database: the server's
    periodic `sync` runs the new active version (and writes its routes)."""
    store = MemoryVersionStore()
    server = make(tmp_path, store, ["ventes"], {"one.yaml": ONE})
    await server.load_all()
    assert await server.sync() is False  # nothing changed: nothing done
    cli = make(tmp_path, store, ["ventes"])
    await cli.load_all()
    await cli.upload(TWO, "one.yaml", "cli:root")
    assert server.registry.active("one").revision == 1
    assert await server.sync() is True
    assert server.registry.active("one").revision == 2 and "exten => 7001," in routes(server)
    assert await server.sync() is False


async def test_a_stored_version_that_no_longer_validates_at_start_is_listed_and_not_run(tmp_path):
    queues = ["ventes"]
    store = MemoryVersionStore()
    service = make(tmp_path, store, queues, {"one.yaml": ONE})
    await service.load_all()
    queues.clear()  # the queue is removed while the server is down
    restarted = make(tmp_path, store, queues)
    report = await restarted.load_all()
    assert report.activated == [] and restarted.registry.names() == []
    [issue] = restarted.load_issues["ivr_scripts/one.yaml (v1)"]
    assert issue.node == "q" and "unknown queue 'ventes'" in issue.message
    queues.append("ventes")  # created again: the next load runs it
    await restarted.load_all()
    assert restarted.registry.active("one").revision == 1 and restarted.load_issues == {}


async def test_an_invalid_version_made_active_elsewhere_leaves_the_running_one(tmp_path):
    queues = ["ventes", "support"]
    store = MemoryVersionStore()
    server = make(tmp_path, store, queues, {"one.yaml": ONE})
    await server.load_all()
    other = make(tmp_path, store, ["ventes", "support"])
    await other.load_all()
    await other.upload(THREE, "one.yaml", "cli:root")  # valid where it was made...
    queues.remove("support")  # ...not here
    assert await server.sync() is True
    assert server.registry.active("one").revision == 1  # still running
    assert "unknown queue 'support'" in server.load_issues["ivr_scripts/one.yaml (v2)"][0].message


async def test_two_new_files_claiming_one_extension_store_only_the_first(tmp_path):
    store = MemoryVersionStore()
    other = ONE.replace("name: one", "name: other")  # also 7000
    service = make(tmp_path, store, ["ventes"], {"a.yaml": ONE, "b.yaml": other})
    await service.load_all()
    assert service.registry.names() == ["one"] and store.versions("other") == []
    assert (
        "'7000' already maps to script 'one' (ivr_scripts/a.yaml)"
        in service.load_issues["ivr_scripts/b.yaml"][0].message
    )
