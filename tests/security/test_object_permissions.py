"""Object-level permissions on every route that names an object (security issue, item 2).

One call center, two agents, two supervisors of different queues and an admin. For each route
of `OBJECT_ROUTES` the objects are owned by agent1 and sit in the queue ``sales`` (and the
campaign queue camp-<id>) that supervisor1 supervises; agent2 (assigned to the same campaign)
and supervisor2 (given the queue ``billing`` only) are out of scope. Each out-of-scope user
gets 403 with the stable id ``forbidden`` and a snapshot of every table shows nothing changed;
then the in-scope user passes the check. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlmodel import SQLModel

from ccserver.adapters.web.app import create_app
from ccserver.app import Runtime
from ccserver.capabilities.callcenter.model import WrapupCode
from ccserver.capabilities.knowledge.model import validate_draft
from ccserver.core import events as ev
from ccserver.settings import Settings
from tests.support.db import database, db_url, empty_database  # noqa: F401
from tests.support.web import logged_in

PASSWORD = "correct horse battery"
CSV = "nom;numero;cp\nA;0612000001;75011\nB;0612000002;75011\nC;0612000003;75011\nD;0612000004;75011\n"
# tables that change by merely logging in or being looked at
VOLATILE = {"sessions", "schema_migrations"}


@dataclass
class Case:
    method: str
    template: str  # the route as registered (for the route walk in tests/web/test_access.py)
    path: Callable[[dict], str]
    outsiders: tuple[str, ...]
    insider: str
    body: Callable[[dict], Any] | None = None
    multipart: Callable[[dict], aiohttp.FormData] | None = None
    # statuses the in-scope user may get: 2xx, or the answer of a step after the check (no
    # Asterisk here: 503/500; the agent not on a call: 409)
    ok: tuple[int, ...] = (200, 201)
    then: Callable[[Any, dict], None] | None = None
    extra: dict = field(default_factory=dict)


def csv_form(scrubbed: bool = False) -> Callable[[dict], aiohttp.FormData]:
    def build(_ctx: dict) -> aiohttp.FormData:
        form = aiohttp.FormData()
        content = "0612000001\n0612000002\n" if scrubbed else CSV  # Bloctel: numbers kept
        form.add_field("file", content.encode(), filename="c.csv", content_type="text/csv")
        if scrubbed:
            form.add_field("scrubbed_at", datetime.now(UTC).isoformat())
        return form

    return build


def _evaluation_edit_kept_both_names(runtime, ctx) -> None:
    row = runtime.recording.repo.evaluation(ctx["evaluation"])
    assert row.evaluator == "admin1" and row.last_edited_by == "supervisor1"
    assert row.last_edited_at is not None
    entry = runtime.audit.list(action="quality.evaluation.update")[0]
    assert entry.actor == "supervisor1"
    assert runtime.recording.evaluation_view(row)["last_edited_by"] == "supervisor1"


def _attempt_result_audited(runtime, ctx) -> None:
    entries = runtime.audit.list(action="attempt.result")
    assert [(e.actor, e.target) for e in entries] == [("agent1", str(ctx["attempt"]))]


AGENTS = ("agent2",)
SUPERVISORS = ("supervisor2",)
BOTH = ("agent2", "supervisor2")
LATER = lambda _c: {"at": (datetime.now(UTC) + timedelta(days=2)).isoformat()}

OBJECT_ROUTES: list[Case] = [
    # --- outbound: the agents' results, callbacks and preview
    Case(
        "POST",
        "/api/outbound/attempts/{id}/result",
        lambda c: f"/api/outbound/attempts/{c['attempt']}/result",
        AGENTS,
        "agent1",
        body=lambda _c: {"refused": True, "do_not_call": True, "disposition": "refus"},
        then=_attempt_result_audited,
    ),
    Case(
        "POST",
        "/api/outbound/attempts/{id}/result",
        lambda c: f"/api/outbound/attempts/{c['attempt2']}/result",
        ("supervisor2",),
        "supervisor1",
        body=lambda _c: {"disposition": "vu"},
    ),
    Case(
        "POST",
        "/api/outbound/contacts/{id}/callback",
        lambda c: f"/api/outbound/contacts/{c['called']}/callback",
        AGENTS,
        "agent1",
        body=LATER,
    ),
    Case(
        "POST",
        "/api/outbound/preview/{id}/dial",
        lambda c: f"/api/outbound/preview/{c['reserved']}/dial",
        AGENTS,
        "agent1",
        body=dict,
        ok=(201, 409, 500, 503),
    ),  # 409: campaign not running or engine refusal; 500/503: no Asterisk
    Case(
        "POST",
        "/api/outbound/preview/{id}/skip",
        lambda c: f"/api/outbound/preview/{c['reserved']}/skip",
        AGENTS,
        "agent1",
        body=dict,
    ),
    Case(
        "POST",
        "/api/outbound/campaigns/{id}/join",
        lambda c: f"/api/outbound/campaigns/{c['campaign']}/join",
        ("agent3",),
        "agent1",
        ok=(200, 500, 503),
    ),  # 500/503: no Asterisk here
    Case(
        "POST",
        "/api/outbound/campaigns/{id}/leave",
        lambda c: f"/api/outbound/campaigns/{c['campaign']}/leave",
        ("agent3",),
        "agent1",
        ok=(200, 500, 503),
    ),
    # --- outbound: supervisors' campaigns, contacts and imports
    Case(
        "GET",
        "/api/outbound/campaigns/{id}",
        lambda c: f"/api/outbound/campaigns/{c['campaign']}",
        SUPERVISORS,
        "supervisor1",
    ),
    Case(
        "GET", "/outbound/campaigns/{id}", lambda c: f"/outbound/campaigns/{c['campaign']}", SUPERVISORS, "supervisor1"
    ),
    Case(
        "GET",
        "/api/outbound/campaigns/{id}/contacts",
        lambda c: f"/api/outbound/campaigns/{c['campaign']}/contacts",
        SUPERVISORS,
        "supervisor1",
    ),
    Case(
        "PATCH",
        "/api/outbound/campaigns/{id}",
        lambda c: f"/api/outbound/campaigns/{c['campaign']}",
        SUPERVISORS,
        "supervisor1",
        body=lambda _c: {"ring_seconds": 33},
    ),
    Case(
        "PUT",
        "/api/outbound/campaigns/{id}/agents",
        lambda c: f"/api/outbound/campaigns/{c['campaign']}/agents",
        SUPERVISORS,
        "supervisor1",
        body=lambda _c: {"agents": ["agent1", "agent2"]},
    ),
    Case(
        "POST",
        "/api/outbound/campaigns/{id}/imports",
        lambda c: f"/api/outbound/campaigns/{c['campaign']}/imports",
        SUPERVISORS,
        "supervisor1",
        multipart=csv_form(),
    ),
    Case(
        "POST",
        "/api/outbound/campaigns/{id}/bloctel-scrub",
        lambda c: f"/api/outbound/campaigns/{c['campaign']}/bloctel-scrub",
        SUPERVISORS,
        "supervisor1",
        multipart=csv_form(scrubbed=True),
    ),
    Case(
        "GET",
        "/api/outbound/imports/{id}",
        lambda c: f"/api/outbound/imports/{c['import']}",
        SUPERVISORS,
        "supervisor1",
    ),
    Case(
        "POST",
        "/api/outbound/imports/{id}/cancel",
        lambda c: f"/api/outbound/imports/{c['import2']}/cancel",
        SUPERVISORS,
        "supervisor1",
    ),
    Case(
        "POST",
        "/api/outbound/imports/{id}/confirm",
        lambda c: f"/api/outbound/imports/{c['import']}/confirm",
        SUPERVISORS,
        "supervisor1",
    ),
    Case(
        "GET",
        "/api/outbound/contacts/{id}",
        lambda c: f"/api/outbound/contacts/{c['called']}",
        SUPERVISORS,
        "supervisor1",
    ),
    Case("GET", "/outbound/contacts/{id}", lambda c: f"/outbound/contacts/{c['called']}", SUPERVISORS, "supervisor1"),
    Case(
        "GET",
        "/api/outbound/contacts/{id}/decisions",
        lambda c: f"/api/outbound/contacts/{c['called']}/decisions",
        SUPERVISORS,
        "supervisor1",
    ),
    Case(
        "POST",
        "/api/outbound/contacts/{id}/check",
        lambda c: f"/api/outbound/contacts/{c['called']}/check",
        SUPERVISORS,
        "supervisor1",
    ),
    Case(
        "POST",
        "/api/outbound/campaigns/{id}/{action}",
        lambda c: f"/api/outbound/campaigns/{c['campaign']}/pause",
        SUPERVISORS,
        "supervisor1",
        ok=(200, 409),
    ),  # a draft campaign cannot be paused: the check came first
    # --- recordings and quality
    Case("GET", "/api/recordings/{id}", lambda c: f"/api/recordings/{c['recording']}", SUPERVISORS, "supervisor1"),
    Case("GET", "/recordings/{id}", lambda c: f"/recordings/{c['recording']}", SUPERVISORS, "supervisor1"),
    Case(
        "GET", "/recordings/{id}/audio", lambda c: f"/recordings/{c['recording']}/audio", BOTH, "supervisor1", ok=(404,)
    ),  # in scope, but this test recording has no audio
    Case(
        "POST",
        "/api/quality/evaluations",
        lambda _c: "/api/quality/evaluations",
        SUPERVISORS,
        "supervisor1",
        body=lambda c: {"recording_id": c["recording"], "grid_id": c["grid"], "answers": {"a": 1}},
    ),
    Case(
        "PUT",
        "/api/quality/evaluations/{id}",
        lambda c: f"/api/quality/evaluations/{c['evaluation']}",
        SUPERVISORS,
        "supervisor1",
        body=lambda _c: {"answers": {"a": 0}, "comment": "revu"},
        then=_evaluation_edit_kept_both_names,
    ),
    Case(
        "POST",
        "/api/agent/evaluations/{id}/acknowledge",
        lambda c: f"/api/agent/evaluations/{c['evaluation']}/acknowledge",
        AGENTS,
        "agent1",
    ),
    # --- knowledge base: an article tagged with the queue sales (supervisor1's)
    Case(
        "PUT",
        "/api/knowledge/{id}",
        lambda c: f"/api/knowledge/{c['article']}",
        BOTH,
        "supervisor1",
        body=lambda _c: {"title": "Litige", "body": "Texte revu", "tags": ["queue:sales"], "comment": "revu"},
    ),
    Case("GET", "/knowledge/{id}/edit", lambda c: f"/knowledge/{c['article']}/edit", BOTH, "supervisor1"),
    Case("GET", "/knowledge/{id}/history", lambda c: f"/knowledge/{c['article']}/history", BOTH, "supervisor1"),
    Case(
        "GET",
        "/api/knowledge/{id}/revisions",
        lambda c: f"/api/knowledge/{c['article']}/revisions",
        BOTH,
        "supervisor1",
    ),
    Case(
        "GET",
        "/api/knowledge/{id}/revisions/{number}",
        lambda c: f"/api/knowledge/{c['article']}/revisions/1",
        BOTH,
        "supervisor1",
    ),
    Case(
        "POST",
        "/api/knowledge/{id}/revisions/{number}/restore",
        lambda c: f"/api/knowledge/{c['article']}/revisions/1/restore",
        BOTH,
        "supervisor1",
    ),
    # --- supervision and the agent desk
    Case(
        "POST",
        "/api/supervision/agents/{agent}/{action}",
        lambda _c: "/api/supervision/agents/agent1/pause",
        SUPERVISORS,
        "supervisor1",
        body=lambda _c: {"reason": "brief"},
        ok=(200, 503),
    ),  # 503: no Asterisk here
    Case(
        "POST",
        "/api/supervision/spy",
        lambda _c: "/api/supervision/spy",
        SUPERVISORS,
        "supervisor1",
        body=lambda _c: {"agent": "agent1", "mode": "listen"},
        ok=(201, 409),
    ),  # 409: agent1 is not on a call
    Case(
        "POST",
        "/api/agent/wrapup",
        lambda _c: "/api/agent/wrapup",
        AGENTS,
        "agent1",
        body=lambda _c: {"uniqueid": "call-1", "notes": "rappeler lundi"},
    ),
    # --- a call's legs: agent1's stored call "call-1" in queue sales
    Case("GET", "/api/calls/{call}/legs", lambda _c: "/api/calls/call-1/legs", BOTH, "agent1"),
    Case("GET", "/api/calls/{call}/legs", lambda _c: "/api/calls/call-1/legs", BOTH, "supervisor1"),
    # --- call control: agent1's live call "live-1" in queue sales (404 for the insider: the
    # call passes the check, then has no agent channel here, there being no Asterisk)
    *[
        Case(
            "POST",
            f"/api/calls/{{call}}/{action}",
            lambda _c, action=action: f"/api/calls/live-1/{action}",
            BOTH,
            insider,
            body=body,
            ok=(200, 404, 409),
        )
        for action, body in (
            ("hangup", None),
            ("hold", None),
            ("resume", None),
            ("mute", None),
            ("unmute", None),
            ("dtmf", lambda _c: {"digits": "12#"}),
            ("transfer", lambda _c: {"kind": "agent", "target": "agent2"}),
            ("transfer/complete", None),
            ("transfer/cancel", None),
            ("transfer/merge", None),
            ("leave", None),
        )
        for insider in ("agent1", "supervisor1")
    ],
    # --- ask a supervisor: agent1's live call "live-1" (only the agent on the call may ask; the
    # other roles are refused by role), and the open request on agent1's call "live-2" of queue
    # sales (supervisor1 passes the check, then agent1 is not on a call for the board: 409)
    Case(
        "POST",
        "/api/calls/{call}/ask-supervisor",
        lambda _c: "/api/calls/live-1/ask-supervisor",
        BOTH,
        "agent1",
        body=lambda _c: {"reason": "client mécontent"},
        ok=(201,),
        then=lambda runtime, _c: _asked_audited(runtime),
    ),
    Case(
        "GET",
        "/api/calls/{call}/ask-supervisor",
        lambda _c: "/api/calls/live-1/ask-supervisor",
        BOTH,
        "agent1",
    ),
    Case(
        "POST",
        "/api/calls/{call}/ask-supervisor/cancel",
        lambda _c: "/api/calls/live-1/ask-supervisor/cancel",
        BOTH,
        "agent1",
        ok=(200,),
    ),
    Case(
        "DELETE",
        "/api/calls/{call}/ask-supervisor",
        lambda _c: "/api/calls/live-1/ask-supervisor",
        BOTH,
        "agent1",
        ok=(200, 404),  # 404: cancelled by the case above
    ),
    Case(
        "POST",
        "/api/supervision/requests/{id}/take",
        lambda c: f"/api/supervision/requests/{c['request']}/take",
        ("agent1", "agent2", "supervisor2"),
        "supervisor1",
        body=lambda _c: {"mode": "listen"},
        ok=(200, 409, 503),
    ),
]


def _asked_audited(runtime) -> None:
    entry = runtime.audit.list(action="assistance.ask")[0]
    assert (entry.actor, entry.target, entry.details_dict["reason"]) == ("agent1", "live-1", "client mécontent")


async def _login(server: TestServer, username: str) -> tuple[TestClient, str]:
    client = await logged_in(server, username, PASSWORD)
    return client, client.csrf


def snapshot(runtime) -> dict[str, list]:
    """Every row of every table (but sessions): what a refused request must leave as it was."""
    rows = {}
    with runtime.database.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in VOLATILE:
                continue
            rows[table.name] = sorted(map(tuple, conn.execute(text(f"SELECT * FROM {table.name}"))), key=repr)
    return rows


@pytest.fixture
async def center(database, tmp_path):
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None, database=database)
    server = TestServer(create_app(runtime))
    await server.start_server()
    for name in ("agent1", "agent2", "agent3"):  # agent3: assigned to no campaign
        await runtime.acd.create_agent(
            name, PASSWORD, name.title(), {}, "admin1", team="north" if name == "agent1" else "south"
        )
    for name, role in (("supervisor1", "supervisor"), ("supervisor2", "supervisor"), ("admin1", "admin")):
        runtime.users.create_user(name, PASSWORD, role=role)
    runtime.acd_repo.give_scope("supervisor1", "queue", "sales")
    runtime.acd_repo.give_scope("supervisor2", "queue", "billing")
    runtime.agent_board.apply(
        ev.QueueMemberChanged(change="added", queue="sales", interface="PJSIP/agent1", member_name="agent1", status=1)
    )
    ctx = await _objects(runtime)
    # agent1 answers a caller of queue sales: the live call of the call-control routes
    runtime.call_tracker.apply(ev.QueueCallerJoined(queue="sales", uniqueid="live-1", caller_number="0611111111"))
    runtime.call_tracker.apply(
        ev.AgentConnected(queue="sales", uniqueid="live-1", interface="PJSIP/agent1", member_name="agent1")
    )
    # agent1's second call, on which agent1 asked for a supervisor: the request to take
    runtime.call_tracker.apply(ev.QueueCallerJoined(queue="sales", uniqueid="live-2", caller_number="0611111112"))
    runtime.call_tracker.apply(
        ev.AgentConnected(queue="sales", uniqueid="live-2", interface="PJSIP/agent1", member_name="agent1")
    )
    ctx["request"] = (await runtime.assistance.ask("agent1", "agent", "live-2", "aide")).id
    clients = {
        name: await _login(server, name)
        for name in ("agent1", "agent2", "agent3", "supervisor1", "supervisor2", "admin1")
    }
    yield runtime, ctx, clients
    for client, _token in clients.values():
        await client.close()
    await server.close()


async def _objects(runtime) -> dict[str, int]:
    """agent1's objects, in queue sales and in the campaign that supervisor1 supervises."""
    out = runtime.outbound
    now = datetime.now(UTC)
    campaign = await out.campaigns.create_campaign(
        "Printemps", {"mode": "preview", "caller_ids": ["0162000001"]}, "admin1"
    )
    cid = campaign["id"]
    runtime.acd_repo.give_scope("supervisor1", "campaign", str(cid))  # a campaign scope (0012)
    for code in ("refus", "vu"):  # the codes the results below pick
        await runtime.callcenter.add_wrapup_code(WrapupCode(code), "admin1", campaign=cid)
    await out.campaigns.set_agents(cid, ["agent1", "agent2"], "admin1")  # agent2 is assigned too
    preview = await out.campaigns.preview_import(cid, CSV.encode(), "c.csv", "utf-8", "admin1")
    await out.campaigns.commit_import(preview["import_id"], "admin1")
    contacts, _ = out.repo.contacts(cid, limit=10)
    called, reserved, other = contacts[0], contacts[1], contacts[2]
    attempts = [
        out.repo.create_attempt(
            campaign_id=cid,
            contact_id=c.id,
            nsn=c.nsn,
            number=c.number,
            mode="preview",
            agent="agent1",
            started_at=now,
            outcome="connected",
        )
        for c in (called, other)
    ]
    out.repo.update_contact(
        reserved.id, now, status="reserved", reserved_by="agent1", reserved_until=now + timedelta(minutes=10)
    )
    pending = await out.campaigns.preview_import(cid, b"nom;numero\nE;0612000005\n", "d.csv", "utf-8", "admin1")
    pending2 = await out.campaigns.preview_import(cid, b"nom;numero\nF;0612000006\n", "e.csv", "utf-8", "admin1")
    runtime.acd_repo.upsert_calls(
        [
            dict(
                uniqueid="call-1",
                caller_number="0612345678",
                queue="sales",
                agent="agent1",
                created_at=now,
                outcome="answered",
            )
        ]
    )
    recording = runtime.recording.repo.insert(
        call_uniqueid="call-1", agent="agent1", queue="sales", started_at=now, status="recording", retention_days=30
    )
    grid = runtime.recording.save_grid(
        None, {"name": "g", "sections": [{"title": "s", "criteria": [{"id": "a", "label": "a"}]}]}, "admin1"
    )
    evaluation = runtime.recording.evaluate(recording.id, grid["id"], {"a": 1}, "", "admin1")
    article = runtime.knowledge.repository.add(
        validate_draft({"title": "Litige", "body": "Texte", "tags": ["queue:sales"]}), "admin1"
    )
    return {
        "campaign": cid,
        "called": called.id,
        "reserved": reserved.id,
        "attempt": attempts[0].id,
        "attempt2": attempts[1].id,
        "import": pending["import_id"],
        "import2": pending2["import_id"],
        "recording": recording.id,
        "grid": grid["id"],
        "evaluation": evaluation["id"],
        "article": article.id,
    }


