"""Shell pages: home, system status, and the /status health probe."""

from __future__ import annotations

import logging

import aiohttp_jinja2
from aiohttp import web

from .auth import ROLES, current_user, public, roles
from .keys import CURRENT_USER, RUNTIME

logger = logging.getLogger(__name__)

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
        user.username, user.role, sorted(runtime.channels.channels.values(), key=lambda c: c.uniqueid)
    )
    return aiohttp_jinja2.render_template("system.html", request, {"health": health, "channels": channels})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", home, name="home")
    app.router.add_get("/status", status, name="status")
    app.router.add_get("/system", system_page, name="system")
