"""IVR versions on the real Asterisk: a version uploaded by an admin is the one running after a
restart of the server (a new Runtime on the same database, the seed file unchanged): Asterisk's
IVR routes are the new version's and a call to its new extension runs it; a rollback from the
history takes the route away again and new calls run the old content (as a new version); a
rollback made with the command line reaches the running server and Asterisk by itself."""

from __future__ import annotations

import asyncio

import pytest

from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.cli import main
from ccserver.core.clock import ManualClock
from tests.integration.test_ivr_engine import OPEN_DAY, QUEUES, SKILLS, Caller, example_text
from tests.support.server import Server, endpoint_of, until

pytestmark = pytest.mark.asterisk

PASSWORD = "correct horse battery"
NEW_EXTEN = "7399"


def server(asterisk, tmp_path) -> Server:
    """A ccserver on the test Asterisk whose data (the SQLite database) stays in `tmp_path`:
    building it again is a restart."""
    return Server(
        tmp_path,
        endpoint_of(asterisk.info),
        config_writer=asterisk,
        clock=ManualClock(OPEN_DAY),
        ivr={"scripts_dir": tmp_path / "ivr_scripts", "stats_flush_interval": 3600.0},
    )


async def routes_in_asterisk(asterisk) -> str:
    return await asyncio.to_thread(asterisk.cli, "dialplan show ccserver-ivr-routes")


async def test_an_uploaded_version_survives_a_restart_and_a_rollback_takes_it_back(asterisk, tmp_path, monkeypatch):
    scripts = tmp_path / "ivr_scripts"
    scripts.mkdir()
    (scripts / "service-client.yaml").write_text(example_text(), encoding="utf-8")
    v2 = example_text("2026.2").replace('extensions: ["300"]', f'extensions: ["300", "{NEW_EXTEN}"]')
    assert NEW_EXTEN in v2

    first = server(asterisk, tmp_path)
    runtime = first.runtime
    await asyncio.to_thread(runtime.database.upgrade)
    for skill in SKILLS:
        await asyncio.to_thread(runtime.acd_repo.add_skill, skill)
    for queue in QUEUES:
        await asyncio.to_thread(runtime.acd_repo.save_queue, QueueDefinition(name=queue), create=True)
    await asyncio.to_thread(runtime.users.create_user, "admin1", PASSWORD, role="admin", display_name="Admin")
    async with first:
        await until(first.ok, 15)
        await until(lambda: runtime.ivr.dialplan_applied, 10)
        assert f"'{NEW_EXTEN}'" not in await routes_in_asterisk(asterisk)
        admin = await first.login("admin1", PASSWORD)
        resp = await admin.post(
            "/api/ivr/scripts",
            json={"filename": "service-client.yaml", "text": v2, "comment": "extension 7399"},
            headers={"X-CSRF-Token": admin.csrf},
        )
        assert resp.status == 201 and (await resp.json())["revision"] == 2
        await admin.close()

    # the restart: a new Runtime on the same database; ivr_scripts/ still holds version 1
    second = server(asterisk, tmp_path)
    async with second:
        await until(second.ok, 15)
        ivr = second.runtime.ivr
        await until(lambda: ivr.dialplan_applied, 10)
        assert ivr.registry.active("service-client").revision == 2
        shown = await routes_in_asterisk(asterisk)
        assert f"'{NEW_EXTEN}'" in shown and "Stasis(" in shown
        caller = Caller(second, NEW_EXTEN)  # the new version's extension answers
        session = await caller.dial()
        assert (session.call.script.version, session.call.script.revision) == ("2026.2", 2)
        await caller.at("accueil")
        await caller.hangup()

        # back to version 1 from the history: a new version, the route is gone from Asterisk
        admin = await second.login("admin1", PASSWORD)
        resp = await admin.post(
            "/api/ivr/scripts/service-client/rollback",
            json={"version": 1, "comment": "7399 not announced yet"},
            headers={"X-CSRF-Token": admin.csrf},
        )
        assert resp.status == 201

        async def route_gone() -> bool:
            return f"'{NEW_EXTEN}'" not in await routes_in_asterisk(asterisk)

        await until(route_gone, 10)
        caller = Caller(second, "0140000300")
        session = await caller.dial()
        assert (session.call.script.version, session.call.script.revision) == ("2026.1", 3)
        await caller.hangup()
        history = await ivr.history("service-client")
        assert [(v.number, v.origin, v.author) for v in history] == [
            (3, "rollback", "admin1"),
            (2, "upload", "admin1"),
            (1, "file", "file"),
        ]

        # `ccserver ivr rollback` in another process (here: thread) on the same database: the
        # running server runs it (and Asterisk has its route) within its 5 s check
        monkeypatch.setenv("CCSERVER_STORAGE_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("CCSERVER_ASTERISK_INSTANCE", "ivr-versions-cli-none")  # prompts not checked
        assert await asyncio.to_thread(main, ["ivr", "rollback", "service-client", "2", "--comment", "cli"]) == 0

        async def route_back() -> bool:
            return f"'{NEW_EXTEN}'" in await routes_in_asterisk(asterisk)

        await until(route_back, 10)
        assert ivr.registry.active("service-client").revision == 4
        await admin.close()  # (closes the test server too: last)