async def _send(clients, who: str, case: Case, ctx: dict):
    client, token = clients[who]
    kwargs: dict[str, Any] = {
        "headers": {"X-CSRF-Token": token, "Accept": "application/json"},
        "allow_redirects": False,
    }
    if case.multipart is not None:
        kwargs["data"] = case.multipart(ctx)
    elif case.body is not None:
        kwargs["json"] = case.body(ctx)
    return await client.request(case.method, case.path(ctx), **kwargs)


async def test_out_of_scope_users_get_403_and_change_nothing_in_scope_users_pass(center):
    """The whole table walked; every miss is listed (not only the first)."""
    runtime, ctx, clients = center
    misses, refused = [], 0
    for case in OBJECT_ROUTES:
        for outsider in case.outsiders:
            before = snapshot(runtime)
            resp = await _send(clients, outsider, case, ctx)
            where = f"{outsider} {case.method} {case.path(ctx)}"
            body = await resp.text()
            if resp.status != 403 or '"error": "forbidden"' not in body:
                misses.append(f"{where}: {resp.status} {body[:120]}")
            changed = [t for t, rows in snapshot(runtime).items() if rows != before[t]]
            if changed:
                misses.append(f"{where}: changed {', '.join(changed)}")
            refused += 1
        resp = await _send(clients, case.insider, case, ctx)
        if resp.status not in case.ok:
            misses.append(f"{case.insider} {case.method} {case.path(ctx)}: {resp.status} {(await resp.text())[:120]}")
        elif case.then is not None:
            try:
                case.then(runtime, ctx)
            except (AssertionError, IndexError, AttributeError) as exc:
                misses.append(
                    f"{case.insider} {case.method} {case.path(ctx)}: not recorded ({type(exc).__name__} {exc})"
                )
    assert misses == []
    assert refused >= len(OBJECT_ROUTES)


