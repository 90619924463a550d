"""Shell pages: home, system status, and the /status health probe."""
from __future__ import annotations

import logging
import time

import aiohttp_jinja2
from aiohttp import web

from ...core import events as ev
from ...core.permissions import Actor, may_act
from .auth import ROLES, current_user, public, roles
from .keys import CURRENT_USER, RUNTIME
from .realtime import RealtimeHub

logger = logging.getLogger(__name__)

# PBX activity supervisors and admins see live on the system page
LIVE_TOPICS = (ev.ChannelCreated.topic, ev.ChannelAnswered.topic, ev.ChannelHungup.topic,
               ev.PbxLinkUp.topic, ev.PbxLinkDown.topic, ev.ResyncCompleted.topic)
CHANNEL_TOPICS = frozenset({ev.ChannelCreated.topic, ev.ChannelAnswered.topic,
                            ev.ChannelHungup.topic})
SCOPE_TTL = 30.0  # seconds a supervisor's scope is reused for the live channel feed


# who may read /status in full: where AMI, ARI and the database are, and their errors
STATUS_DETAIL_ROLES = frozenset({"supervisor", "admin"})


@public
async def status(request: web.Request) -> web.StreamResponse:
    """Health probe (docker, load balancers, tests): 200 once everything is ok, 503 before.

    Anybody gets only ``{"status": "ok"|"degraded"}``; the parts' states, the AMI host, the ARI
    URL, the database URL (without its password) and the last errors are for a logged-in
    supervisor or admin: they map the installation for an attacker."""
    health = await request.app[RUNTIME].health()
    code = 200 if health["status"] == "ok" else 503
    user = request.get(CURRENT_USER)
    if user is None or user.role not in STATUS_DETAIL_ROLES:
        return web.json_response({"status": health["status"]}, status=code)
    return web.json_response(health, status=code)


@roles(*ROLES)
async def home(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    return aiohttp_jinja2.render_template("home.html", request, {"role": user.role})


@roles("supervisor", "admin")
async def system_page(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    user = current_user(request)
    health = await runtime.health()
    channels = await runtime.supervision.visible_channels(
        user.username, user.role, sorted(runtime.channels.channels.values(), key=lambda c: c.uniqueid))
    return aiohttp_jinja2.render_template("system.html", request,
                                          {"health": health, "channels": channels})


class ChannelFeed:
    """Live PBX activity to the system pages: link states to every supervisor and admin, a
    channel's events to admins and to the supervisors whose scope covers the channel (its
    call's queue or agent, see core/permissions.py). A channel's hang-up goes to whoever was
    shown it, even once its call is closed."""

    def __init__(self, runtime, hub: RealtimeHub) -> None:
        self.runtime = runtime
        self.hub = hub
        self.actors: dict[str, tuple[float, Actor]] = {}
        self.shown: dict[str, set[str]] = {}  # channel uniqueid -> supervisors shown it

    async def _actor(self, username: str) -> Actor:
        cached = self.actors.get(username)
        if cached is not None and time.monotonic() - cached[0] < SCOPE_TTL:
            return cached[1]
        actor = await self.runtime.supervision.actor(username, "supervisor")
        self.actors[username] = (time.monotonic(), actor)
        return actor

    async def forward(self, event: ev.Event) -> None:
        message = event.to_dict()
        if event.topic not in CHANNEL_TOPICS:
            self.hub.broadcast(message, roles={"supervisor", "admin"})
            return
        uniqueid = getattr(event, "uniqueid", "")
        (_, target), = self.runtime.supervision.channel_targets([event])
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


def bridge_bus_to_realtime(runtime, hub: RealtimeHub) -> None:
    feed = ChannelFeed(runtime, hub)
    runtime.bus.subscribe("realtime:pbx", feed.forward, topics=LIVE_TOPICS, maxsize=5000)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", home, name="home")
    app.router.add_get("/status", status, name="status")
    app.router.add_get("/system", system_page, name="system")
