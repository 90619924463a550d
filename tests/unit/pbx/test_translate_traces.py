"""The AMI translation against what the real Asterisk 22 sends (tests/traces/ami, recorded by
tests/traces/record_ami.py): every event type the table translates has a trace, every trace is
accepted as Asterisk's own and gives the typed event with the fields the raw message holds, and
the list replies the resync reads (QueueStatus, CoreShowChannels) make a full snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest
from panoramisk.message import Message
from panoramisk.utils import EOL

from ccserver.adapters.pbx.ami import AmiLink
from ccserver.adapters.pbx.resync import take_snapshot
from ccserver.adapters.pbx.translate import AMI_TRANSLATORS, ami_fields, tampered, translate_ami
from ccserver.core import events as ev

TRACES = Path(__file__).resolve().parents[2] / "traces" / "ami"
LIST_REPLIES = ("QueueParams", "QueueMember", "QueueEntry", "CoreShowChannel")
NODE = "n1"


def read_trace(path: Path) -> list[Message]:
    """The messages of a trace, parsed as panoramisk's AMIProtocol does on the wire."""
    text = path.read_bytes().decode("utf-8")
    messages = []
    while EOL * 2 in text:
        block, text = text.split(EOL * 2, 1)
        message = Message.from_line(block)
        assert message is not None, f"{path.name}: not an AMI message: {block[:80]!r}"
        messages.append(message)
    assert messages, f"{path.name}: empty trace"
    return messages


def trace_paths() -> list[Path]:
    return sorted(TRACES.glob("*.txt"))


def event_name(path: Path) -> str:
    return path.stem.split("-", 1)[0]


def traced(names) -> list:
    return [pytest.param(p, id=p.stem) for p in trace_paths() if event_name(p) in names]


def test_every_translated_event_type_has_a_trace():
    recorded = {event_name(p) for p in trace_paths()}
    missing = sorted(set(AMI_TRANSLATORS) - recorded)
    assert not missing, f"no trace for {missing}: run tests/traces/record_ami.py (see README)"
    assert not set(LIST_REPLIES) - recorded


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in trace_paths()])
def test_asterisk_own_messages_are_never_taken_for_tampered_ones(path):
    for message in read_trace(path):
        assert tampered(message) is None, (path.name, tampered(message))


