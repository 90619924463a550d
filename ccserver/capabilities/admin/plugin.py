"""User administration wired: the service (disable, enable, password reset, revoke sessions)
and the periodic purge of expired web sessions."""

from __future__ import annotations

import asyncio

from ...core.plugin import Deps, Plugin
from .ports import Sessions, Users
from .service import UserAdminService


def setup(deps: Deps, *, users: Users, sessions: Sessions) -> Plugin:
    service = UserAdminService(users, sessions, deps.audit)
    plugin = Plugin("admin", service)

    async def purge_expired_sessions() -> int:
        return await asyncio.to_thread(service.purge_expired_sessions)

    plugin.every("sessions-purge-expired", purge_expired_sessions, minutes=deps.settings.web.session_purge_interval)
    return plugin
