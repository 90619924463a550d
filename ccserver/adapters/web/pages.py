"""Shell pages: home, system status, and the /status health probe."""
from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from ...core import events as ev
from .auth import ROLES, current_user, public, roles
from .keys import CURRENT_USER, RUNTIME
from .realtime import RealtimeHub

# PBX activity supervisors and admins see live on the system page
LIVE_TOPICS = (ev.ChannelCreated.topic, ev.ChannelAnswered.topic, ev.ChannelHungup.topic,
               ev.PbxLinkUp.topic, ev.PbxLinkDown.topic, ev.ResyncCompleted.topic)


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
    health = await runtime.health()
    channels = sorted(runtime.channels.channels.values(), key=lambda c: c.uniqueid)
    return aiohttp_jinja2.render_template("system.html", request,
                                          {"health": health, "channels": channels})


def bridge_bus_to_realtime(runtime, hub: RealtimeHub) -> None:
    def forward(event: ev.Event) -> None:
        hub.broadcast(event.to_dict(), roles={"supervisor", "admin"})
    runtime.bus.subscribe("realtime:pbx", forward, topics=LIVE_TOPICS, maxsize=5000)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", home, name="home")
    app.router.add_get("/status", status, name="status")
    app.router.add_get("/system", system_page, name="system")