async def test_admin_acts_everywhere(center):
    runtime, ctx, clients = center
    for case in OBJECT_ROUTES:
        if (
            case.template.startswith("/api/agent/")
            or "/preview/" in case.template
            or case.template.endswith(("/callback", "/join", "/leave"))
            or "/ask-supervisor" in case.template
        ):
            continue  # the agent desk is the agents' own (admins have no desk)
        resp = await _send(clients, "admin1", case, ctx)
        assert resp.status != 403, (case.method, case.path(ctx), await resp.text())


async def test_supervisors_see_only_their_campaigns_and_evaluations(center):
    runtime, ctx, clients = center
    inside, _ = clients["supervisor1"]
    outside, _ = clients["supervisor2"]
    assert [c["id"] for c in await (await inside.get("/api/outbound/campaigns")).json()] == [ctx["campaign"]]
    assert await (await outside.get("/api/outbound/campaigns")).json() == []
    assert [e["id"] for e in await (await inside.get("/api/quality/evaluations")).json()] == [ctx["evaluation"]]
    assert await (await outside.get("/api/quality/evaluations")).json() == []
    assert (await (await outside.get("/api/quality/averages")).json())["by_agent"] == []
    assert [a["key"] for a in (await (await inside.get("/api/quality/averages")).json())["by_agent"]] == ["agent1"]
    page = await (await outside.get("/quality")).text()
    assert f"/recordings/{ctx['recording']}" not in page


