"""The GDPR erasure wired: the key, Asterisk's files, the follow-up when the person's last live
call ends, the web API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ...core import events as ev
from ...core.plugin import Deps, Plugin
from .ports import Compactor, ErasureRepository, LiveRecordings
from .service import AsteriskFiles, ErasureService, load_key


def until_written(writer: Any) -> Callable[[], Awaitable[None]]:
    """Waits (5 s at most) until the call records on their way are in the database: `writer`
    is the batched call writer (its `pending` count; it flushes every 0.2 s)."""

    async def drain() -> None:
        for _ in range(50):
            if not writer.pending:
                return
            await asyncio.sleep(0.1)

    return drain


def setup(
    deps: Deps,
    *,
    repository: ErasureRepository,
    recording: LiveRecordings | None,
    tracker,
    database: Compactor | None,
    drain: Callable[[], Awaitable[None]] | None = None,
) -> Plugin:
    settings = deps.settings
    service = ErasureService(
        repository,
        load_key(settings.privacy.erasure_hmac_key, Path(settings.storage.data_dir)),
        audit=deps.audit,
        recording=recording,
        tracker=tracker,
        channels=deps.channels,
        pbx=deps.pbx,
        database=database,
        files=AsteriskFiles.of(settings, deps.config_writer),
        drain=drain,
    )
    plugin = Plugin("privacy", service)
    plugin.subscribe("erasure", service.on_event, (ev.ChannelHungup.topic, ev.PbxSnapshot.topic))
    # a follow-up started by the last hang-ups finishes after the bus is drained
    plugin.late_cleanup.append(service.stop)

    def web_routes(app: Any) -> None:
        from . import web

        web.add_routes(app, service)

    plugin.web_routes = web_routes
    return plugin
