"""The call-center settings page (/admin/callcenter) and its JSON API: skills and agents'
levels, queues (every ACD setting), pause codes, wrap-up codes of queues and campaigns.

A page of its own rather than more forms on /admin/acd: that page creates queues and agents
with server-rendered forms; these settings are many small lists edited in place, which the
page does through the same JSON API the CLI's users and scripts get.
"""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from ...adapters.web.auth import current_user, roles
from ...adapters.web.requests import read_json
from ...core.errors import InvalidInput
from ...core.text import Text
from ..acd.model import MAX_SKILL_LEVEL, OVERFLOW_KINDS, STRATEGIES, QueueDefinition
from ..acd.service import queue_dict
from .model import PauseCode, WrapupCode
from .service import CallCenterService

CALLCENTER: web.AppKey[CallCenterService] = web.AppKey("callcenter", CallCenterService)


def _service(request: web.Request) -> CallCenterService:
    return request.app[CALLCENTER]


def _actor(request: web.Request) -> str:
    return current_user(request).username


def _text(body: dict, key: str, default: str | None = None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str):
        raise InvalidInput(Text("%(key)s is required (text)", key=key), field=key)
    return value


def _campaign(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput("campaign: a campaign number", field="campaign") from None
    if number < 1:
        raise InvalidInput("campaign: a campaign number", field="campaign")
    return number


def _scope(source: Any) -> dict:
    """queue=NAME or campaign=ID (exactly one), from a query string or a JSON body."""
    queue, campaign = source.get("queue"), source.get("campaign")
    if (queue is None) == (campaign is None):
        raise InvalidInput("give either queue or campaign", field="queue")
    return {"queue": str(queue)} if queue is not None else {"campaign": _campaign(campaign)}


# --- page ----------------------------------------------------------------------------------------


@roles("admin")
async def admin_page(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template(
        "admin_callcenter.html",
        request,
        {
            "strategies": STRATEGIES,
            "overflow_kinds": OVERFLOW_KINDS,
            "max_level": MAX_SKILL_LEVEL,
            # every setting of a new queue with its default: the form of the first queue shows
            # them all (hours, holidays, recording...), not only those a JS template guessed
            "queue_defaults": queue_dict(QueueDefinition(name="")),
        },
    )


# --- skills ----------------------------------------------------------------------------------------


@roles("supervisor", "admin")
async def api_skills(request: web.Request) -> web.StreamResponse:
    return web.json_response([s.to_dict() for s in await _service(request).skills()])


@roles("admin")
async def api_skill_create(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    skill = await _service(request).create_skill(_text(body, "name"), _text(body, "label", ""), _actor(request))
    return web.json_response(skill.to_dict(), status=201)


@roles("admin")
async def api_skill_update(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    name = request.match_info["name"]
    label = body.get("label")
    if label is not None and not isinstance(label, str):
        raise InvalidInput("label: text", field="label")
    skill = await _service(request).rename_skill(name, _text(body, "new_name", name), label, _actor(request))
    return web.json_response(skill.to_dict())


@roles("admin")
async def api_skill_remove(request: web.Request) -> web.StreamResponse:
    await _service(request).remove_skill(request.match_info["name"], _actor(request))
    return web.json_response({"ok": True})


@roles("admin")
async def api_agent_levels(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    levels = body.get("skills")
    if not isinstance(levels, dict):
        raise InvalidInput("skills: an object {skill: level}", field="skills")
    result = await _service(request).set_levels(request.match_info["username"], levels, _actor(request))
    return web.json_response(result)


# --- pause codes -----------------------------------------------------------------------------------


def _pause_code(body: dict) -> PauseCode:
    unknown = set(body) - {"code", "label", "paid", "max_minutes"}
    if unknown:
        raise InvalidInput(
            Text("unknown field(s): %(value)s", value=", ".join(sorted(unknown))), field=sorted(unknown)[0]
        )
    return PauseCode(
        code=_text(body, "code"),
        label=_text(body, "label", ""),
        paid=body.get("paid", False),
        max_minutes=body.get("max_minutes", 0),
    )


@roles("supervisor", "admin")
async def api_pause_codes(request: web.Request) -> web.StreamResponse:
    retired = request.query.get("retired") in ("1", "true")
    return web.json_response([c.to_dict() for c in await _service(request).pause_codes(retired)])


@roles("admin")
async def api_pause_code_create(request: web.Request) -> web.StreamResponse:
    code = await _service(request).create_pause_code(_pause_code(await read_json(request)), _actor(request))
    return web.json_response(code.to_dict(), status=201)


@roles("admin")
async def api_pause_code_update(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    body.pop("code", None)
    code = await _service(request).update_pause_code(request.match_info["code"], body, _actor(request))
    return web.json_response(code.to_dict())


@roles("admin")
async def api_pause_code_remove(request: web.Request) -> web.StreamResponse:
    await _service(request).retire_pause_code(request.match_info["code"], _actor(request))
    return web.json_response({"ok": True})


# --- wrap-up codes -----------------------------------------------------------------------------------


@roles("supervisor", "admin")
async def api_wrapup_codes(request: web.Request) -> web.StreamResponse:
    codes = await _service(request).wrapup_codes(**_scope(request.query))
    return web.json_response([c.to_dict() for c in codes])


@roles("admin")
async def api_wrapup_code_create(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    code = WrapupCode(_text(body, "code"), _text(body, "label", ""))
    await _service(request).add_wrapup_code(code, _actor(request), **_scope(body))
    return web.json_response(code.to_dict(), status=201)


@roles("admin")
async def api_wrapup_code_remove(request: web.Request) -> web.StreamResponse:
    await _service(request).remove_wrapup_code(request.match_info["code"], _actor(request), **_scope(request.query))
    return web.json_response({"ok": True})


# --- queues (the ACD's; every setting) --------------------------------------------------------------


@roles("admin")
async def api_queue(request: web.Request) -> web.StreamResponse:
    queue = await _service(request).acd.queue(request.match_info["name"])
    return web.json_response(queue_dict(queue))


@roles("admin")
async def api_queue_remove(request: web.Request) -> web.StreamResponse:
    await _service(request).acd.remove_queue(request.match_info["name"], _actor(request))
    return web.json_response({"ok": True})


def queue_fields() -> list[str]:
    return list(QueueDefinition.__dataclass_fields__)


def add_routes(app: web.Application, service: CallCenterService) -> None:
    app[CALLCENTER] = service
    r = app.router
    r.add_get("/admin/callcenter", admin_page, name="admin-callcenter")
    r.add_get("/api/skills", api_skills, name="api-skills")
    r.add_post("/api/skills", api_skill_create, name="api-skill-create")
    r.add_patch("/api/skills/{name}", api_skill_update, name="api-skill-update")
    r.add_delete("/api/skills/{name}", api_skill_remove, name="api-skill-remove")
    r.add_put("/api/agents/{username}/skills", api_agent_levels, name="api-agent-skills")
    r.add_get("/api/pause-codes", api_pause_codes, name="api-pause-codes")
    r.add_post("/api/pause-codes", api_pause_code_create, name="api-pause-code-create")
    r.add_patch("/api/pause-codes/{code}", api_pause_code_update, name="api-pause-code-update")
    r.add_delete("/api/pause-codes/{code}", api_pause_code_remove, name="api-pause-code-remove")
    r.add_get("/api/wrapup-codes", api_wrapup_codes, name="api-wrapup-codes")
    r.add_post("/api/wrapup-codes", api_wrapup_code_create, name="api-wrapup-code-create")
    r.add_delete("/api/wrapup-codes/{code}", api_wrapup_code_remove, name="api-wrapup-code-remove")
    r.add_get("/api/queues/{name}", api_queue, name="api-queue")
    r.add_delete("/api/queues/{name}", api_queue_remove, name="api-queue-remove")
