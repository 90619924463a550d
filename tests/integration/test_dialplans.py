"""Dialplan editing on the REAL Asterisk, through the server's API: a good change applied and
its new extension answering; a bad file refused with Asterisk's file:line (the live PBX keeps
what it had); a failed health probe rolling back by itself; a rollback back in service within
5 s (the figure is printed). The scratch Asterisk is a second private instance."""

from __future__ import annotations

import asyncio
import time

import pytest

from ccserver.adapters.asterisk.scratch import ScratchAsterisk
from ccserver.adapters.pbx.dialplan import AmiDialplan
from tests.support.asterisk import settings_for_test
from tests.support.server import Server, endpoint_of, until

PROBE = "[inbound]\nexten => probe,1,Answer()\n same => n,Hangup()\n"
ADMIN_PASSWORD = "admin-password-123"


@pytest.fixture(scope="module")
def live(asterisk_factory):
    """The live Asterisk of these tests (its dialplans change: not the shared one)."""
    instance = asterisk_factory()
    instance.up()
    return instance


@pytest.fixture(scope="module")
def scratch(tmp_path_factory, asterisk):
    made = ScratchAsterisk(settings_for_test(tmp_path_factory.mktemp("scratch")), environment=asterisk.environment)
    yield made
    made.instance.destroy()


@pytest.fixture
async def server(tmp_path, live, scratch):
    live.write_dialplans({"default.conf": PROBE})  # what `asterisk up` copied from the repository
    live.reload("pbx_config.so")
    async with Server(tmp_path, endpoint_of(live.info), config_writer=live) as running:
        running.runtime.dialplans.scratch = scratch
        await until(lambda: running.runtime.pbx.ami.is_up, 10, "AMI up")
        await running.runtime.dialplans.start()  # idempotent: v1 is what the live one runs
        await asyncio.to_thread(running.runtime.users.create_user, "telecom", ADMIN_PASSWORD, role="admin")
        running.admin = await running.login("telecom", ADMIN_PASSWORD)
        yield running
        await running.admin.close()


async def call(client, method, path, body=None):
    resp = await client.request(method, path, json=body, headers={"X-CSRF-Token": client.csrf})
    return resp.status, await resp.json()


def answered(server, channel: str):
    """None when `channel` (a Local channel) answers on the live Asterisk, else why not."""
    return AmiDialplan(server.runtime.pbx.ami).probe(channel, 5.0)


async def test_a_good_change_is_applied_and_its_new_extension_answers(server, live):
    status, overview = await call(server.admin, "GET", "/api/dialplans")
    assert status == 200 and overview["running_version"] == 1 and overview["files"] == {"default.conf": PROBE}
    assert await answered(server, "Local/4242@inbound") is not None  # not there yet

    new = PROBE + "exten => 4242,1,Answer()\n same => n,Wait(1)\n same => n,Hangup()\n"
    status, version = await call(
        server.admin, "POST", "/api/dialplans/versions", {"files": {"default.conf": new}, "comment": "number 4242"}
    )
    assert status == 201 and version["id"] == 2, version
    status, diff = await call(server.admin, "GET", "/api/dialplans/versions/2/diff")
    assert "+exten => 4242,1,Answer()" in diff["diff"]

    status, result = await call(server.admin, "POST", "/api/dialplans/versions/2/apply", {"comment": "go"})
    assert status == 200 and result["applied"] and result["outcome"] == "applied", result
    assert live.read_dialplans() == {"default.conf": new}
    assert await answered(server, "Local/4242@inbound") is None
    assert await answered(server, "Local/4242@ccserver-inbound") is None  # through the server's entry
    status, overview = await call(server.admin, "GET", "/api/dialplans")
    assert overview["running_version"] == 2
    status, history = await call(server.admin, "GET", "/api/dialplans/history")
    assert (history[0]["actor"], history[0]["action"], history[0]["version_id"], history[0]["previous_version_id"]) == (
        "telecom",
        "apply",
        2,
        1,
    )
    [audited] = server.runtime.audit.list(action="dialplan.apply")
    assert (audited.actor, audited.target) == ("telecom", "dialplan v2")
    assert server.runtime.audit.list(action="dialplan.save")[0].actor == "telecom"


