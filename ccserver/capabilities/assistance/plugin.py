"""Ask a supervisor, wired: the service over the call tracker and supervision (scopes, ChanSpy),
the end of a call ending its request, the live pushes to the agent's desk and to the wallboards
of the supervisors whose scope covers the request (and to admins)."""

from __future__ import annotations

import logging

from ...core.plugin import Deps, Plugin
from ..calls.model import CallRecordChanged, CallTracker
from ..supervision.service import SupervisionService
from . import web
from .model import SupervisorAsked, SupervisorRequestEnded
from .service import AssistanceService

logger = logging.getLogger(__name__)


def setup(deps: Deps, *, tracker: CallTracker, supervision: SupervisionService) -> Plugin:
    service = AssistanceService(tracker, supervision, deps.audit, deps.bus, deps.clock)
    plugin = Plugin("assistance", service=service)
    plugin.subscribe("assistance", service.on_event, [CallRecordChanged.topic])
    plugin.web_routes = lambda app: web.add_routes(app, service)
    plugin.late_cleanup.append(service.drain)

    def live(hub) -> None:
        async def push(event: SupervisorAsked | SupervisorRequestEnded) -> None:
            now = deps.clock.now()
            if isinstance(event, SupervisorAsked):
                request = service.desk.open.get(event.id)
            else:
                request = service.recent.get(event.call)
            if request is None or request.id != event.id:
                return  # already ended (its end is on its way)
            supervisors = {c.user.username for c in hub.clients if c.user.role == "supervisor"}
            audience = await service.audience(request, supervisors)
            message = {"topic": event.topic, "request": request.to_dict(now)}
            hub.broadcast(message, roles={"admin"}, usernames=audience | {request.agent})

        deps.bus.subscribe(
            "realtime:assistance", push, topics=[SupervisorAsked.topic, SupervisorRequestEnded.topic], maxsize=5000
        )

    plugin.live = live
    return plugin
