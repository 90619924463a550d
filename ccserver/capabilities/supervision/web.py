"""The wallboard page (pushed live, coalesced) and the supervision API."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp_jinja2
from aiohttp import web

from ...adapters.web.auth import current_user, roles
from ...adapters.web.realtime import RealtimeHub
from ...adapters.web.requests import read_json
from ...core import events as ev
from ...core.errors import InvalidInput
from ...core.permissions import Actor, may_act
from .service import SupervisionService

SUPERVISION: web.AppKey[SupervisionService] = web.AppKey("supervision", SupervisionService)
logger = logging.getLogger(__name__)
PUSH_INTERVAL = 0.5  # seconds between two pushes at most: the board is never more than 1 s stale
SCOPE_TTL = 30.0  # seconds a supervisor's scope is reused (wallboard groups, live channel feed)
# PBX activity supervisors and admins see live on the system page
LIVE_TOPICS = (
    ev.ChannelCreated.topic,
    ev.ChannelAnswered.topic,
    ev.ChannelHungup.topic,
    ev.PbxLinkUp.topic,
    ev.PbxLinkDown.topic,
    ev.ResyncCompleted.topic,
)
CHANNEL_TOPICS = frozenset({ev.ChannelCreated.topic, ev.ChannelAnswered.topic, ev.ChannelHungup.topic})


@roles("supervisor", "admin")
async def wallboard_page(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("wallboard.html", request, {})


@roles("supervisor", "admin")
async def api_wallboard(request: web.Request) -> web.StreamResponse:
    supervision = request.app[SUPERVISION]
    user = current_user(request)
    queues, agents = await supervision.scope_of(user.username, user.role)
    return web.json_response(supervision.filtered(supervision.board_snapshot(), queues, agents))


@roles("supervisor", "admin")
async def api_spy_start(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    user = current_user(request)
    agent, mode = body.get("agent"), body.get("mode", "listen")
    if not isinstance(agent, str) or not isinstance(mode, str):
        raise InvalidInput("agent and mode are required", field="agent")
    session = await request.app[SUPERVISION].start_spy(user.username, user.role, agent, mode)
    return web.json_response({"agent": session.agent, "mode": session.mode}, status=201)


@roles("supervisor", "admin")
async def api_spy_mode(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    mode = body.get("mode")
    if not isinstance(mode, str):
        raise InvalidInput("mode is required", field="mode")
    await request.app[SUPERVISION].change_mode(current_user(request).username, mode)
    return web.json_response({"mode": mode})


@roles("supervisor", "admin")
async def api_spy_stop(request: web.Request) -> web.StreamResponse:
    await request.app[SUPERVISION].stop_spy(current_user(request).username)
    return web.json_response({"stopped": True})


@roles("supervisor", "admin")
async def api_force(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    body = await read_json(request) if request.can_read_body else {}
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise InvalidInput("reason must be text", field="reason")
    await request.app[SUPERVISION].force(
        user.username, user.role, request.match_info["agent"], request.match_info["action"], reason
    )
    return web.json_response({"ok": True})


def add_routes(app: web.Application, supervision: SupervisionService) -> None:
    app[SUPERVISION] = supervision
    app.router.add_get("/wallboard", wallboard_page, name="wallboard")
    app.router.add_get("/api/wallboard", api_wallboard, name="api-wallboard")
    app.router.add_post("/api/supervision/spy", api_spy_start, name="api-spy-start")
    app.router.add_post("/api/supervision/spy/mode", api_spy_mode, name="api-spy-mode")
    app.router.add_delete("/api/supervision/spy", api_spy_stop, name="api-spy-stop")
    app.router.add_post("/api/supervision/agents/{agent}/{action}", api_force, name="api-force")


class WallboardPublisher:
    """Pushes the board to supervisors' pages: at most every PUSH_INTERVAL, only when something
    changed, serialized once per distinct scope."""

    def __init__(self, supervision: SupervisionService, hub: RealtimeHub) -> None:
        self.supervision = supervision
        self.hub = hub
        self.scopes: dict[str, tuple[float, tuple]] = {}
        self.pushes = 0

    async def run(self) -> None:
        supervision = self.supervision
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
        supervision = self.supervision
        clients = [c for c in self.hub.clients if c.user.role in ("supervisor", "admin")]
        if not clients:
            return
        board = supervision.board_snapshot()
        groups: dict[tuple, set[str]] = {}
        for client in clients:
            key = await self._scope_key(client.user.username, client.user.role)
            groups.setdefault(key, set()).add(client.user.username)
        for (queues, agents), usernames in groups.items():
            view = supervision.filtered(
                board, None if queues is None else set(queues), None if agents is None else set(agents)
            )
            self.hub.broadcast(view, roles=set(), usernames=usernames)
        self.pushes += 1

    async def _scope_key(self, username: str, role: str) -> tuple:
        cached = self.scopes.get(username)
        if cached and time.monotonic() - cached[0] < SCOPE_TTL:
            return cached[1]
        queues, agents = await self.supervision.scope_of(username, role)
        key = (None if queues is None else tuple(sorted(queues)), None if agents is None else tuple(sorted(agents)))
        self.scopes[username] = (time.monotonic(), key)
        return key


class ChannelFeed:
    """Live PBX activity to the system pages: link states to every supervisor and admin, a
    channel's events to admins and to the supervisors whose scope covers the channel (its
    call's queue or agent, see core/permissions.py). A channel's hang-up goes to whoever was
    shown it, even once its call is closed."""

    def __init__(self, supervision: SupervisionService, hub: RealtimeHub) -> None:
        self.supervision = supervision
        self.hub = hub
        self.actors: dict[str, tuple[float, Actor]] = {}
        self.shown: dict[str, set[str]] = {}  # channel uniqueid -> supervisors shown it

    async def _actor(self, username: str) -> Actor:
        cached = self.actors.get(username)
        if cached is not None and time.monotonic() - cached[0] < SCOPE_TTL:
            return cached[1]
        actor = await self.supervision.actor(username, "supervisor")
        self.actors[username] = (time.monotonic(), actor)
        return actor

    async def forward(self, event: ev.Event) -> None:
        message = event.to_dict()
        if event.topic not in CHANNEL_TOPICS:
            self.hub.broadcast(message, roles={"supervisor", "admin"})
            return
        uniqueid = getattr(event, "uniqueid", "")
        ((_, target),) = self.supervision.channel_targets([event])
        supervisors = {c.user.username for c in self.hub.clients if c.user.role == "supervisor"}
        allowed = set(self.shown.get(uniqueid, ()))
        for username in supervisors - allowed:
            try:
                if may_act(await self._actor(username), target):
                    allowed.add(username)
            except Exception:
                logger.exception("channel %s: cannot read the scope of %s", uniqueid, username)
        if isinstance(event, ev.ChannelHungup):
            self.shown.pop(uniqueid, None)
        elif allowed:
            self.shown[uniqueid] = allowed
        self.hub.broadcast(message, roles={"admin"}, usernames=allowed)