def expected(name: str, f: dict[str, str]) -> tuple[type, dict]:
    """The typed event and fields the raw AMI fields `f` (lower-cased) must give."""
    f = {
        k: ("" if k in ("calleridnum", "calleridname") and v == "<unknown>" else v) for k, v in f.items()
    }  # Asterisk's way of saying "none"
    call = dict(uniqueid=f.get("uniqueid", ""), linkedid=f.get("linkedid", ""))
    if name == "Newchannel":
        return ev.ChannelCreated, dict(
            call,
            channel=f["channel"],
            caller_number=f["calleridnum"],
            caller_name=f["calleridname"],
            context=f["context"],
            exten=f["exten"],
            state=f["channelstatedesc"],
        )
    if name == "Newstate":
        if f["channelstatedesc"] == "Up":
            return ev.ChannelAnswered, dict(call, channel=f["channel"])
        return ev.ChannelStateChanged, dict(call, channel=f["channel"], state=f["channelstatedesc"])
    if name == "Hangup":
        return ev.ChannelHungup, dict(call, channel=f["channel"], cause=int(f["cause"]), cause_text=f["cause-txt"])
    if name in ("Hold", "Unhold"):
        return (ev.ChannelHeld if name == "Hold" else ev.ChannelUnheld), dict(call, channel=f["channel"])
    if name in ("BridgeEnter", "BridgeLeave"):
        cls = ev.BridgeEntered if name == "BridgeEnter" else ev.BridgeLeft
        return cls, dict(call, bridge_id=f["bridgeuniqueid"], channel=f["channel"])
    if name == "QueueCallerJoin":
        return ev.QueueCallerJoined, dict(
            call, queue=f["queue"], channel=f["channel"], caller_number=f["calleridnum"], position=int(f["position"])
        )
    if name == "QueueCallerLeave":
        return ev.QueueCallerLeft, dict(call, queue=f["queue"], position=int(f["position"]))
    if name == "QueueCallerAbandon":
        return ev.QueueCallerAbandoned, dict(
            call, queue=f["queue"], position=int(f["position"]), hold_time=int(f["holdtime"])
        )
    if name == "AgentCalled":
        return ev.AgentCalled, dict(
            call,
            queue=f["queue"],
            caller_number=f["calleridnum"],
            caller_name=f["calleridname"],
            interface=f["interface"],
            member_name=f["membername"],
            dest_channel=f["destchannel"],
        )
    if name == "AgentConnect":
        return ev.AgentConnected, dict(
            call,
            queue=f["queue"],
            interface=f["interface"],
            member_name=f["membername"],
            hold_time=int(f["holdtime"]),
            ring_time=int(f["ringtime"]),
        )
    if name == "AgentComplete":
        return ev.AgentCompleted, dict(
            call,
            queue=f["queue"],
            interface=f["interface"],
            member_name=f["membername"],
            talk_time=int(f["talktime"]),
            hold_time=int(f["holdtime"]),
            reason=f["reason"],
        )
    if name == "AgentRingNoAnswer":
        return ev.AgentRingNoAnswer, dict(
            call, queue=f["queue"], interface=f["interface"], member_name=f["membername"], ring_time=int(f["ringtime"])
        )
    if name.startswith("QueueMember"):
        change = {
            "QueueMemberAdded": "added",
            "QueueMemberRemoved": "removed",
            "QueueMemberPause": "paused",
            "QueueMemberStatus": "status",
        }[name]
        return ev.QueueMemberChanged, dict(
            change=change,
            queue=f["queue"],
            interface=f["interface"],
            member_name=f["membername"],
            status=int(f["status"]),
            paused=f["paused"] == "1",
            paused_reason=f["pausedreason"],
            in_call=f["incall"] == "1",
            penalty=int(f["penalty"]),
        )
    if name in ("ChanSpyStart", "ChanSpyStop"):
        cls = ev.ChanSpyStarted if name == "ChanSpyStart" else ev.ChanSpyStopped
        return cls, dict(
            spyer_channel=f["spyerchannel"], spyee_channel=f["spyeechannel"], spyee_uniqueid=f["spyeeuniqueid"]
        )
    if name == "MixMonitorStart":
        return ev.MixMonitorStarted, dict(call, channel=f["channel"])
    if name == "FullyBooted":
        return ev.PbxFullyBooted, {}
    if name == "OriginateResponse":
        return ev.OriginateResponded, dict(
            action_id=f["actionid"],
            success=f["response"] == "Success",
            reason=int(f["reason"]),
            uniqueid=f["uniqueid"],
            channel=f["channel"],
        )
    if name == "UserEvent":
        kind = f["userevent"]
        if kind == "CcsOverflow":
            return ev.QueueOverflowed, dict(call, queue=f["queue"], destination=f["destination"])
        if kind == "CcsCallback":
            return ev.CallbackRequested, dict(call, queue=f["queue"], number=f["number"], entered_at=f["enteredat"])
        if kind == "CcsDialer":
            return ev.DialerReported, dict(
                call, attempt=f["attempt"], stage=f["stage"], result=f["result"], cause=f.get("cause", "")
            )
        if kind == "CcsCallData":
            keys = list(f)
            body = keys[keys.index("userevent") + 1 :]
            return ev.CallDataSet, dict(call, data=tuple(sorted((k[4:], f[k]) for k in body if k.startswith("ccs_"))))
        if kind == "CcsRequeued":
            return ev.CallRequeued, dict(call, queue=f["queue"])
        if kind == "CcsRequeueFailed":
            return ev.RequeueFailed, dict(call, queue=f["queue"], status=f["status"])
        if kind == "CcsRefused":
            return ev.CallRefused, dict(
                call,
                channel=f["channel"],
                caller_number=f["calleridnum"],
                exten=f["exten"],
                reason=f["reason"],
                limit=int(f["limit"]),
            )
    raise AssertionError(f"no expectation written for {name} {f.get('userevent', '')}")


