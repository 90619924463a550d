"""The agent desk (live over the WebSocket) and the queue/agent administration API."""
from __future__ import annotations

import asyncio

import aiohttp_jinja2
from aiohttp import web

from ...adapters.web.auth import current_user, roles
from ...adapters.web.keys import RUNTIME
from ...adapters.web.realtime import RealtimeHub
from ...adapters.web.requests import read_json
from ...core import events as ev
from ...core.errors import InvalidInput, NotFound
from ..agents.model import AgentStateChanged
from ..cti.service import ScreenPopService
from .model import QueueDefinition


# --- the agent desk -----------------------------------------------------------------------------


@roles("agent")
async def desk_page(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("agent_desk.html", request, {})


@roles("agent")
async def api_desk(request: web.Request) -> web.StreamResponse:
    """Everything the desk shows at load time (then the WebSocket keeps it current)."""
    runtime = request.app[RUNTIME]
    user = current_user(request)
    status = runtime.agent_board.agents.get(user.username)
    if status is None:
        raise NotFound(f"{user.username} has no agent account", field="username")
    eligible = await runtime.acd.eligible_queues(user.username)
    reasons = await asyncio.to_thread(runtime.acd_repo.pause_reasons)
    return web.json_response({
        "status": status.to_dict(),
        "queues": [{"name": q.name, "display_name": q.display_name or q.name,
                    "dispositions": list(q.dispositions), "penalty": penalty} for q, penalty in eligible],
        "pause_reasons": [{"code": r.code, "label": r.label} for r in reasons],
    })


@roles("agent")
async def api_login(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    queues = body.get("queues")
    if queues is not None and (not isinstance(queues, list) or not all(isinstance(q, str) for q in queues)):
        raise InvalidInput("queues must be a list of queue names", field="queues")
    runtime = request.app[RUNTIME]
    joined = await runtime.acd.login(current_user(request).username, queues)
    return web.json_response({"queues": joined})


@roles("agent")
async def api_pause(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    reason = body.get("reason")
    if not isinstance(reason, str):
        raise InvalidInput("reason is required", field="reason")
    await request.app[RUNTIME].acd.pause(current_user(request).username, reason)
    return web.json_response({"ok": True})


@roles("agent")
async def api_unpause(request: web.Request) -> web.StreamResponse:
    await request.app[RUNTIME].acd.unpause(current_user(request).username)
    return web.json_response({"ok": True})


@roles("agent")
async def api_logout(request: web.Request) -> web.StreamResponse:
    await request.app[RUNTIME].acd.logout(current_user(request).username)
    return web.json_response({"ok": True})


@roles("agent")
async def api_wrapup(request: web.Request) -> web.StreamResponse:
    """Save the agent's notes, disposition and ticket with the call (and the customer's history)."""
    runtime = request.app[RUNTIME]
    user = current_user(request)
    body = await read_json(request)
    saved = await asyncio.to_thread(runtime.acd.save_wrapup, user.username, body, runtime.customers)
    return web.json_response(saved)


# --- administration ------------------------------------------------------------------------------


def _queue_from_json(body: dict) -> QueueDefinition:
    known = {f for f in QueueDefinition.__dataclass_fields__}
    unknown = set(body) - known
    if unknown:
        raise InvalidInput(f"unknown queue field(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    try:
        values = dict(body)
        for key in ("numbers", "dispositions"):
            if key in values:
                values[key] = tuple(values[key])
        return QueueDefinition(**values)
    except TypeError as exc:
        raise InvalidInput(f"bad queue: {exc}") from None


@roles("supervisor", "admin")
async def api_queues(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    queues = await asyncio.to_thread(runtime.acd_repo.queues)
    return web.json_response([{**q.__dict__, "numbers": list(q.numbers), "dispositions": list(q.dispositions),
                               "required_skills": dict(q.required_skills), "hours": dict(q.hours)}
                              for q in queues])


@roles("admin")
async def api_queue_create(request: web.Request) -> web.StreamResponse:
    queue = _queue_from_json(await read_json(request))
    await request.app[RUNTIME].acd.create_queue(queue, current_user(request).username)
    return web.json_response({"name": queue.name}, status=201)


@roles("admin")
async def api_queue_update(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    name = request.match_info["name"]
    current = await asyncio.to_thread(runtime.acd_repo.queue, name)
    body = await read_json(request)
    body.pop("name", None)
    queue = _queue_from_json({**{k: v for k, v in current.__dict__.items()}, **body, "name": name})
    await runtime.acd.update_queue(queue, current_user(request).username)
    return web.json_response({"name": name})


@roles("supervisor", "admin")
async def api_agents(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    agents = await asyncio.to_thread(runtime.acd_repo.agents)
    live = runtime.agent_board.agents
    return web.json_response([{"username": a.username, "display_name": a.display_name,
                               "sip_username": a.sip_username, "skills": dict(a.skills),
                               "status": live[a.username].to_dict() if a.username in live else None}
                              for a in agents])


@roles("admin")
async def api_agent_create(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    for key in ("username", "password", "display_name"):
        if not isinstance(body.get(key), str) or not body.get(key):
            raise InvalidInput(f"{key} is required", field=key)
    skills = body.get("skills", "")
    if not isinstance(skills, (str, dict)):
        raise InvalidInput("skills: 'fr:5, billing:3' or an object", field="skills")
    account = await request.app[RUNTIME].acd.create_agent(
        body["username"], body["password"], body["display_name"], skills,
        current_user(request).username, team=str(body.get("team", "")))
    return web.json_response({"username": account.username, "sip_username": account.sip_username,
                              "sip_password": account.sip_password}, status=201)


@roles("agent")
async def api_my_sip_account(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    account = await asyncio.to_thread(runtime.acd_repo.agent, current_user(request).username)
    return web.json_response({"sip_username": account.sip_username, "sip_password": account.sip_password})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/agent", desk_page, name="agent-desk")
    app.router.add_get("/api/agent/desk", api_desk, name="api-agent-desk")
    app.router.add_get("/api/agent/sip-account", api_my_sip_account, name="api-agent-sip")
    app.router.add_post("/api/agent/login", api_login, name="api-agent-login")
    app.router.add_post("/api/agent/pause", api_pause, name="api-agent-pause")
    app.router.add_post("/api/agent/unpause", api_unpause, name="api-agent-unpause")
    app.router.add_post("/api/agent/logout", api_logout, name="api-agent-logout")
    app.router.add_post("/api/agent/wrapup", api_wrapup, name="api-agent-wrapup")
    app.router.add_get("/api/queues", api_queues, name="api-queues")
    app.router.add_post("/api/queues", api_queue_create, name="api-queue-create")
    app.router.add_patch("/api/queues/{name}", api_queue_update, name="api-queue-update")
    app.router.add_get("/api/agents", api_agents, name="api-agents")
    app.router.add_post("/api/agents", api_agent_create, name="api-agent-create")


def bridge(runtime, hub: RealtimeHub) -> None:
    """Live updates: each agent's state to their own pages (and supervisors), screen-pops."""

    def state_changed(event: ev.Event) -> None:
        if isinstance(event, AgentStateChanged):
            hub.broadcast({"topic": "agent_state", "username": event.username, "status": event.status},
                          roles={"supervisor", "admin"}, usernames={event.username})

    runtime.bus.subscribe("realtime:agent-states", state_changed, topics=[AgentStateChanged.topic])
    pop = ScreenPopService(runtime.agent_board, runtime.call_tracker, runtime.customers.screen_pop,
                           lambda username, message: hub.broadcast(message, roles=set(), usernames={username}))
    runtime.screen_pop = pop
    runtime.bus.subscribe("cti:screen-pop", pop.on_event, topics=[ev.AgentCalled.topic])
