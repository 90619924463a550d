"""The wallboard page (pushed live, coalesced) and the supervision API."""
from __future__ import annotations

import asyncio
import logging
import time

import aiohttp_jinja2
from aiohttp import web

from ...adapters.web.requests import read_json
from ...adapters.web.auth import current_user, roles
from ...adapters.web.keys import RUNTIME
from ...adapters.web.realtime import RealtimeHub
from ...core import events as ev
from ...core.errors import InvalidInput
from ..agents.model import AgentStateChanged
from ..calls.model import CallRecordChanged

logger = logging.getLogger(__name__)
PUSH_INTERVAL = 0.5  # seconds between two pushes at most: the board is never more than 1 s stale
SCOPE_TTL = 30.0


@roles("supervisor", "admin")
async def wallboard_page(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("wallboard.html", request, {})


@roles("supervisor", "admin")
async def api_wallboard(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    user = current_user(request)
    queues, agents = await runtime.supervision.scope_of(user.username, user.role)
    return web.json_response(runtime.supervision.filtered(runtime.supervision.board_snapshot(), queues, agents))


@roles("supervisor", "admin")
async def api_spy_start(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    user = current_user(request)
    agent, mode = body.get("agent"), body.get("mode", "listen")
    if not isinstance(agent, str) or not isinstance(mode, str):
        raise InvalidInput("agent and mode are required", field="agent")
    session = await request.app[RUNTIME].supervision.start_spy(user.username, user.role, agent, mode)
    return web.json_response({"agent": session.agent, "mode": session.mode}, status=201)


@roles("supervisor", "admin")
async def api_spy_mode(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    mode = body.get("mode")
    if not isinstance(mode, str):
        raise InvalidInput("mode is required", field="mode")
    await request.app[RUNTIME].supervision.change_mode(current_user(request).username, mode)
    return web.json_response({"mode": mode})


@roles("supervisor", "admin")
async def api_spy_stop(request: web.Request) -> web.StreamResponse:
    await request.app[RUNTIME].supervision.stop_spy(current_user(request).username)
    return web.json_response({"stopped": True})


@roles("supervisor", "admin")
async def api_force(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    body = await read_json(request) if request.can_read_body else {}
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise InvalidInput("reason must be text", field="reason")
    await request.app[RUNTIME].supervision.force(user.username, user.role, request.match_info["agent"],
                                                 request.match_info["action"], reason)
    return web.json_response({"ok": True})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/wallboard", wallboard_page, name="wallboard")
    app.router.add_get("/api/wallboard", api_wallboard, name="api-wallboard")
    app.router.add_post("/api/supervision/spy", api_spy_start, name="api-spy-start")
    app.router.add_post("/api/supervision/spy/mode", api_spy_mode, name="api-spy-mode")
    app.router.add_delete("/api/supervision/spy", api_spy_stop, name="api-spy-stop")
    app.router.add_post("/api/supervision/agents/{agent}/{action}", api_force, name="api-force")


class WallboardPublisher:
    """Pushes the board to supervisors' pages: at most every PUSH_INTERVAL, only when something
    changed, serialized once per distinct scope."""

    def __init__(self, runtime, hub: RealtimeHub) -> None:
        self.runtime = runtime
        self.hub = hub
        self.scopes: dict[str, tuple[float, tuple]] = {}
        self.pushes = 0

    async def run(self) -> None:
        supervision = self.runtime.supervision
        while True:
            await asyncio.sleep(PUSH_INTERVAL)
            if not supervision.dirty:
                continue
            supervision.dirty = False
            try:
                await self.push()
            except Exception:
                logger.exception("wallboard push failed")

    async def push(self) -> None:
        supervision = self.runtime.supervision
        clients = [c for c in self.hub.clients if c.user.role in ("supervisor", "admin")]
        if not clients:
            return
        board = supervision.board_snapshot()
        groups: dict[tuple, set[str]] = {}
        for client in clients:
            key = await self._scope_key(client.user.username, client.user.role)
            groups.setdefault(key, set()).add(client.user.username)
        for (queues, agents), usernames in groups.items():
            view = supervision.filtered(board, None if queues is None else set(queues),
                                        None if agents is None else set(agents))
            self.hub.broadcast(view, roles=set(), usernames=usernames)
        self.pushes += 1

    async def _scope_key(self, username: str, role: str) -> tuple:
        cached = self.scopes.get(username)
        if cached and time.monotonic() - cached[0] < SCOPE_TTL:
            return cached[1]
        queues, agents = await self.runtime.supervision.scope_of(username, role)
        key = (None if queues is None else tuple(sorted(queues)),
               None if agents is None else tuple(sorted(agents)))
        self.scopes[username] = (time.monotonic(), key)
        return key


def bridge(runtime, hub: RealtimeHub) -> None:
    runtime.bus.subscribe("supervision", runtime.supervision.on_event,
                          topics=[CallRecordChanged.topic, AgentStateChanged.topic,
                                  ev.QueueCallerJoined.topic, ev.QueueCallerLeft.topic,
                                  ev.QueueCallerAbandoned.topic, ev.ChanSpyStarted.topic,
                                  ev.ChanSpyStopped.topic, ev.ChannelHungup.topic])
    publisher = WallboardPublisher(runtime, hub)
    runtime.wallboard_publisher = publisher
    runtime.background(publisher.run(), "wallboard-publisher")
