"""Typed keys for what lives on the aiohttp application (no module-level singletons)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from ...app import Runtime
    from .auth import CurrentUser
    from .realtime import RealtimeHub

RUNTIME: web.AppKey["Runtime"] = web.AppKey("runtime")
REALTIME: web.AppKey["RealtimeHub"] = web.AppKey("realtime")

# the logged-in user of a request (None for anonymous requests)
CURRENT_USER: web.RequestKey["CurrentUser | None"] = web.RequestKey("user")
