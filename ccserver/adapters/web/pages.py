"""Shell pages: home, system status, and the /status health probe."""
from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from ...core import events as ev
from .auth import ROLES, current_user, public, roles
from .keys import RUNTIME
from .realtime import RealtimeHub

# PBX activity supervisors and admins see live on the system page
LIVE_TOPICS = (ev.ChannelCreated.topic, ev.ChannelAnswered.topic, ev.ChannelHungup.topic,
               ev.PbxLinkUp.topic, ev.PbxLinkDown.topic, ev.ResyncCompleted.topic)


@public
async def status(request: web.Request) -> web.StreamResponse:
    """Health probe (docker, tests): states only, no secrets; 503 until everything is ok."""
    health = await request.app[RUNTIME].health()
    return web.json_response(health, status=200 if health["status"] == "ok" else 503)


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
