"""The agent desk (live over the WebSocket) and the queue/agent administration API."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import aiohttp_jinja2
from aiohttp import web

from ...adapters.web.auth import current_user, roles
from ...adapters.web.realtime import RealtimeHub
from ...adapters.web.requests import read_json
from ...core.errors import Conflict, InvalidInput, NotFound
from ...core.text import Text
from ..agents.model import AgentStateChanged
from .model import OVERFLOW_KINDS, SIP_REALM, STRATEGIES, QueueDefinition, check_phone_choice, parse_skills
from .service import AcdService

ACD: web.AppKey[AcdService] = web.AppKey("acd", AcdService)


# --- the agent desk -----------------------------------------------------------------------------


@roles("agent")
async def desk_page(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("agent_desk.html", request, {})


@roles("agent")
async def api_desk(request: web.Request) -> web.StreamResponse:
    """Everything the desk shows at load time (then the WebSocket keeps it current)."""
    acd = request.app[ACD]
    user = current_user(request)
    status = acd.status_of(user.username)
    if status is None:
        raise NotFound(Text("%(username)s has no agent account", username=user.username), field="username")
    eligible = await acd.eligible_queues(user.username)
    reasons = await acd.pause_reasons()
    return web.json_response(
        {
            "status": status.to_dict(),
            "queues": [
                {
                    "name": q.name,
                    "display_name": q.display_name or q.name,
                    "dispositions": list(q.dispositions),
                    "penalty": penalty,
                }
                for q, penalty in eligible
            ],
            "pause_reasons": [{"code": r.code, "label": r.label} for r in reasons],
        }
    )


@roles("agent")
async def api_login(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    queues = body.get("queues")
    if queues is not None and (not isinstance(queues, list) or not all(isinstance(q, str) for q in queues)):
        raise InvalidInput("queues must be a list of queue names", field="queues")
    phone = check_phone_choice(body.get("phone"))
    joined = await request.app[ACD].login(current_user(request).username, queues, phone)
    return web.json_response({"queues": joined, "phone": phone})


@roles("agent")
async def api_pause(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    reason = body.get("reason")
    if not isinstance(reason, str):
        raise InvalidInput("reason is required", field="reason")
    await request.app[ACD].pause(current_user(request).username, reason)
    return web.json_response({"ok": True})


@roles("agent")
async def api_unpause(request: web.Request) -> web.StreamResponse:
    await request.app[ACD].unpause(current_user(request).username)
    return web.json_response({"ok": True})


@roles("agent")
async def api_logout(request: web.Request) -> web.StreamResponse:
    await request.app[ACD].logout(current_user(request).username)
    return web.json_response({"ok": True})


@roles("agent")
async def api_wrapup(request: web.Request) -> web.StreamResponse:
    """Save the agent's notes, disposition and ticket with the call (and the customer's history)."""
    user = current_user(request)
    body = await read_json(request)
    saved = await asyncio.to_thread(request.app[ACD].save_wrapup, user.username, body)
    return web.json_response(saved)


# --- administration ------------------------------------------------------------------------------


def _queue_from_json(body: dict) -> QueueDefinition:
    known = set(QueueDefinition.__dataclass_fields__)
    unknown = set(body) - known
    if unknown:
        raise InvalidInput(
            Text("unknown queue field(s): %(value)s", value=", ".join(sorted(unknown))), field=sorted(unknown)[0]
        )
    try:
        values = dict(body)
        for key in ("numbers", "dispositions"):
            if key in values:
                values[key] = tuple(values[key])
        return QueueDefinition(**values)
    except TypeError as exc:
        raise InvalidInput(Text("bad queue: %(exc)s", exc=exc)) from None


@roles("supervisor", "admin")
async def api_queues(request: web.Request) -> web.StreamResponse:
    queues = await request.app[ACD].queues()
    return web.json_response(
        [
            {
                **q.__dict__,
                "numbers": list(q.numbers),
                "dispositions": list(q.dispositions),
                "required_skills": dict(q.required_skills),
                "hours": dict(q.hours),
            }
            for q in queues
        ]
    )


@roles("admin")
async def api_queue_create(request: web.Request) -> web.StreamResponse:
    queue = _queue_from_json(await read_json(request))
    await request.app[ACD].create_queue(queue, current_user(request).username)
    return web.json_response({"name": queue.name}, status=201)


@roles("admin")
async def api_queue_update(request: web.Request) -> web.StreamResponse:
    acd = request.app[ACD]
    name = request.match_info["name"]
    current = await acd.queue(name)
    body = await read_json(request)
    body.pop("name", None)
    queue = _queue_from_json({**current.__dict__, **body, "name": name})
    await acd.update_queue(queue, current_user(request).username)
    return web.json_response({"name": name})


@roles("supervisor", "admin")
async def api_agents(request: web.Request) -> web.StreamResponse:
    return web.json_response(
        [
            {
                "username": a.username,
                "display_name": a.display_name,
                "sip_username": a.sip_username,
                "skills": dict(a.skills),
                "status": status.to_dict() if status is not None else None,
            }
            for a, status in await request.app[ACD].agents_with_status()
        ]
    )


@roles("admin")
async def api_agent_create(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    for key in ("username", "password", "display_name"):
        if not isinstance(body.get(key), str) or not body.get(key):
            raise InvalidInput(Text("%(key)s is required", key=key), field=key)
    skills = body.get("skills", "")
    if not isinstance(skills, (str, dict)):
        raise InvalidInput("skills: 'fr:5, billing:3' or an object", field="skills")
    account = await request.app[ACD].create_agent(
        body["username"],
        body["password"],
        body["display_name"],
        skills,
        current_user(request).username,
        team=str(body.get("team", "")),
    )
    return web.json_response(
        {"username": account.username, "sip_username": account.sip_username, "sip_password": account.sip_password},
        status=201,
    )


@roles("agent")
async def api_my_sip_account(request: web.Request) -> web.StreamResponse:
    """The agent's SIP user. The password is not stored (only its digests): it was shown at
    creation; a forgotten one is replaced with POST /api/agent/sip-account/reset."""
    account = await request.app[ACD].agent(current_user(request).username)
    return web.json_response({"sip_username": account.sip_username, "realm": SIP_REALM})


@roles("agent")
async def api_my_sip_password_reset(request: web.Request) -> web.StreamResponse:
    """A new SIP password for the agent's own phone, shown this once."""
    user = current_user(request).username
    account = await request.app[ACD].reset_sip_password(user, user)
    return web.json_response({"sip_username": account.sip_username, "sip_password": account.sip_password})


