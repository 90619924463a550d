"""Media wired: the service (uploads converted, stored in the directory Asterisk reads, each
queue's settings applied through the ACD's configuration, music classes through
musiconhold_generated.conf) and its admin pages and API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ...core.plugin import Deps, Plugin
from . import web
from .ports import AudioConverter, MediaFiles, MediaRepository
from .service import MediaService


def setup(
    deps: Deps,
    *,
    repository: MediaRepository,
    converter: AudioConverter,
    files: MediaFiles | None,
    apply_queues: Callable[[], Awaitable[None]] | None = None,
    queue_names: Callable[[], Awaitable[list[str]]] | None = None,
    queue_calendar: Callable[[str], Awaitable[Any]] | None = None,
) -> Plugin:
    """`files`: where audio goes (None: uploads refused, naming the setting); `apply_queues`
    renders the queues again (the ACD's `apply_configuration`); `queue_names` and
    `queue_calendar` (name -> its definition: hours, time zone, holidays) come from the ACD."""
    service = MediaService(
        repository,
        deps.audit,
        deps.clock,
        converter=converter,
        files=files,
        default_language=deps.settings.asterisk.language,
        pbx=deps.pbx,
        writer=deps.config_writer,
        apply_queues=apply_queues,
        queue_names=queue_names,
        queue_calendar=queue_calendar,
    )
    plugin = Plugin("media", service)
    plugin.startup.append(service.apply_music)
    plugin.web_routes = lambda app: web.add_routes(app, service)
    return plugin
