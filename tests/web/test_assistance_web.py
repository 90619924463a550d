"""Ask a supervisor, through the API and the live pushes (no Asterisk; SQLite and PostgreSQL).

agent1 answers a caller of queue sales (team north); agent2 another caller of queue billing.
supervisor1 supervises the queue sales, supervisor3 the team north, supervisor2 the queue billing
only: agent1's request reaches supervisor1, supervisor3 and the admins, never supervisor2."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer

from ccserver.adapters.web.app import create_app
from ccserver.app import Runtime
from ccserver.capabilities.agents.model import AgentState
from ccserver.core import events as ev
from ccserver.settings import Settings
from tests.support.db import database, db_url, empty_database  # noqa: F401
from tests.support.web import logged_in

PASSWORD = "correct horse battery"
TOPICS = {"supervisor_asked", "supervisor_request_ended"}


@pytest.fixture
async def center(database, tmp_path):
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None, database=database)
    server = TestServer(create_app(runtime))
    await server.start_server()
    await runtime.acd.create_agent("agent1", PASSWORD, "Agent One", {}, "admin1", team="north")
    await runtime.acd.create_agent("agent2", PASSWORD, "Agent Two", {}, "admin1", team="south")
    for name, role in (
        ("supervisor1", "supervisor"),
        ("supervisor2", "supervisor"),
        ("supervisor3", "supervisor"),
        ("admin1", "admin"),
    ):
        runtime.users.create_user(name, PASSWORD, role=role)
    runtime.acd_repo.give_scope("supervisor1", "queue", "sales")
    runtime.acd_repo.give_scope("supervisor2", "queue", "billing")
    runtime.acd_repo.give_scope("supervisor3", "team", "north")
    for agent, queue, call, number in (
        ("agent1", "sales", "live-1", "0611111111"),
        ("agent2", "billing", "live-2", "0622222222"),
    ):
        runtime.call_tracker.apply(ev.QueueCallerJoined(queue=queue, uniqueid=call, caller_number=number))
        runtime.call_tracker.apply(
            ev.AgentConnected(queue=queue, uniqueid=call, interface=f"PJSIP/{agent}", member_name=agent)
        )
    clients = {}
    for name in ("agent1", "agent2", "supervisor1", "supervisor2", "supervisor3", "admin1"):
        clients[name] = await logged_in(server, name, PASSWORD)
    yield runtime, clients
    for client in clients.values():
        await client.close()
    await server.close()


def headers(client) -> dict:
    return {"X-CSRF-Token": client.csrf, "Accept": "application/json"}


async def socket(client):
    ws = await client.ws_connect("/ws", headers={"Origin": f"http://{client.server.host}:{client.server.port}"})
    assert (await ws.receive_json(timeout=2))["topic"] == "hello"
    return ws


async def next_request_message(ws, timeout: float = 3) -> dict:
    """The next ask-a-supervisor push (other pushes, like the wallboard, skipped)."""
    while True:
        message = await ws.receive_json(timeout=timeout)
        if message.get("topic") in TOPICS:
            return message


async def nothing_more(ws, runtime) -> None:
    """No ask-a-supervisor push is waiting for this socket (the bus drained first)."""
    await runtime.bus.drain()
    with pytest.raises(TimeoutError):
        await next_request_message(ws, timeout=0.3)


async def test_a_request_reaches_the_supervisors_of_the_queue_or_team_only_and_ends_when_cancelled(center):
    runtime, clients = center
    sockets = {who: await socket(clients[who]) for who in ("agent1", "supervisor1", "supervisor2", "supervisor3")}
    agent = clients["agent1"]
    resp = await agent.post(
        "/api/calls/live-1/ask-supervisor", json={"reason": "client mécontent"}, headers=headers(agent)
    )
    assert resp.status == 201, await resp.text()
    asked = await resp.json()
    assert (asked["agent"], asked["queue"], asked["customer_number"], asked["reason"], asked["open"]) == (
        "agent1",
        "sales",
        "0611111111",
        "client mécontent",
        True,
    )
    for who in ("agent1", "supervisor1", "supervisor3"):  # the queue's, the team's supervisor
        message = await next_request_message(sockets[who])
        assert message["topic"] == "supervisor_asked" and message["request"]["id"] == asked["id"], who
    await nothing_more(sockets["supervisor2"], runtime)

    async def listed(who: str) -> list[str]:
        resp = await clients[who].get("/api/supervision/requests", headers=headers(clients[who]))
        assert resp.status == 200
        return [r["id"] for r in (await resp.json())["requests"]]

    assert await listed("supervisor1") == [asked["id"]]
    assert await listed("supervisor3") == [asked["id"]]
    assert await listed("admin1") == [asked["id"]]
    assert await listed("supervisor2") == []
    # asking again while it is open: refused, the supervisors already see it
    again = await agent.post("/api/calls/live-1/ask-supervisor", json={}, headers=headers(agent))
    assert again.status == 409

    # the agent cancels: everyone who saw it is told, the list empties
    resp = await agent.delete("/api/calls/live-1/ask-supervisor", headers=headers(agent))
    assert resp.status == 200 and (await resp.json())["end_reason"] == "cancelled"
    for who in ("agent1", "supervisor1", "supervisor3"):
        message = await next_request_message(sockets[who])
        assert (message["topic"], message["request"]["end_reason"]) == ("supervisor_request_ended", "cancelled")
    await nothing_more(sockets["supervisor2"], runtime)
    assert await listed("supervisor1") == []
    state = await (await agent.get("/api/calls/live-1/ask-supervisor", headers=headers(agent))).json()
    assert state["request"]["end_reason"] == "cancelled"
    assert [(e.actor, e.action) for e in reversed(runtime.audit.list(actor="agent1"))][-2:] == [
        ("agent1", "assistance.ask"),
        ("agent1", "assistance.cancel"),
    ]
    for ws in sockets.values():
        await ws.close()


async def test_only_the_agent_on_the_call_may_ask_and_outsiders_cannot_take(center):
    runtime, clients = center
    other = clients["agent2"]
    resp = await other.post("/api/calls/live-1/ask-supervisor", json={"reason": "x"}, headers=headers(other))
    assert resp.status == 403 and (await resp.json())["error"] == "forbidden"
    resp = await other.delete("/api/calls/live-1/ask-supervisor", headers=headers(other))
    assert resp.status == 403
    assert (await other.get("/api/calls/live-1/ask-supervisor", headers=headers(other))).status == 403
    sup = clients["supervisor1"]  # a supervisor asks nothing: the agent on the call does
    assert (await sup.post("/api/calls/live-1/ask-supervisor", json={}, headers=headers(sup))).status == 403
    assert (await other.post("/api/calls/nope/ask-supervisor", json={}, headers=headers(other))).status == 404
    assert runtime.assistance.desk.open == {}

    agent = clients["agent1"]
    asked = await (await agent.post("/api/calls/live-1/ask-supervisor", json={}, headers=headers(agent))).json()
    outsider = clients["supervisor2"]
    resp = await outsider.post(f"/api/supervision/requests/{asked['id']}/take", json={}, headers=headers(outsider))
    assert resp.status == 403 and "outside your queues and teams" in (await resp.json())["message"]
    resp = await other.post(f"/api/supervision/requests/{asked['id']}/take", json={}, headers=headers(other))
    assert resp.status == 403  # agents take nothing
    assert list(runtime.assistance.desk.open) == [asked["id"]]
    assert not runtime.audit.list(action="assistance.take")


@pytest.mark.parametrize(
    ("reason", "why"),
    [("x" * 201, "au plus 200"), ("aide\r\nAction: Originate", "control characters"), (12, "text")],
)
async def test_a_bad_reason_is_refused_and_nothing_is_asked(center, reason, why):
    runtime, clients = center
    agent = clients["agent1"]
    resp = await agent.post("/api/calls/live-1/ask-supervisor", json={"reason": reason}, headers=headers(agent))
    body = await resp.json()
    assert resp.status == 400 and why in body["message"] and body["details"]["field"] == "reason"
    assert runtime.assistance.desk.open == {} and not runtime.audit.list(action="assistance.ask")


async def test_taking_needs_the_listening_to_start_else_the_request_stays_open(center):
    """No Asterisk here: the supervisor in scope passes the checks, the listening cannot start
    (503), so the request is still open for someone else."""
    runtime, clients = center
    agent = clients["agent1"]
    asked = await (await agent.post("/api/calls/live-1/ask-supervisor", json={}, headers=headers(agent))).json()
    runtime.agent_board.apply(
        ev.QueueMemberChanged(change="added", queue="sales", interface="PJSIP/agent1", member_name="agent1", status=1)
    )
    runtime.agent_board.apply(
        ev.AgentConnected(queue="sales", uniqueid="live-1", interface="PJSIP/agent1", member_name="agent1")
    )
    assert runtime.agent_board.agents["agent1"].state is AgentState.ON_CALL
    sup = clients["supervisor1"]
    resp = await sup.post(f"/api/supervision/requests/{asked['id']}/take", json={"mode": "barge"}, headers=headers(sup))
    assert resp.status == 400 and (await resp.json())["details"]["field"] == "mode"
    resp = await sup.post(f"/api/supervision/requests/{asked['id']}/take", json={}, headers=headers(sup))
    refused = await resp.json()  # no phone of their own: the French message (the default language)
    assert resp.status == 409 and "téléphone SIP" in refused["message"], refused
    runtime.acd_repo.add_sip_account("supervisor1")
    resp = await sup.post(f"/api/supervision/requests/{asked['id']}/take", json={}, headers=headers(sup))
    assert resp.status == 503
    assert list(runtime.assistance.desk.open) == [asked["id"]] and runtime.assistance.taking == {}
    assert "supervisor1" not in runtime.supervision.sessions
    resp = await sup.post("/api/supervision/requests/no-such/take", json={}, headers=headers(sup))
    assert resp.status == 404


async def test_the_end_of_the_call_ends_its_request(center):
    runtime, clients = center
    agent = clients["agent1"]
    ws = await socket(agent)
    asked = await (await agent.post("/api/calls/live-1/ask-supervisor", json={}, headers=headers(agent))).json()
    assert (await next_request_message(ws))["topic"] == "supervisor_asked"
    # the customer hangs up: the call record closes
    hangup = ev.ChannelHungup(uniqueid="live-1", linkedid="live-1", channel="PJSIP/customers-0001", cause=16)
    for event in runtime.call_tracker.apply(hangup):
        runtime.bus.publish(event)
    message = await next_request_message(ws)
    assert (message["topic"], message["request"]["id"], message["request"]["end_reason"]) == (
        "supervisor_request_ended",
        asked["id"],
        "call_ended",
    )
    assert runtime.assistance.desk.open == {}
    await ws.close()