@roles("admin")
async def api_agent_sip_password_reset(request: web.Request) -> web.StreamResponse:
    """An admin gives a user's SIP account a new password, shown this once."""
    account = await request.app[ACD].reset_sip_password(request.match_info["username"], current_user(request).username)
    return web.json_response(
        {"username": account.username, "sip_username": account.sip_username, "sip_password": account.sip_password}
    )


@roles("agent", "supervisor", "admin")
async def api_call_legs(request: web.Request) -> web.StreamResponse:
    """A call's legs: each agent who handled it, their talk and hold seconds, how they got it
    (queue, blind / attended transfer, three-way, click-to-dial) and how they let it go."""
    user = current_user(request)
    acd = request.app[ACD]
    body = await asyncio.to_thread(acd.legs_for, user.username, user.role, request.match_info["call"])
    return web.json_response(body)


def add_routes(app: web.Application, acd: AcdService) -> None:
    app[ACD] = acd
    add_admin_routes(app)
    app.router.add_get("/agent", desk_page, name="agent-desk")
    app.router.add_get("/api/agent/desk", api_desk, name="api-agent-desk")
    app.router.add_get("/api/agent/sip-account", api_my_sip_account, name="api-agent-sip")
    app.router.add_post("/api/agent/sip-account/reset", api_my_sip_password_reset, name="api-agent-sip-reset")
    app.router.add_post("/api/agent/login", api_login, name="api-agent-login")
    app.router.add_post("/api/agent/pause", api_pause, name="api-agent-pause")
    app.router.add_post("/api/agent/unpause", api_unpause, name="api-agent-unpause")
    app.router.add_post("/api/agent/logout", api_logout, name="api-agent-logout")
    app.router.add_post("/api/agent/wrapup", api_wrapup, name="api-agent-wrapup")
    app.router.add_get("/api/calls/{call}/legs", api_call_legs, name="api-call-legs")
    app.router.add_get("/api/queues", api_queues, name="api-queues")
    app.router.add_post("/api/queues", api_queue_create, name="api-queue-create")
    app.router.add_patch("/api/queues/{name}", api_queue_update, name="api-queue-update")
    app.router.add_get("/api/agents", api_agents, name="api-agents")
    app.router.add_post("/api/agents", api_agent_create, name="api-agent-create")
    app.router.add_post(
        "/api/agents/{username}/sip-password", api_agent_sip_password_reset, name="api-agent-sip-password"
    )


def agent_state_pusher(hub: RealtimeHub):
    """Bus listener: each agent's state to their own pages (and to supervisors and admins)."""

    def state_changed(event) -> None:
        if isinstance(event, AgentStateChanged):
            hub.broadcast(
                {"topic": "agent_state", "username": event.username, "status": event.status},
                roles={"supervisor", "admin"},
                usernames={event.username},
            )

    return state_changed


