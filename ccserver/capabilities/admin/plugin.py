"""User administration wired: the service (users, teams, scopes; disable, enable, password
reset, revoke sessions), its /admin/users page and /api/users, /api/teams API, the periodic
purge of expired web sessions, and the sweep that logs disabled users' agents out of the queues
(a disable made by `ccserver user disable` in another process)."""

from __future__ import annotations

import asyncio

from ...core.plugin import Deps, Plugin
from . import web
from .ports import Sessions, UserDirectory, Users
from .service import DISABLED_SWEEP_SECONDS, UserAdminService


def setup(deps: Deps, *, users: Users, sessions: Sessions, directory: UserDirectory | None = None) -> Plugin:
    """The ACD (queue memberships) is installed later: app.py sets `service.membership`."""
    service = UserAdminService(users, sessions, deps.audit, directory)
    plugin = Plugin("admin", service)

    async def purge_expired_sessions() -> int:
        return await asyncio.to_thread(service.purge_expired_sessions)

    plugin.every("sessions-purge-expired", purge_expired_sessions, minutes=deps.settings.web.session_purge_interval)
    plugin.every("users-log-out-disabled-agents", service.log_out_disabled_agents, seconds=DISABLED_SWEEP_SECONDS)
    if directory is not None:
        plugin.web_routes = lambda app: web.add_routes(app, service)
    return plugin
