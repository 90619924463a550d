"""The resync against a fake AMI: events that arrive while a snapshot is being taken are not
undone by it, a channel that really vanished during an outage is still closed as such, and the
periodic check takes a snapshot only when something suggests drift."""

from __future__ import annotations

import asyncio

import pytest

from ccserver.adapters.pbx.connection import PbxConnection, PbxEndpoint
from ccserver.capabilities.agents.model import AgentBoard, AgentState
from ccserver.capabilities.callbacks.model import WaitingLine
from ccserver.capabilities.calls.model import CallRecordChanged, CallTracker
from ccserver.core import events as ev
from ccserver.core.bus import InProcessBus, Intake
from ccserver.core.channels import VANISHED, ChannelRegistry
from ccserver.core.clock import SystemClock
from tests.fakes.ami_server import FakeAmi


def _block(**fields: str) -> str:
    return "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"


def _list(complete: str, entries: list[dict], then: list[dict] = ()) -> callable:
    """A list action's answer (entries as of when Asterisk built it), followed in the same
    write by `then`: events of what happened right after."""

    def respond(fields: dict) -> str:
        text = _block(Response="Success", ActionID="{aid}", EventList="start", Message="follows")
        for entry in entries:
            text += _block(**entry, ActionID="{aid}")
        text += _block(Event=complete, ActionID="{aid}", EventList="Complete", ListItems=str(len(entries)))
        return text + "".join(_block(**e) for e in then)

    return respond


def channel(uid: str, name: str, state: str = "Up") -> dict:
    return {
        "Event": "CoreShowChannel",
        "Uniqueid": uid,
        "Linkedid": uid,
        "Channel": name,
        "ChannelStateDesc": state,
        "CallerIDNum": "0612345678",
        "Context": "from-customers",
        "Exten": "100",
    }


def entry(uid: str, name: str, position: int) -> dict:
    return {
        "Event": "QueueEntry",
        "Queue": "support",
        "Uniqueid": uid,
        "Linkedid": uid,
        "Channel": name,
        "CallerIDNum": "0612345678",
        "Position": str(position),
    }


MEMBER = {
    "Event": "QueueMember",
    "Queue": "support",
    "Name": "alice",
    "Location": "PJSIP/agent1",
    "StateInterface": "PJSIP/agent1",
    "Status": "1",
    "Paused": "0",
    "InCall": "0",
    "Penalty": "0",
}


class Node:
    """One ccserver's view of the node: intake, channels, call records, waiting line, agents."""

    def __init__(self, fake: FakeAmi, resync_interval: float = 60.0) -> None:
        self.bus = InProcessBus()
        self.intake = Intake(self.bus)
        clock = SystemClock()
        self.board = AgentBoard(clock)
        self.board.add_agent("alice", "PJSIP/agent1", queues=frozenset({"support"}))
        self.channels = ChannelRegistry()
        self.calls = CallTracker(clock, agent_of_interface=lambda i: "alice" if i == "PJSIP/agent1" else "")
        self.line = WaitingLine(clock)
        for part in (self.channels, self.calls, self.line, self.board):
            part.register(self.intake)
        self.ended: dict[str, object] = {}
        self.resyncs = 0  # snapshots applied
        self.bus.subscribe("records", self._record, topics={CallRecordChanged.topic})
        self.bus.subscribe("resyncs", self._resynced, topics={ev.ResyncCompleted.topic})
        self.pbx = PbxConnection(
            PbxEndpoint("127.0.0.1", fake.port, "u", "s", "http://127.0.0.1:9/ari", "u", "s"),
            self.intake.submit,
            command_timeout=2,
            resync_interval=resync_interval,
        )

    def _record(self, event: CallRecordChanged) -> None:
        if event.ended:
            self.ended[event.record.uniqueid] = event.record

    def _resynced(self, event: ev.ResyncCompleted) -> None:
        self.resyncs += 1

    async def start(self) -> None:
        await self.bus.start()
        self.intake.start()
        await self.pbx.start()
        await until(lambda: self.resyncs >= 1, "the first resync")

    async def settle(self) -> None:
        await self.intake.drain()
        await self.bus.drain()

    async def stop(self) -> None:
        await self.pbx.stop()
        await self.intake.stop()
        await self.bus.stop()