# --- administration pages (server-rendered forms) --------------------------------------------------


def _form_queue(form, current: QueueDefinition | None) -> QueueDefinition:
    """A queue from the admin form; InvalidInput names the field that does not parse."""

    def number(field: str, default: int) -> int:
        text = str(form.get(field, "")).strip()
        if not text:
            return default
        if not text.isdigit():
            raise InvalidInput(Text("%(field)s: a whole number", field=field), field=field)
        return int(text)

    def listing(field: str) -> tuple[str, ...]:
        return tuple(x.strip() for x in str(form.get(field, "")).replace("\n", ",").split(",") if x.strip())

    hours = {}
    for line in str(form.get("hours", "")).splitlines():
        if line.strip():
            days, _, ranges = line.strip().partition(" ")
            hours[days] = ranges.strip()
    base = current or QueueDefinition(name=str(form.get("name", "")).strip())
    return replace(
        base,
        display_name=str(form.get("display_name", base.display_name)).strip(),
        strategy=str(form.get("strategy", base.strategy)),
        required_skills=parse_skills(str(form.get("required_skills", ""))),
        wrapup_seconds=number("wrapup_seconds", base.wrapup_seconds),
        max_wait_seconds=number("max_wait_seconds", base.max_wait_seconds),
        service_level_seconds=number("service_level_seconds", base.service_level_seconds),
        overflow_kind=str(form.get("overflow_kind", base.overflow_kind)),
        overflow_target=str(form.get("overflow_target", "")).strip(),
        numbers=listing("numbers"),
        dispositions=listing("dispositions"),
        callback_key=str(form.get("callback_key", "")).strip(),
        hours=hours,
        holidays=str(form.get("holidays", base.holidays)).strip(),
    )


async def _admin_context(request: web.Request, **extra) -> dict:
    acd = request.app[ACD]
    return {
        "queues": await acd.queues(),
        "agents": await acd.agents(),
        "skills": await acd.skills(),
        "strategies": STRATEGIES,
        "overflow_kinds": OVERFLOW_KINDS,
        "error": None,
        "created": None,
        "reset": None,
        "form": {},
        **extra,
    }


@roles("admin")
async def admin_page(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("admin_acd.html", request, await _admin_context(request))


@roles("admin")
async def admin_queue_submit(request: web.Request) -> web.StreamResponse:
    acd = request.app[ACD]
    form = await request.post()
    name = str(form.get("name", "")).strip()
    existing = {q.name: q for q in await acd.queues()}
    try:
        queue = _form_queue(form, existing.get(name))
        if name in existing:
            await acd.update_queue(queue, current_user(request).username)
        else:
            await acd.create_queue(queue, current_user(request).username)
    except (InvalidInput, Conflict) as error:  # Conflict: Asterisk did not take it (old one kept)
        context = await _admin_context(request, error=error, form=dict(form))
        return aiohttp_jinja2.render_template("admin_acd.html", request, context, status=400)
    raise web.HTTPSeeOther("/admin/acd")


@roles("admin")
async def admin_agent_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        for key in ("username", "display_name", "password"):
            if not str(form.get(key, "")).strip():
                raise InvalidInput(Text("%(key)s is required", key=key), field=key)
        account = await request.app[ACD].create_agent(
            str(form["username"]).strip(),
            str(form["password"]),
            str(form["display_name"]).strip(),
            str(form.get("skills", "")),
            current_user(request).username,
            team=str(form.get("team", "")).strip(),
        )
    except (InvalidInput, Conflict) as error:
        context = await _admin_context(request, error=error, form=dict(form))
        return aiohttp_jinja2.render_template("admin_acd.html", request, context, status=400)
    context = await _admin_context(request, created=account)
    return aiohttp_jinja2.render_template("admin_acd.html", request, context, status=201)


@roles("admin")
async def admin_sip_password_submit(request: web.Request) -> web.StreamResponse:
    """'Nouveau mot de passe SIP': the page shows the new password once (only digests are kept)."""
    account = await request.app[ACD].reset_sip_password(request.match_info["username"], current_user(request).username)
    context = await _admin_context(request, reset=account)
    return aiohttp_jinja2.render_template("admin_acd.html", request, context)


def add_admin_routes(app: web.Application) -> None:
    app.router.add_get("/admin/acd", admin_page, name="admin-acd")
    app.router.add_post("/admin/acd/queues", admin_queue_submit, name="admin-acd-queue")
    app.router.add_post("/admin/acd/agents", admin_agent_submit, name="admin-acd-agent")
    app.router.add_post(
        "/admin/acd/agents/{username}/sip-password", admin_sip_password_submit, name="admin-acd-sip-password"
    )