@pytest.mark.parametrize("path", traced(AMI_TRANSLATORS))
def test_each_traced_event_translates_to_its_typed_event_with_the_raw_fields(path):
    for message in read_trace(path):
        fields = ami_fields(message)
        cls, values = expected(fields["event"], fields)
        event = translate_ami(message, NODE)
        assert isinstance(event, cls), (path.name, event)
        assert event.node == NODE
        got = {name: getattr(event, name) for name in values}
        assert got == values, path.name


def test_the_traced_call_is_seen_whole():
    """The values of the recorded scenario, not only copied fields: a caller's number, queue and
    agent reach the typed events (a regression in a field name would give "")."""
    joined = [translate_ami(m, NODE) for m in read_trace(TRACES / "QueueCallerJoin.txt")]
    assert {(e.queue, e.caller_number) for e in joined} >= {("support", "0612345678")}
    [called, *_] = [translate_ami(m, NODE) for m in read_trace(TRACES / "AgentCalled.txt")]
    assert (called.interface, called.member_name) == ("PJSIP/alice", "alice")
    assert called.dest_channel.startswith("PJSIP/alice-") and called.uniqueid
    paused = [translate_ami(m, NODE) for m in read_trace(TRACES / "QueueMemberPause.txt")]
    assert ("PJSIP/alice", True, "lunch") in {(e.interface, e.paused, e.paused_reason) for e in paused}
    booted = [translate_ami(m, NODE) for m in read_trace(TRACES / "FullyBooted.txt")]
    assert booted and all(isinstance(e, ev.PbxFullyBooted) for e in booted)
    dialer = [translate_ami(m, NODE) for m in read_trace(TRACES / "UserEvent-CcsDialer.txt")]
    assert {(e.stage, e.result) for e in dialer} >= {("amd", "MACHINE"), ("amd", "HUMAN")}
    [data] = [translate_ami(m, NODE) for m in read_trace(TRACES / "UserEvent-CcsCallData.txt")]
    assert dict(data.data)["direction"] == "outbound" and dict(data.data)["campaign"] == "1"
    [requeued] = [translate_ami(m, NODE) for m in read_trace(TRACES / "UserEvent-CcsRequeued.txt")]
    assert requeued.queue == "support" and requeued.uniqueid
    [failed] = [translate_ami(m, NODE) for m in read_trace(TRACES / "UserEvent-CcsRequeueFailed.txt")]
    assert (failed.queue, failed.status) == ("support", "JOINEMPTY")


class _ListReplies(AmiLink):
    """An AmiLink whose list actions answer with recorded messages (nothing on the network)."""

    def __init__(self, replies: dict[str, list[Message]]) -> None:
        super().__init__(host="127.0.0.1", port=9, username="u", secret="s", submit=lambda e: None, node=NODE)
        self.replies = replies

    async def send(self, action, *, as_list=False, timeout=None):
        return self.replies[action["Action"]]