async def test_a_supervisor_who_creates_a_campaign_supervises_it(center):
    runtime, ctx, clients = center
    client, token = clients["supervisor2"]
    resp = await client.post(
        "/api/outbound/campaigns",
        headers={"X-CSRF-Token": token},
        json={"name": "Hiver", "mode": "preview", "caller_ids": "0162000001"},
    )
    assert resp.status == 201
    cid = (await resp.json())["id"]
    assert (await client.get(f"/api/outbound/campaigns/{cid}")).status == 200
    other, _ = clients["supervisor1"]
    assert (await other.get(f"/api/outbound/campaigns/{cid}")).status == 403


async def test_system_page_shows_supervisors_only_the_channels_of_their_scope(center):
    runtime, ctx, clients = center
    runtime.call_tracker.apply(ev.QueueCallerJoined(queue="sales", uniqueid="900.1", caller_number="0611111111"))
    runtime.call_tracker.apply(ev.QueueCallerJoined(queue="billing", uniqueid="901.1", caller_number="0622222222"))
    for uniqueid, name in (
        ("900.1", "PJSIP/customers-sales"),
        ("901.1", "PJSIP/customers-billing"),
        ("902.1", "PJSIP/customers-ivr"),
    ):
        runtime.channels.on_created(ev.ChannelCreated(uniqueid=uniqueid, linkedid=uniqueid, channel=name, state="Ring"))
    pages = {}
    for who in ("supervisor1", "supervisor2", "admin1"):
        client, _ = clients[who]
        resp = await client.get("/system")
        assert resp.status == 200
        pages[who] = await resp.text()
    assert "customers-sales" in pages["supervisor1"]
    assert "customers-billing" not in pages["supervisor1"]
    assert "customers-ivr" not in pages["supervisor1"]
    assert "customers-billing" in pages["supervisor2"] and "customers-sales" not in pages["supervisor2"]
    assert all(f"customers-{q}" in pages["admin1"] for q in ("sales", "billing", "ivr"))


