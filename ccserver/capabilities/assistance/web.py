"""The API of "ask a supervisor": the agent's side on their call, the supervisors' list and take."""

from __future__ import annotations

from aiohttp import web

from ...adapters.web.auth import current_user, roles
from ...adapters.web.requests import read_json
from .service import AssistanceService

ASSISTANCE: web.AppKey[AssistanceService] = web.AppKey("assistance", AssistanceService)


def _now(request: web.Request):
    return request.app[ASSISTANCE].clock.now()


@roles("agent")
async def api_ask(request: web.Request) -> web.StreamResponse:
    body = await read_json(request) if request.can_read_body else {}
    user = current_user(request)
    asked = await request.app[ASSISTANCE].ask(user.username, user.role, request.match_info["call"], body.get("reason"))
    return web.json_response(asked.to_dict(_now(request)), status=201)


@roles("agent")
async def api_current(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    current = request.app[ASSISTANCE].current(user.username, user.role, request.match_info["call"])
    return web.json_response({"request": current.to_dict(_now(request)) if current else None})


@roles("agent")
async def api_cancel(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    ended = await request.app[ASSISTANCE].cancel(user.username, user.role, request.match_info["call"])
    return web.json_response(ended.to_dict(_now(request)))


@roles("supervisor", "admin")
async def api_requests(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    now = _now(request)
    requests = await request.app[ASSISTANCE].visible(user.username, user.role)
    return web.json_response({"requests": [r.to_dict(now) for r in requests]})


@roles("supervisor", "admin")
async def api_take(request: web.Request) -> web.StreamResponse:
    body = await read_json(request) if request.can_read_body else {}
    user = current_user(request)
    taken = await request.app[ASSISTANCE].take(user.username, user.role, request.match_info["id"], body.get("mode"))
    return web.json_response(taken.to_dict(_now(request)))


def add_routes(app: web.Application, service: AssistanceService) -> None:
    app[ASSISTANCE] = service
    app.router.add_post("/api/calls/{call}/ask-supervisor", api_ask, name="api-ask-supervisor")
    app.router.add_get("/api/calls/{call}/ask-supervisor", api_current, name="api-ask-supervisor-state")
    app.router.add_delete("/api/calls/{call}/ask-supervisor", api_cancel, name="api-ask-supervisor-delete")
    app.router.add_post("/api/calls/{call}/ask-supervisor/cancel", api_cancel, name="api-ask-supervisor-cancel")
    app.router.add_get("/api/supervision/requests", api_requests, name="api-supervision-requests")
    app.router.add_post("/api/supervision/requests/{id}/take", api_take, name="api-supervision-request-take")