async def until(predicate, what: str, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@pytest.fixture
async def fake():
    server = FakeAmi()
    await server.start()
    yield server
    await server.stop()


async def test_events_arriving_while_the_snapshot_is_taken_are_not_undone(fake):
    # at start: caller b waits in the queue, alice is free
    fake.responders["coreshowchannels"] = _list("CoreShowChannelsComplete", [channel("b", "PJSIP/customers-b")])
    fake.responders["queuestatus"] = _list("QueueStatusComplete", [MEMBER, entry("b", "PJSIP/customers-b", 1)])
    node = Node(fake)
    await node.start()
    await node.settle()
    fake.send_event(
        Event="QueueCallerJoin",
        Queue="support",
        Uniqueid="b",
        Linkedid="b",
        Channel="PJSIP/customers-b",
        CallerIDNum="0612345678",
        Position="1",
    )
    await node.settle()
    assert "b" in node.calls.open

    # a resync under load: CoreShowChannels is answered before caller c exists; c calls, is
    # answered by alice; QueueStatus is answered, then b gives up and hangs up
    fake.responders["coreshowchannels"] = _list(
        "CoreShowChannelsComplete",
        [channel("b", "PJSIP/customers-b")],
        then=[
            {
                "Event": "Newchannel",
                "Uniqueid": "c",
                "Linkedid": "c",
                "Channel": "PJSIP/customers-c",
                "ChannelStateDesc": "Ring",
                "CallerIDNum": "0699999999",
            },
            {
                "Event": "Newstate",
                "Uniqueid": "c",
                "Linkedid": "c",
                "Channel": "PJSIP/customers-c",
                "ChannelStateDesc": "Up",
            },
            {
                "Event": "QueueCallerJoin",
                "Queue": "support",
                "Uniqueid": "c",
                "Linkedid": "c",
                "Channel": "PJSIP/customers-c",
                "CallerIDNum": "0699999999",
                "Position": "2",
            },
            {
                "Event": "AgentCalled",
                "Queue": "support",
                "Uniqueid": "c",
                "Linkedid": "c",
                "Interface": "PJSIP/agent1",
                "MemberName": "alice",
                "CallerIDNum": "0699999999",
            },
            {"Event": "QueueCallerLeave", "Queue": "support", "Uniqueid": "c", "Linkedid": "c", "Position": "2"},
            {
                "Event": "AgentConnect",
                "Queue": "support",
                "Uniqueid": "c",
                "Linkedid": "c",
                "Interface": "PJSIP/agent1",
                "MemberName": "alice",
                "HoldTime": "3",
                "RingTime": "1",
            },
        ],
    )
    fake.responders["queuestatus"] = _list(
        "QueueStatusComplete",
        [dict(MEMBER, InCall="1", Status="2"), entry("b", "PJSIP/customers-b", 1)],
        then=[
            {
                "Event": "QueueCallerAbandon",
                "Queue": "support",
                "Uniqueid": "b",
                "Linkedid": "b",
                "Position": "1",
                "HoldTime": "40",
            },
            {
                "Event": "Hangup",
                "Uniqueid": "b",
                "Linkedid": "b",
                "Channel": "PJSIP/customers-b",
                "Cause": "16",
                "Cause-txt": "Normal Clearing",
            },
        ],
    )
    node.pbx.request_resync()
    await until(lambda: node.resyncs >= 2, "the second resync")
    await node.settle()

    # c's call goes on: not closed as vanished, alice is on it, its channel is live
    assert "c" not in node.ended, node.ended.get("c")
    assert node.calls.open["c"].agent == "alice"
    assert node.board.agents["alice"].state == AgentState.ON_CALL
    assert node.board.agents["alice"].call.uniqueid == "c"
    assert "c" in node.channels.channels and node.channels.channels["c"].state == "Up"
    # b left: not put back in the queue, not a ghost channel, closed with its hang-up cause
    assert node.line.waiting.get("support", {}) == {}
    assert "b" not in node.channels.channels
    assert (node.ended["b"].outcome, node.ended["b"].hangup_cause, node.ended["b"].hangup_reason) == (
        "abandoned",
        16,
        "Normal Clearing",
    )

    # c's call then ends normally, with the talk time Asterisk reports
    fake.send_event(
        Event="AgentComplete",
        Queue="support",
        Uniqueid="c",
        Linkedid="c",
        Interface="PJSIP/agent1",
        MemberName="alice",
        TalkTime="19",
        HoldTime="3",
        Reason="caller",
    )
    fake.send_event(
        Event="Hangup",
        Uniqueid="c",
        Linkedid="c",
        Channel="PJSIP/customers-c",
        Cause="16",
        **{"Cause-txt": "Normal Clearing"},
    )
    await until(lambda: "c" in node.ended, "c's record closed")
    record = node.ended["c"]
    assert (record.outcome, record.agent, record.talk_seconds, record.hangup_cause, record.hangup_reason) == (
        "answered",
        "alice",
        19,
        16,
        "Normal Clearing",
    )
    await node.stop()


async def test_a_channel_that_vanished_during_an_outage_is_still_closed_after_reconnect(fake):
    fake.responders["coreshowchannels"] = _list("CoreShowChannelsComplete", [channel("d", "PJSIP/customers-d")])
    fake.responders["queuestatus"] = _list("QueueStatusComplete", [MEMBER, entry("d", "PJSIP/customers-d", 1)])
    node = Node(fake)
    await node.start()
    fake.send_event(
        Event="QueueCallerJoin",
        Queue="support",
        Uniqueid="d",
        Linkedid="d",
        Channel="PJSIP/customers-d",
        CallerIDNum="0612345678",
        Position="1",
    )
    await node.settle()
    assert "d" in node.calls.open

    # the AMI link drops; d hangs up meanwhile (no event reaches us); the link comes back
    fake.responders["coreshowchannels"] = _list("CoreShowChannelsComplete", [])
    fake.responders["queuestatus"] = _list("QueueStatusComplete", [MEMBER])
    fake.drop_clients()
    await until(lambda: node.resyncs >= 2, "the resync after the reconnect", timeout=10)
    await node.settle()
    assert node.ended["d"].hangup_reason == VANISHED
    assert "d" not in node.channels.channels and node.line.waiting.get("support", {}) == {}
    await node.stop()


async def test_the_periodic_check_resyncs_only_when_events_suggest_drift(fake):
    node = Node(fake, resync_interval=0.1)
    await node.start()
    await asyncio.sleep(0.6)  # six periodic checks, with nothing suggesting drift
    assert (node.resyncs, fake.count("CoreShowChannels")) == (1, 1)

    # a hang-up of a channel we never saw created: we missed events
    fake.send_event(
        Event="Hangup",
        Uniqueid="zz",
        Linkedid="zz",
        Channel="PJSIP/customers-zz",
        Cause="16",
        **{"Cause-txt": "Normal Clearing"},
    )
    await until(lambda: node.resyncs >= 2, "a resync for the drift")
    assert fake.count("CoreShowChannels") == 2
    assert node.pbx.health()["resync"]["drift"] == ""
    await node.stop()
