"""The inbound plugins' wiring: what each `setup` registers, without a database or Asterisk."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace

from ccserver.capabilities.acd import plugin as acd_plugin
from ccserver.capabilities.agents.model import AgentStateChanged
from ccserver.capabilities.callbacks import plugin as callbacks_plugin
from ccserver.capabilities.calls.model import CallRecordChanged
from ccserver.core import events as ev
from ccserver.core.alerts import Alerts
from ccserver.core.bus import InProcessBus, Intake
from ccserver.core.channels import ChannelRegistry
from ccserver.core.clock import ManualClock
from ccserver.core.plugin import Deps


class RecordingWriter:
    def __init__(self, name, write):
        self.name, self.write = name, write
        self.events, self.started, self.stopped = [], False, False

    def __call__(self, event):
        self.events.append(event)

    def start(self):
        self.started = True

    async def stop(self):
        self.stopped = True


def deps():
    bus = InProcessBus()
    return Deps(
        settings=SimpleNamespace(outbound=SimpleNamespace(trunk_host="127.0.0.1:5070")),
        clock=ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)),
        bus=bus,
        intake=Intake(bus),
        pbx=None,
        audit=SimpleNamespace(record=lambda *a, **k: None),
        alerts=Alerts(),
        channels=ChannelRegistry(),
    )


def test_acd_plugin_writes_states_and_calls_through_the_writers_app_gives_and_stops_them_late():
    writers = {}

    def factory(name, write):
        writers[name] = RecordingWriter(name, write)
        return writers[name]

    plugin = acd_plugin.setup(deps(), repository=None, customers=None, writer_factory=factory)
    acd = plugin.service
    assert writers["db:agent-states"].write == acd.write_states
    assert writers["db:calls"].write == acd.write_calls
    subs = {s.name: s for s in plugin.subscriptions}
    assert subs["db:agent-states"].topics == (AgentStateChanged.topic,)
    assert subs["db:calls"].topics == (CallRecordChanged.topic,)
    assert subs["db:calls"].maxsize == subs["db:agent-states"].maxsize == 100_000
    assert subs["acd:reactions"].maxsize == 10_000
    # the board and the tracker apply PBX events in the intake
    assert {h.event_type for h in plugin.intake_handlers} >= {
        ev.QueueMemberChanged,
        ev.QueueCallerJoined,
        ev.AgentConnected,
    }
    assert [(j.id, j.trigger, j.options) for j in plugin.jobs] == [
        ("acd-regenerate-dialplan", "cron", {"hour": 0, "minute": 5})
    ]
    assert plugin.cleanup == [] and len(plugin.late_cleanup) == 1
    asyncio.run(plugin.late_cleanup[0]())
    assert writers["db:agent-states"].stopped and writers["db:calls"].stopped


def test_callbacks_plugin_matches_stand_ins_in_the_intake_and_dials_due_requests_every_5_seconds():
    tracker = SimpleNamespace(open={})
    plugin = callbacks_plugin.setup(deps(), repository=None, tracker=tracker)
    assert (ev.AgentConnected, plugin.service.match_connected) in [
        (h.event_type, h.handler) for h in plugin.intake_handlers
    ]
    assert [(j.id, j.trigger, j.options) for j in plugin.jobs] == [("callbacks-dial-due", "interval", {"seconds": 5})]
    assert [s.name for s in plugin.subscriptions] == ["callbacks"]