async def _channel_messages(ws, count: int) -> list[dict]:
    """The next `count` live channel messages (other pushes, like the wallboard, skipped)."""
    topics = {ev.ChannelCreated.topic, ev.ChannelAnswered.topic, ev.ChannelHungup.topic}
    found = []
    while len(found) < count:
        message = await ws.receive_json(timeout=5)
        if message.get("topic") in topics:
            found.append(message)
    return found


async def test_live_channel_feed_reaches_supervisors_of_the_channels_scope_only(center):
    runtime, ctx, clients = center
    runtime.call_tracker.apply(ev.QueueCallerJoined(queue="sales", uniqueid="910.1", caller_number="0611111111"))
    runtime.call_tracker.apply(ev.QueueCallerJoined(queue="billing", uniqueid="911.1", caller_number="0622222222"))
    sockets = {}
    for who in ("supervisor1", "supervisor2", "admin1"):
        client, _ = clients[who]
        origin = f"http://{client.server.host}:{client.server.port}"
        sockets[who] = await client.ws_connect("/ws", headers={"Origin": origin})
        assert (await sockets[who].receive_json(timeout=2))["topic"] == "hello"
    # in order: sales call, billing call, an IVR channel of nobody, then the sales call ends
    # (its call record already closed: whoever was shown it is told)
    for uniqueid, name in (
        ("910.1", "PJSIP/customers-sales"),
        ("911.1", "PJSIP/customers-billing"),
        ("912.1", "PJSIP/customers-ivr"),
    ):
        runtime.bus.publish(ev.ChannelCreated(uniqueid=uniqueid, linkedid=uniqueid, channel=name, state="Ring"))
    await runtime.bus.drain()  # the channels were shown while their calls were open
    runtime.call_tracker.open.pop("910.1")
    runtime.bus.publish(ev.ChannelHungup(uniqueid="910.1", linkedid="910.1", channel="PJSIP/customers-sales", cause=16))
    runtime.bus.publish(
        ev.ChannelHungup(uniqueid="911.1", linkedid="911.1", channel="PJSIP/customers-billing", cause=16)
    )
    seen = {
        who: [(m["topic"], m["uniqueid"]) for m in await _channel_messages(ws, n)]
        for who, ws, n in ((w, s, {"admin1": 5}.get(w, 2)) for w, s in sockets.items())
    }
    created, hungup = ev.ChannelCreated.topic, ev.ChannelHungup.topic
    assert seen["supervisor1"] == [(created, "910.1"), (hungup, "910.1")]
    assert seen["supervisor2"] == [(created, "911.1"), (hungup, "911.1")]
    assert seen["admin1"] == [
        (created, "910.1"),
        (created, "911.1"),
        (created, "912.1"),
        (hungup, "910.1"),
        (hungup, "911.1"),
    ]
    for ws in sockets.values():
        await ws.close()


