"""The audit log wired: its viewer and API, and at start the sealing of entries written before
the chain existed (so the first new entry follows them)."""

from __future__ import annotations

import asyncio

from ...core.plugin import Deps, Plugin
from . import web
from .ports import AuditStore
from .service import AuditService


def setup(deps: Deps, *, store: AuditStore) -> Plugin:
    service = AuditService(store, deps.clock)
    plugin = Plugin("audit", service)

    async def seal() -> None:
        await asyncio.to_thread(store.seal)

    plugin.startup.append(seal)
    plugin.web_routes = lambda app: web.add_routes(app, service)
    return plugin
