"""Typed keys for what lives on the aiohttp application (no module-level singletons)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from ...adapters.db.repositories import AuditLog, SessionRepository, UserRepository
    from ...app import Runtime
    from ...capabilities.admin.service import UserAdminService
    from ...core.clock import Clock
    from ...settings import Settings
    from .auth import CurrentUser
    from .realtime import RealtimeHub

RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime")
REALTIME: web.AppKey[RealtimeHub] = web.AppKey("realtime")

# the shared objects the web edge uses (set by create_app from the runtime)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
USERS: web.AppKey[UserRepository] = web.AppKey("users")
SESSIONS: web.AppKey[SessionRepository] = web.AppKey("sessions")
AUDIT: web.AppKey[AuditLog] = web.AppKey("audit")
USER_ADMIN: web.AppKey[UserAdminService] = web.AppKey("user_admin")
# more sources the pages may connect to (the Content-Security-Policy's connect-src), each a
# function of the request: the browser phone's WebSocket to Asterisk (capabilities/webrtc)
CONNECT_SOURCES: web.AppKey[list] = web.AppKey("connect_sources", list)

# the logged-in user of a request (None for anonymous requests)
CURRENT_USER: web.RequestKey[CurrentUser | None] = web.RequestKey("user")
# the interface language of a request ("fr" or "en": the user's choice, else the browser's)
LANGUAGE: web.RequestKey[str] = web.RequestKey("language")