async def test_an_edited_evaluation_shows_its_evaluator_and_its_last_editor(center):
    runtime, ctx, clients = center
    client, token = clients["supervisor1"]
    resp = await client.put(
        f"/api/quality/evaluations/{ctx['evaluation']}", headers={"X-CSRF-Token": token}, json={"answers": {"a": 0}}
    )
    assert resp.status == 200
    view = await resp.json()
    assert view["evaluator"] == "admin1" and view["last_edited_by"] == "supervisor1"
    page = await (await client.get(f"/recordings/{ctx['recording']}")).text()
    assert "admin1 (modifiée par supervisor1 le " in page


async def test_a_supervisors_campaign_scope_given_by_an_admin_decides_which_campaigns_they_act_on(center):
    """An admin scopes supervisor2 to one campaign (PATCH /api/users): they see and act on that
    one only; the scope taken away, they are refused again."""
    runtime, ctx, clients = center
    admin, admin_token = clients["admin1"]
    other = await runtime.outbound.campaigns.create_campaign(
        "Automne", {"mode": "preview", "caller_ids": "0162000002"}, "admin1", "admin"
    )
    sup, sup_token = clients["supervisor2"]
    assert (await sup.get(f"/api/outbound/campaigns/{ctx['campaign']}")).status == 403

    resp = await admin.patch(
        "/api/users/supervisor2",
        headers={"X-CSRF-Token": admin_token},
        json={"scopes": {"campaigns": [ctx["campaign"]]}},
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["scopes"]["campaigns"] == [str(ctx["campaign"])]
    assert [c["id"] for c in await (await sup.get("/api/outbound/campaigns")).json()] == [ctx["campaign"]]
    assert (await sup.get(f"/api/outbound/campaigns/{ctx['campaign']}")).status == 200
    assert (await sup.get(f"/api/outbound/campaigns/{other['id']}")).status == 403
    edited = await sup.patch(
        f"/api/outbound/campaigns/{other['id']}", headers={"X-CSRF-Token": sup_token}, json={"max_attempts": 2}
    )
    assert edited.status == 403

    resp = await admin.patch(
        "/api/users/supervisor2", headers={"X-CSRF-Token": admin_token}, json={"scopes": {"campaigns": []}}
    )
    assert resp.status == 200
    assert (await sup.get(f"/api/outbound/campaigns/{ctx['campaign']}")).status == 403
    assert await (await sup.get("/api/outbound/campaigns")).json() == []
