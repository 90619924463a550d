"""GET /api/agent/desk/snapshot: the agent's own desk, whole (no other user's desk is reachable:
there is no name in the URL, the session says whose desk it is). POST /api/agent/desk/focus: the
agent shows another of their calls (two calls at once)."""

from __future__ import annotations

from aiohttp import web

from ...adapters.web.auth import current_user, roles
from ...adapters.web.requests import read_json
from .service import DeskService

DESK: web.AppKey[DeskService] = web.AppKey("desk", DeskService)


@roles("agent")
async def api_snapshot(request: web.Request) -> web.StreamResponse:
    snapshot = await request.app[DESK].snapshot(current_user(request).username)
    return web.json_response(snapshot.to_dict(), headers={"Cache-Control": "no-store"})


@roles("agent")
async def api_focus(request: web.Request) -> web.StreamResponse:
    """The agent shows another of their calls (two calls at once): the desk's new snapshot."""
    body = await read_json(request)
    snapshot = await request.app[DESK].focus(current_user(request).username, body.get("uniqueid"))
    return web.json_response(snapshot.to_dict(), headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application, service: DeskService) -> None:
    app[DESK] = service
    app.router.add_get("/api/agent/desk/snapshot", api_snapshot, name="api-agent-desk-snapshot")
    app.router.add_post("/api/agent/desk/focus", api_focus, name="api-agent-desk-focus")
