"""The agent desk's snapshot (GET /api/agent/desk/snapshot) and the numbered live messages,
through the real web app on SQLite and PostgreSQL: an agent reads only their own desk (their
call, its screen-pop, its call-control state); other roles get 403, nobody logged in 401."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ccserver.adapters.web.app import create_app
from ccserver.adapters.web.keys import REALTIME
from ccserver.app import Runtime
from ccserver.capabilities.callcontrol.model import ControlledCall
from ccserver.core import events as ev
from ccserver.settings import Settings
from tests.support.db import database, db_url, empty_database  # noqa: F401
from tests.support.web import logged_in

PASSWORD = "correct horse battery"


@pytest.fixture
async def desk(database, tmp_path):
    settings = Settings().replace({"storage.data_dir": tmp_path, "web.resync_after": 7.5})
    runtime = Runtime(settings, endpoint=None, database=database)
    server = TestServer(create_app(runtime))
    await server.start_server()
    for name in ("agent1", "agent2"):
        await runtime.acd.create_agent(name, PASSWORD, name.title(), {}, "admin1")
    runtime.users.create_user("supervisor1", PASSWORD, role="supervisor")
    runtime.users.create_user("admin1", PASSWORD, role="admin")
    for name in ("agent1", "agent2"):
        runtime.agent_board.apply(
            ev.QueueMemberChanged(change="added", queue="sales", interface=f"PJSIP/{name}", member_name=name, status=1)
        )
    yield server, runtime
    await server.close()


async def ring_and_answer(runtime, agent: str, uniqueid: str, number: str) -> None:
    """A caller of queue sales rings `agent` (the CTI sends its screen-pop), who answers."""
    runtime.call_tracker.apply(ev.QueueCallerJoined(queue="sales", uniqueid=uniqueid, caller_number=number))
    called = ev.AgentCalled(
        queue="sales", uniqueid=uniqueid, caller_number=number, caller_name="Mme Durand", interface=f"PJSIP/{agent}"
    )
    runtime.agent_board.apply(called)
    await runtime.screen_pop.on_agent_called(called)
    connected = ev.AgentConnected(queue="sales", uniqueid=uniqueid, interface=f"PJSIP/{agent}", member_name=agent)
    runtime.agent_board.apply(connected)
    runtime.call_tracker.apply(connected)


async def test_an_agent_reads_their_own_whole_desk_and_nobody_elses(desk):
    server, runtime = desk
    await ring_and_answer(runtime, "agent1", "live-1", "0611111111")
    runtime.call_control.board.track(
        ControlledCall(uniqueid="live-1", agent="agent1", agent_channel="PJSIP/agent1-0001", held=True, muted=True)
    )
    agent1 = await logged_in(server, "agent1", PASSWORD)
    resp = await agent1.get("/api/agent/desk/snapshot")
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    snap = await resp.json()
    assert snap["status"]["username"] == "agent1" and snap["status"]["state"] == "on_call"
    assert snap["status"]["call"]["uniqueid"] == "live-1"
    assert (snap["screen_pop"]["uniqueid"], snap["screen_pop"]["caller_number"]) == ("live-1", "0611111111")
    assert snap["screen_pop"]["found"] is False  # an unknown caller: the new-customer form, prefilled
    assert (snap["call_control"]["held"], snap["call_control"]["muted"]) == (True, True)
    assert snap["resync_after"] == 7.5 and isinstance(snap["callbacks"], list)

    # agent2 asks for agent1's desk every way a URL allows: they get their own, idle, desk
    agent2 = await logged_in(server, "agent2", PASSWORD)
    for url in ("/api/agent/desk/snapshot", "/api/agent/desk/snapshot?username=agent1&agent=agent1"):
        other = await (await agent2.get(url)).json()
        assert other["status"]["username"] == "agent2" and other["status"]["call"] is None
        assert other["screen_pop"] is None and other["call_control"] is None
    for name in ("supervisor1", "admin1"):
        client = await logged_in(server, name, PASSWORD)
        refused = await client.get("/api/agent/desk/snapshot")
        assert refused.status == 403 and (await refused.json())["error"] == "forbidden"


async def test_nobody_logged_in_gets_401(desk):
    server, _ = desk
    async with TestClient(server) as client:
        resp = await client.get("/api/agent/desk/snapshot", headers={"Accept": "application/json"})
        assert resp.status == 401


async def test_the_pop_and_controls_follow_the_call_and_are_gone_after(desk):
    server, runtime = desk
    await ring_and_answer(runtime, "agent1", "live-2", "0622222222")
    agent1 = await logged_in(server, "agent1", PASSWORD)
    snap = await (await agent1.get("/api/agent/desk/snapshot")).json()
    # nobody acted on the call yet: the controls show a call neither held nor muted
    assert snap["call_control"]["uniqueid"] == "live-2" and snap["call_control"]["held"] is False
    completed = ev.AgentCompleted(queue="sales", uniqueid="live-2", interface="PJSIP/agent1", member_name="agent1")
    runtime.agent_board.apply(completed)
    runtime.call_tracker.apply(completed)
    snap = await (await agent1.get("/api/agent/desk/snapshot")).json()
    # no wrap-up time on this queue: the agent is available again, the pop is gone
    assert snap["status"]["state"] == "available" and snap["screen_pop"] is None
    assert snap["call_control"] is None and snap["status"]["call"] is None


async def test_each_socket_numbers_its_messages_so_a_page_sees_what_it_missed(desk):
    server, runtime = desk
    agent1 = await logged_in(server, "agent1", PASSWORD)
    agent2 = await logged_in(server, "agent2", PASSWORD)
    ws1, ws2 = await agent1.ws_connect("/ws"), await agent2.ws_connect("/ws")
    assert [(await ws1.receive_json())["seq"], (await ws2.receive_json())["seq"]] == [0, 0]  # hellos
    hub = server.app[REALTIME]
    hub.broadcast({"topic": "t", "n": 1}, roles=set(), usernames={"agent1"})
    hub.broadcast({"topic": "t", "n": 2}, roles=set(), usernames={"agent2"})
    hub.broadcast({"topic": "t", "n": 3}, roles=set(), usernames={"agent1", "agent2"})
    got1 = [await ws1.receive_json(timeout=5) for _ in range(2)]
    got2 = [await ws2.receive_json(timeout=5) for _ in range(2)]
    # numbered per socket: each page's numbers follow each other without a hole
    assert [(m["seq"], m["n"]) for m in got1] == [(1, 1), (2, 3)]
    assert [(m["seq"], m["n"]) for m in got2] == [(1, 2), (2, 3)]
    for ws in (ws1, ws2):
        await ws.close()
