"""Call-center settings wired: the service (on top of the ACD's), its page and API, the job
that alerts supervisors when a pause lasts longer than its code allows, and that alert's push."""

from __future__ import annotations

from ...core.plugin import Deps, Plugin
from ..acd.service import AcdService
from . import web
from .ports import CallCenterRepository
from .service import CallCenterService

OVERRUN_CHECK_SECONDS = 15


def setup(deps: Deps, *, repository: CallCenterRepository, acd: AcdService) -> Plugin:
    service = CallCenterService(repository, acd, deps.audit, deps.clock, deps.alerts)
    plugin = Plugin("callcenter", service)
    plugin.every("pause-overruns", service.check_pause_overruns, seconds=OVERRUN_CHECK_SECONDS)
    plugin.web_routes = lambda app: web.add_routes(app, service)

    def live(hub) -> None:
        service.overrun_listeners.append(overrun_pusher(hub))

    plugin.live = live
    return plugin


def overrun_pusher(hub):
    """A pause overrun, pushed at once to supervisors' and admins' pages (the wallboard)."""

    def push(overrun) -> None:
        hub.broadcast({"topic": "pause_overrun", **overrun.to_dict()}, roles={"supervisor", "admin"})

    return push
