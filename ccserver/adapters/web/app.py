"""The aiohttp application factory: middlewares, templates, routes, background tasks."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from . import auth, i18n, pages, realtime, security
from .errors import error_middleware
from .keys import AUDIT, CLOCK, CURRENT_USER, LANGUAGE, REALTIME, RUNTIME, SESSIONS, SETTINGS, USER_ADMIN, USERS

logger = logging.getLogger(__name__)
HERE = Path(__file__).parent


def create_app(runtime) -> web.Application:
    app = web.Application(middlewares=[error_middleware, auth.auth_middleware], client_max_size=20 * 1024 * 1024)
    app[RUNTIME] = runtime
    app[SETTINGS] = runtime.settings
    app[CLOCK] = runtime.clock
    app[USERS] = runtime.users
    app[SESSIONS] = runtime.sessions
    app[AUDIT] = runtime.audit
    app[USER_ADMIN] = runtime.user_admin
    app[REALTIME] = realtime.RealtimeHub()
    security.setup(app)
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(default=True),
        context_processors=[_template_context],
    )
    env.globals["app_name"] = "ccserver"
    env.globals["language_names"] = i18n.LANGUAGE_NAMES
    env.globals["current_language"] = i18n.current_language
    env.globals["js_messages"] = i18n.js_messages
    i18n.install(env)
    auth.add_routes(app)
    realtime.add_routes(app)
    pages.add_routes(app)
    for plugin in runtime.plugins:
        if plugin.web_routes is not None:
            plugin.web_routes(app)
    app.router.add_static("/static", HERE / "static", name="static")
    app.cleanup_ctx.append(_runtime_lifecycle)
    return app


async def _template_context(request: web.Request) -> dict:
    user = request.get(CURRENT_USER)
    return {"user": user, "csrf_token": user.csrf_token if user else "", "lang": request.get(LANGUAGE)}


async def _runtime_lifecycle(app: web.Application):
    runtime = app[RUNTIME]
    await runtime.start()
    hub = app[REALTIME]
    hub.bind_loop(asyncio.get_running_loop())
    app[USER_ADMIN].revocation_listeners.append(hub.revoke_user_threadsafe)
    runtime.background(
        hub.watch_sessions(app[SESSIONS], app[SETTINGS].web.session_check_interval), name="realtime-session-check"
    )
    for plugin in runtime.plugins:
        if plugin.live is not None:
            plugin.live(app[REALTIME])
    yield
    await app[REALTIME].close_all()
    await runtime.stop()
