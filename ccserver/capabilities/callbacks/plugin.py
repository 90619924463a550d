"""Callbacks: the callers waiting in each queue (fed by the intake), the requests they leave,
dialed when their turn comes."""

from __future__ import annotations

from ...core import events as ev
from ...core.plugin import Deps, Plugin
from ..calls.model import CallTracker
from .model import WaitingLine
from .ports import CallbackRepository
from .service import CallbackConnected, CallbackService

DIAL_EVERY_SECONDS = 5


def setup(deps: Deps, *, repository: CallbackRepository, tracker: CallTracker) -> Plugin:
    plugin = Plugin("callbacks")
    line = WaitingLine(deps.clock)
    line.register(plugin)

    def channel_of(uniqueid: str) -> str:  # a queue caller's channel: is it a callback's stand-in?
        record = tracker.open.get(uniqueid)
        return record.channel if record else ""

    callbacks = CallbackService(
        repository, line, deps.pbx, deps.clock, deps.settings.outbound.trunk_host, channel_of=channel_of
    )
    plugin.service = callbacks
    plugin.handle(ev.AgentConnected, callbacks.match_connected)
    plugin.subscribe(
        "callbacks",
        callbacks.on_event,
        [
            ev.CallbackRequested.topic,
            CallbackConnected.topic,
            ev.ChannelHungup.topic,
            ev.PbxSnapshot.topic,
            ev.QueueCallerLeft.topic,
            ev.QueueCallerAbandoned.topic,
        ],
    )
    plugin.every("callbacks-dial-due", callbacks.dial_due, seconds=DIAL_EVERY_SECONDS)
    return plugin
