"""Outbound campaigns as a plugin: the service and its parts on one repository, the attempt
tracker on the intake, the attempts' outcomes on the bus, the windows and housekeeping jobs, the
dialing loop (startup/cleanup), the web routes and the pushes to the browsers."""

from __future__ import annotations

from typing import Any

from ...core.plugin import Deps, Plugin
from . import web
from .dialer import AttemptTracker, DialAttemptChanged
from .ports import OutboundRepositoryPort, ScopeSource
from .service import OutboundService


def setup(
    deps: Deps,
    *,
    repository: OutboundRepositoryPort,
    board: Any = None,
    scopes: ScopeSource | None = None,
    scheduler: Any = None,
    run_dialer: bool = True,
) -> Plugin:
    """`board`: the live agent board (free agents of a campaign's queue, their phones);
    `scopes`: the supervisors' scopes (ACD repository); `scheduler`: where the dialer schedules
    each campaign's next window change (APScheduler)."""
    settings = deps.settings
    service = OutboundService(
        repository,
        clock=deps.clock,
        pbx=deps.pbx,
        writer=deps.config_writer,
        board=board,
        scheduler=scheduler,
        audit=deps.audit,
        dial_uri=settings.outbound.dial_uri,
        data_dir=settings.storage.data_dir,
        scopes=scopes,
    )
    plugin = Plugin(name="outbound", service=service)
    for event_type in AttemptTracker._handlers:
        plugin.handle(event_type, service.tracker.apply)
    plugin.subscribe("outbound:attempts", service.outcomes.on_attempt_event, [DialAttemptChanged.topic])
    plugin.every("outbound-windows", service.dialer.refresh_windows, minutes=5)
    plugin.every("outbound-housekeeping", service.outcomes.housekeeping, seconds=30)

    async def start() -> None:
        await service.start(run_dialer=run_dialer)

    plugin.startup.append(start)
    plugin.cleanup.append(service.stop)

    def web_routes(app) -> None:
        app[web.OUTBOUND] = service
        web.add_routes(app)

    def live(hub) -> None:
        """Import progress to the uploader, campaign and attempt changes to supervisors, due
        callbacks to their agent."""

        def notify(message: dict, *, roles=None, usernames=None) -> None:
            hub.broadcast(message, roles=roles, usernames=usernames)

        service.notify = notify

    plugin.web_routes = web_routes
    plugin.live = live
    return plugin
