"""Call control from the agent desk: hang up, hold / resume, mute, DTMF, blind and attended
transfers (AMI on the call's channels), state pushed to the agent's pages."""

from __future__ import annotations

from ...core import events as ev
from ...core.plugin import Deps, Plugin
from ..agents.model import AgentBoard
from ..calls.legs import CallLegTracker, LegStarted
from ..calls.model import CallTracker
from . import web
from .model import CallControlChanged
from .ports import CallControlCommands, CallControlDirectory
from .service import CallControlService


def setup(
    deps: Deps,
    *,
    directory: CallControlDirectory,
    board: AgentBoard,
    tracker: CallTracker,
    commands: CallControlCommands | None,
    legs: CallLegTracker | None = None,
) -> Plugin:
    service = CallControlService(
        directory,
        board,
        tracker,
        deps.channels,
        commands,
        deps.audit,
        deps.bus,
        deps.clock,
        trunk_host=deps.settings.outbound.trunk_host,
        legs=legs,
    )
    plugin = Plugin("callcontrol", service=service)
    for event_type in (
        ev.ChannelHeld,
        ev.ChannelUnheld,
        ev.BridgeEntered,
        ev.TransferFailed,
        ev.CallRequeued,
        ev.ChannelHungup,
    ):
        plugin.handle(event_type, service.on_event)
    plugin.subscribe("callcontrol:legs", service.on_leg_started, [LegStarted.topic])
    plugin.web_routes = lambda app: web.add_routes(app, service)

    def live(hub) -> None:  # to the agent of the call (their pages) and to admins
        def push(event: CallControlChanged) -> None:
            if event.call is not None:
                message = {"topic": event.topic, "ended": event.ended, "call": event.call.to_dict()}
                hub.broadcast(message, roles={"admin"}, usernames={event.call.agent})

        deps.bus.subscribe("callcontrol:desk", push, topics=[CallControlChanged.topic])

    plugin.live = live
    return plugin