async def test_a_resync_snapshot_from_real_list_replies_has_the_waiting_caller_and_the_members():
    # the real QueueEntry (Asterisk 22: CallerIDNum, CallerIDName, ConnectedLineNum,
    # ConnectedLineName, Wait, Priority, ActionID) was refused as tampered: a caller waiting at a
    # reconnect was missing from the snapshot
    queue_status = (
        read_trace(TRACES / "QueueParams.txt")
        + read_trace(TRACES / "QueueMember.txt")
        + read_trace(TRACES / "QueueEntry.txt")
    )
    channels = read_trace(TRACES / "CoreShowChannel.txt")
    link = _ListReplies({"QueueStatus": queue_status, "CoreShowChannels": channels})
    snapshot = await take_snapshot(link, None, NODE)

    [entry] = [ami_fields(m) for m in read_trace(TRACES / "QueueEntry.txt")]
    assert [(c.queue, c.uniqueid, c.channel, c.caller_number, c.position) for c in snapshot.queue_callers] == [
        (entry["queue"], entry["uniqueid"], entry["channel"], entry["calleridnum"], int(entry["position"]))
    ]
    assert entry["calleridnum"] == "0698765432"
    members = [ami_fields(m) for m in read_trace(TRACES / "QueueMember.txt")]
    assert sorted((m.queue, m.interface, m.member_name, m.paused) for m in snapshot.queue_members) == sorted(
        (m["queue"], m["location"], m["name"], m["paused"] == "1") for m in members
    )
    shown = [ami_fields(m) for m in channels]
    assert [(c.uniqueid, c.channel, c.state, c.caller_number) for c in snapshot.channels] == [
        (c["uniqueid"], c["channel"], c["channelstatedesc"], c["calleridnum"]) for c in shown
    ]


def test_a_queue_entry_whose_caller_number_carried_a_line_break_is_still_refused():
    [real] = read_trace(TRACES / "QueueEntry.txt")
    raw = (TRACES / "QueueEntry.txt").read_bytes().decode().split(EOL * 2)[0]
    number = ami_fields(real)["calleridnum"]
    for injected in ("Foo: bar", "Wait: 999", "Queue: vip"):
        forged = Message.from_line(raw.replace(f"CallerIDNum: {number}", f"CallerIDNum: {number}{EOL}{injected}"))
        assert tampered(forged) is not None, injected
    forged = Message.from_line(raw.replace("Priority: 0", f"Priority: 0{EOL}Position: 1"))
    assert tampered(forged) is not None


def test_a_caller_id_asterisk_does_not_have_is_empty_not_unknown():
    # Asterisk writes "<unknown>" for an absent caller-ID name or number (every sipp caller of
    # the traces has no name): the desk and the wallboard showed "<unknown>" as the caller's name
    for trace in ("Newchannel", "AgentCalled"):
        nameless = [m for m in read_trace(TRACES / f"{trace}.txt") if ami_fields(m)["calleridname"] == "<unknown>"]
        assert nameless, trace
        for message in nameless:
            event = translate_ami(message, NODE)
            assert event.caller_name == "" and event.caller_number.isdigit(), (trace, event)
    raw = (TRACES / "QueueCallerJoin.txt").read_bytes().decode().split(EOL * 2)[0]
    [number] = [line.split(": ", 1)[1] for line in raw.split(EOL) if line.startswith("CallerIDNum: ")]
    nameless = Message.from_line(raw.replace(f"CallerIDNum: {number}", "CallerIDNum: <unknown>"))
    assert translate_ami(nameless, NODE).caller_number == ""


async def test_a_resync_snapshot_of_callers_without_a_number_has_an_empty_one_like_the_events():
    # CoreShowChannel writes "<unknown>", QueueEntry "unknown" for a number Asterisk lacks
    def without_number(trace: str, placeholder: str) -> list[Message]:
        messages = []
        for block in (TRACES / trace).read_bytes().decode().split(EOL * 2)[:-1]:
            lines = [
                f"CallerIDNum: {placeholder}" if line.startswith("CallerIDNum: ") else line for line in block.split(EOL)
            ]
            messages.append(Message.from_line(EOL.join(lines)))
        return messages

    link = _ListReplies(
        {
            "QueueStatus": without_number("QueueEntry.txt", "unknown"),
            "CoreShowChannels": without_number("CoreShowChannel.txt", "<unknown>"),
        }
    )
    snapshot = await take_snapshot(link, None, NODE)
    assert [c.caller_number for c in snapshot.queue_callers] == [""]
    assert snapshot.channels and {c.caller_number for c in snapshot.channels} == {""}
