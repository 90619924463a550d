"""/admin/callcenter and its JSON API: who may read and change what, errors naming the field,
and what a fresh install's agents are then offered on their desk."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import pytest

from ccserver.adapters.web.keys import RUNTIME
from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.capabilities.callcenter.model import PauseCode
from ccserver.core import events as ev
from ccserver.core.clock import ManualClock
from tests.web.conftest import csrf_of, login

WRITES = [
    ("POST", "/api/skills", {"name": "fr"}),
    ("PATCH", "/api/skills/fr", {"new_name": "french"}),
    ("DELETE", "/api/skills/fr", None),
    ("PUT", "/api/agents/agent1/skills", {"skills": {}}),
    ("POST", "/api/pause-codes", {"code": "break"}),
    ("PATCH", "/api/pause-codes/break", {"label": "x"}),
    ("DELETE", "/api/pause-codes/break", None),
    ("POST", "/api/wrapup-codes", {"queue": "support", "code": "ok"}),
    ("DELETE", "/api/wrapup-codes/ok?queue=support", None),
    ("DELETE", "/api/queues/support", None),
]


@pytest.mark.parametrize("role", ["agent", "supervisor"])
async def test_only_admins_change_settings(web_app, role):
    client = await login(web_app, f"{role}1")
    csrf = await csrf_of(client)
    for method, path, body in WRITES:
        resp = await client.request(method, path, json=body, headers={"X-CSRF-Token": csrf})
        assert resp.status == 403, (role, method, path, resp.status)
    page = await client.get("/admin/callcenter", allow_redirects=False)
    assert page.status == 403


async def test_supervisors_read_the_lists_agents_do_not(web_app):
    supervisor = await login(web_app, "supervisor1")
    for path in ("/api/skills", "/api/pause-codes"):
        assert (await supervisor.get(path)).status == 200
    agent = await login(web_app, "agent1")
    for path in ("/api/skills", "/api/pause-codes", "/api/wrapup-codes?queue=support"):
        assert (await agent.get(path)).status == 403


async def test_an_admin_sets_up_a_fresh_install_and_the_agent_desk_offers_it(web_app):
    runtime = web_app.app[RUNTIME]
    admin = await login(web_app, "admin1")
    csrf = {"X-CSRF-Token": await csrf_of(admin)}
    assert (await admin.get("/admin/callcenter")).status == 200
    for name in ("fr", "tech"):
        resp = await admin.post("/api/skills", json={"name": name, "label": name.upper()}, headers=csrf)
        assert resp.status == 201, await resp.text()
    resp = await admin.post(
        "/api/queues", json={"name": "support", "required_skills": {"fr": 1}, "max_callers": 10}, headers=csrf
    )
    assert resp.status == 201, await resp.text()
    resp = await admin.post(
        "/api/pause-codes", json={"code": "meeting", "label": "Réunion", "paid": True, "max_minutes": 30}, headers=csrf
    )
    assert resp.status == 201, await resp.text()
    resp = await admin.post("/api/wrapup-codes", json={"queue": "support", "code": "resolved"}, headers=csrf)
    assert resp.status == 201, await resp.text()
    account = await runtime.acd.create_agent("zoe", "password-1234", "Zoé", {"fr": 5}, "admin1")
    resp = await admin.put("/api/agents/zoe/skills", json={"skills": {"fr": 8, "tech": 2}}, headers=csrf)
    assert resp.status == 200 and (await resp.json())["skills"] == {"fr": 8, "tech": 2}
    assert (await runtime.acd.agent(account.username)).skills == {"fr": 8, "tech": 2}
    queue = await (await admin.get("/api/queues/support")).json()
    assert (queue["max_callers"], queue["dispositions"]) == (10, ["resolved"])

    zoe = await login(web_app, "zoe", "password-1234")
    desk = await (await zoe.get("/api/agent/desk")).json()
    assert desk["pause_reasons"] == [{"code": "meeting", "label": "Réunion"}]
    assert [(q["name"], q["dispositions"], q["penalty"]) for q in desk["queues"]] == [("support", ["resolved"], 2)]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/skills", {"name": "Bad Name"}, "name"),
        ("POST", "/api/skills", {"label": "no name"}, "name"),
        ("POST", "/api/pause-codes", {"code": "lunch", "max_minutes": -5}, "max_minutes"),
        ("POST", "/api/pause-codes", {"code": "lunch", "paid": "maybe"}, "paid"),
        ("POST", "/api/pause-codes", {"code": "lunch", "colour": "red"}, "colour"),
        ("POST", "/api/wrapup-codes", {"code": "ok"}, "queue"),
        ("POST", "/api/wrapup-codes", {"campaign": "abc", "code": "ok"}, "campaign"),
        ("POST", "/api/wrapup-codes", {"queue": "support", "code": "Not OK"}, "code"),
        ("PUT", "/api/agents/agent1/skills", {"skills": "fr:5"}, "skills"),
        ("PUT", "/api/agents/agent1/skills", {"skills": {"klingon": 5}}, "skills"),
        ("POST", "/api/queues", {"name": "sales", "ring_seconds": 1}, "ring_seconds"),
        ("POST", "/api/queues", {"name": "sales", "max_callers": -1}, "max_callers"),
        ("POST", "/api/queues", {"name": "sales", "strategy": "fastest"}, "strategy"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(web_app, method, path, body, field):
    runtime = web_app.app[RUNTIME]
    await runtime.callcenter.create_skill("fr", "", "admin1")
    await runtime.acd.create_queue(QueueDefinition("support"), "admin1")
    admin = await login(web_app, "admin1")
    resp = await admin.request(method, path, json=body, headers={"X-CSRF-Token": await csrf_of(admin)})
    assert resp.status == 400, (path, await resp.text())
    assert (await resp.json())["details"]["field"] == field


async def test_removing_a_skill_in_use_says_where(web_app):
    runtime = web_app.app[RUNTIME]
    await runtime.callcenter.create_skill("fr", "", "admin1")
    await runtime.acd.create_agent("zoe", "password-1234", "Zoé", {"fr": 5}, "admin1")
    admin = await login(web_app, "admin1")
    resp = await admin.delete("/api/skills/fr", headers={"X-CSRF-Token": await csrf_of(admin)})
    assert resp.status == 409
    body = await resp.json()
    assert body["error"] == "skill-in-use" and body["details"]["used_by"] == ["agent zoe"]


async def test_a_pause_overrun_is_pushed_live_to_supervisors_not_to_agents(web_app):
    runtime = web_app.app[RUNTIME]
    await runtime.callcenter.create_skill("fr", "", "admin1")
    await runtime.acd.create_queue(QueueDefinition("support"), "admin1")
    await runtime.callcenter.create_pause_code(PauseCode("break", "Pause", True, 15), "admin1")
    await runtime.acd.create_agent("zoe", "password-1234", "Zoé", {"fr": 5}, "admin1")
    clock = ManualClock(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    runtime.agent_board.clock = runtime.callcenter.clock = clock  # the pause starts now
    runtime.agent_board.apply(
        ev.QueueMemberChanged(
            change="added", queue="support", interface="PJSIP/zoe", status=1, paused=True, paused_reason="break"
        )
    )
    supervisor = await login(web_app, "supervisor1")
    agent = await login(web_app, "zoe", "password-1234")
    sockets = {}
    for name, client in (("supervisor", supervisor), ("agent", agent)):
        sockets[name] = await client.ws_connect("/ws")
        assert (await sockets[name].receive_json(timeout=2))["topic"] == "hello"
    clock.advance(minutes=16)
    [overrun] = await runtime.callcenter.check_pause_overruns()
    message = await sockets["supervisor"].receive_json(timeout=2)
    while message["topic"] != "pause_overrun":
        message = await sockets["supervisor"].receive_json(timeout=2)
    assert (message["username"], message["reason"], message["max_minutes"], message["minutes"]) == (
        "zoe",
        "break",
        15,
        16,
    )
    board = await (await supervisor.get("/api/wallboard")).json()
    assert board["alerts"]["pause_overrun"] == 1  # the wallboard's alert counter
    agent_topics = []
    with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
        while True:
            agent_topics.append((await sockets["agent"].receive_json(timeout=0.5))["topic"])
    assert "pause_overrun" not in agent_topics
    for ws in sockets.values():
        await ws.close()


async def test_a_skill_or_queue_an_ivr_script_names_is_not_removed(web_app):
    runtime = web_app.app[RUNTIME]  # the example scripts (ivr_scripts/) send callers to these
    for skill in ("fr", "en", "tech", "billing"):
        await runtime.callcenter.create_skill(skill, "", "admin1")
    for queue in ("support", "billing"):
        await runtime.acd.create_queue(QueueDefinition(queue), "admin1")
    await runtime.ivr.load_all()
    assert runtime.ivr.scripts_using(queue="billing")  # the example script is active
    admin = await login(web_app, "admin1")
    csrf = {"X-CSRF-Token": await csrf_of(admin)}
    resp = await admin.delete("/api/skills/billing", headers=csrf)
    assert resp.status == 409
    used_by = (await resp.json())["details"]["used_by"]
    assert used_by and all(u.startswith("ivr ") for u in used_by), used_by
    resp = await admin.delete("/api/queues/billing", headers=csrf)
    assert (
        resp.status == 409 and "ivr service-client node file_facturation" in (await resp.json())["details"]["used_by"]
    )
    resp = await admin.patch("/api/skills/billing", json={"new_name": "invoicing"}, headers=csrf)
    assert resp.status == 409 and (await resp.json())["details"]["used_by"] == used_by