async def test_a_bad_file_is_refused_with_asterisks_file_and_line(server, live):
    before = live.read_dialplans()
    # the lint cannot see a label used twice; the scratch Asterisk refuses it
    labels = PROBE + "exten => 77,1(top),NoOp()\n same => n(top),NoOp()\n"
    status, report = await call(
        server.admin, "POST", "/api/dialplans/check", {"files": {"extra.conf": "", "default.conf": labels}}
    )
    assert status == 200 and not report["ok"]
    [problem] = report["problems"]
    assert (problem["file"], problem["line"], problem["source"]) == ("default.conf", 1, "asterisk")
    assert "label 'top' already in use" in problem["message"]

    dupe = PROBE + "exten => 78,1,NoOp()\nexten => 78,1,NoOp()\n"
    status, refused = await call(server.admin, "POST", "/api/dialplans/versions", {"files": {"default.conf": dupe}})
    assert status == 422 and refused["error"] == "dialplan-refused"
    found = {(p["file"], p["line"], p["source"]) for p in refused["details"]["problems"]}
    assert ("default.conf", 5, "lint") in found and ("default.conf", 5, "asterisk") in found
    assert any(
        "at line 5 of" in p["message"] and p["message"].endswith("dialplans/default.conf")
        for p in refused["details"]["problems"]
    )

    status, refused = await call(
        server.admin,
        "POST",
        "/api/dialplans/versions",
        {"files": {"default.conf": PROBE + "[ccserver-agents]\nexten => 1,1,NoOp()\n"}},
    )
    assert status == 422 and refused["details"]["problems"][0]["rule"] == "server-context"
    status, overview = await call(server.admin, "GET", "/api/dialplans")
    assert [v["id"] for v in overview["versions"]] == [1]  # nothing stored
    assert live.read_dialplans() == before  # nothing reached the live PBX


async def test_a_failed_health_probe_brings_the_previous_version_back_by_itself(server, live):
    broken = "[inbound]\nexten => probe,1,Hangup()\nexten => 4343,1,Answer()\n same => n,Hangup()\n"
    status, version = await call(server.admin, "POST", "/api/dialplans/versions", {"files": {"default.conf": broken}})
    assert status == 201
    started = time.monotonic()
    status, result = await call(server.admin, "POST", f"/api/dialplans/versions/{version['id']}/apply", {})
    assert status == 409 and not result["applied"] and result["outcome"] == "rolled-back", result
    assert time.monotonic() - started < 30
    assert "health probe" in result["detail"]
    assert live.read_dialplans() == {"default.conf": PROBE}
    assert await answered(server, "Local/4343@inbound") is not None  # the broken version is gone
    assert await answered(server, "Local/probe@ccserver-inbound") is None
    status, overview = await call(server.admin, "GET", "/api/dialplans")
    assert overview["running_version"] == 1


async def test_rollback_to_an_earlier_version_is_back_in_service_within_5_seconds(server, live):
    v2 = PROBE + "exten => 5151,1,Answer()\n same => n,Hangup()\n"
    status, version = await call(server.admin, "POST", "/api/dialplans/versions", {"files": {"default.conf": v2}})
    status, result = await call(server.admin, "POST", f"/api/dialplans/versions/{version['id']}/apply", {})
    assert result["applied"], result
    assert await answered(server, "Local/5151@inbound") is None

    started = time.monotonic()
    status, result = await call(server.admin, "POST", "/api/dialplans/versions/1/rollback", {"comment": "back"})
    elapsed = time.monotonic() - started
    assert status == 200 and result["applied"] and result["action"] == "rollback", result
    assert await answered(server, "Local/probe@ccserver-inbound") is None  # in service
    assert await answered(server, "Local/5151@inbound") is not None
    print(f"\ndialplan rollback: back in service in {elapsed:.3f} s (server-measured {result['seconds']:.3f} s)")
    assert elapsed < 5.0
    status, history = await call(server.admin, "GET", "/api/dialplans/history")
    assert (history[0]["action"], history[0]["version_id"], history[0]["comment"]) == ("rollback", 1, "back")
