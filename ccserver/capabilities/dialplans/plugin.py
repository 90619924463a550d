"""Dialplans wired: the service (versions in the database, a scratch Asterisk to load them
first, the live Asterisk's dialplan directory and AMI), its page and API, and at start the running version written back."""

from __future__ import annotations

import asyncio

from ...core.plugin import Deps, Plugin
from . import web
from .ports import ApplyLock, DialplanRepository, LiveDialplanFiles, LiveDialplanPbx, ScratchAsterisk
from .service import DialplanService


def setup(
    deps: Deps,
    *,
    repository: DialplanRepository,
    files: LiveDialplanFiles | None,
    pbx: LiveDialplanPbx | None,
    scratch: ScratchAsterisk | None,
    probe_timeout: float = 30.0,
    apply_lock: ApplyLock | None = None,
) -> Plugin:
    service = DialplanService(
        repository,
        deps.audit,
        files=files,
        pbx=pbx,
        scratch=scratch,
        probe_timeout=probe_timeout,
        apply_lock=apply_lock,
    )
    plugin = Plugin("dialplans", service)
    plugin.web_routes = lambda app: web.add_routes(app, service)
    plugin.startup = [service.start]

    async def stop_scratch() -> None:
        """The scratch Asterisk is ours alone: it ends with the server."""
        scratch_now = service.scratch
        if scratch_now is not None and hasattr(scratch_now, "stop"):
            await asyncio.to_thread(scratch_now.stop)

    plugin.cleanup = [stop_scratch]
    return plugin
