"""Supervision: the wallboard (pushed live to supervisors), listen/whisper/barge, forced agent
actions, and the live PBX activity of the system page filtered by each supervisor's scope."""

from __future__ import annotations

import asyncio

from ...core import events as ev
from ...core.plugin import Deps, Plugin
from ..acd.service import AcdService
from ..agents.model import AgentStateChanged
from ..callbacks.model import WaitingLine
from ..calls.model import CallRecordChanged
from . import web
from .ports import SupervisionRepository
from .service import SupervisionService


def setup(deps: Deps, *, repository: SupervisionRepository, acd: AcdService, waiting_line: WaitingLine) -> Plugin:
    supervision = SupervisionService(
        repository, acd.board, acd.tracker, waiting_line, acd, deps.pbx, deps.audit, deps.clock, alerts=deps.alerts
    )
    acd.queue_listeners.append(supervision.set_queues)  # the service-level targets
    plugin = Plugin("supervision", service=supervision)
    plugin.subscribe(
        "supervision",
        supervision.on_event,
        [
            CallRecordChanged.topic,
            AgentStateChanged.topic,
            ev.QueueCallerJoined.topic,
            ev.QueueCallerLeft.topic,
            ev.QueueCallerAbandoned.topic,
            ev.ChanSpyStarted.topic,
            ev.ChanSpyStopped.topic,
            ev.ChannelHungup.topic,
        ],
    )
    plugin.startup.append(supervision.load)
    plugin.web_routes = lambda app: web.add_routes(app, supervision)
    tasks: list[asyncio.Task] = []

    def live(hub) -> None:
        feed = web.ChannelFeed(supervision, hub)
        deps.bus.subscribe("realtime:pbx", feed.forward, topics=web.LIVE_TOPICS, maxsize=5000)
        publisher = web.WallboardPublisher(supervision, hub)
        tasks.append(asyncio.get_running_loop().create_task(publisher.run(), name="wallboard-publisher"))

    async def stop_publishing() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        tasks.clear()

    plugin.live = live
    plugin.cleanup.append(stop_publishing)
    return plugin
