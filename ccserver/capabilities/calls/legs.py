"""Call legs: who handled a call, for how long, how each got it and how each let it go. Pure.

A call (the customer's channel, the call record's uniqueid) has one leg per agent who talked
with the customer: the queue's agent, the agent a call was transferred to (blind or attended),
the third party of a three-way call. Legs are followed from bridge events: an agent's channel
(any channel of the call's linkedid on an agent's interface) is *connected* when it can reach
the customer's channel through bridges, Local channel pairs included (an attended transfer's
consultation runs over a Local channel, which Asterisk may or may not optimise away). So:

- a leg starts (answered_at) when the agent's channel first connects with the customer: the
  receiving agent of an attended transfer starts when the transfer completes, not when the
  consultation's Local channel rings them;
- talk seconds are the seconds connected, hold seconds the seconds the agent's channel was
  alive but apart from the customer (hold, the agent's own consultation);
- a channel that never connected (a ring not answered, a consultation cancelled) is no leg.

How a leg started: ``queue`` (the first), ``click_to_dial``, ``blind_transfer`` (the agent's
channel went straight to the customer), ``attended_transfer`` (it talked to somebody else of
the call before: the consultation), ``three_way`` (another agent was still with the customer).
How it ended: ``hangup`` (the call ended with it), ``transferred`` (a later leg took the
customer), ``left`` (another agent was still with the customer: a three-way call left),
``requeued`` (the agent's phone hung up while holding: the customer went back to the queue, at
the front, and the next leg starts as a ``queue`` one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from ...core import events as ev
from ...core.clock import Clock

STARTS = ("queue", "click_to_dial", "blind_transfer", "attended_transfer", "three_way")
ENDS = ("hangup", "transferred", "left", "requeued")
MAX_CALLS = 20_000  # calls followed at once (a leak guard: ended calls are dropped at once)


@dataclass(frozen=True)
class CallLeg:
    call_uniqueid: str
    linkedid: str
    seq: int  # 1, 2...: in the order the legs started
    agent: str
    interface: str
    channel: str
    started_at: datetime  # the agent's channel appeared (it rang)
    answered_at: datetime | None  # connected with the customer
    ended_at: datetime | None = None
    talk_seconds: int = 0
    hold_seconds: int = 0
    started_how: str = "queue"
    ended_how: str = ""
    transferred_by: str = ""  # the agent the customer came from (transfers, three-way)

    def to_dict(self) -> dict[str, Any]:
        row = asdict(self)
        for key in ("started_at", "answered_at", "ended_at"):
            row[key] = row[key].isoformat() if row[key] else None
        return row


@dataclass(slots=True)
class CallLegsChanged(ev.DomainEvent):
    """A leg of a call started, ended or changed how it ended: all the call's legs (connected
    ones only), `ended` when the call is over."""

    topic: ClassVar[str] = "call_legs_changed"
    call_uniqueid: str = ""
    legs: tuple[CallLeg, ...] = ()
    ended: bool = False


@dataclass(slots=True)
class LegStarted(ev.DomainEvent):
    """An agent got a call by a transfer or a three-way call (the screen-pop follows the call)."""

    topic: ClassVar[str] = "call_leg_started"
    leg: CallLeg | None = None


def interface_of(channel: str) -> str:
    """``PJSIP/alice-0000002a`` -> ``PJSIP/alice``; a Local channel has none."""
    if channel.startswith("Local/") or "-" not in channel:
        return ""
    return channel.rsplit("-", 1)[0]


def _local_peer(channel: str) -> str:
    if not channel.startswith("Local/"):
        return ""
    if channel.endswith(";1"):
        return channel[:-1] + "2"
    if channel.endswith(";2"):
        return channel[:-1] + "1"
    return ""


@dataclass
class _Leg:
    channel: str
    agent: str
    interface: str
    created_at: datetime
    consulted: bool = False  # bridged with somebody else of the call before meeting the customer
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    connected_since: datetime | None = None
    apart_since: datetime | None = None
    talk: float = 0.0
    hold: float = 0.0
    started_how: str = ""
    ended_how: str = ""
    transferred_by: str = ""
    seq: int = 0
    parted_shared: bool = False  # last parted from the customer while another agent stayed


@dataclass
class _Call:
    uniqueid: str
    linkedid: str
    customer: str  # the customer's channel
    how: str = "queue"  # how its first leg starts
    legs: dict[str, _Leg] = field(default_factory=dict)  # agent channel -> leg
    seq: int = 0
    hint: tuple[str, str] | None = None  # (how, by): what call control asked for the next leg


class CallLegTracker:
    """`apply` takes PBX events and returns `CallLegsChanged` / `LegStarted` to publish."""

    def __init__(self, clock: Clock, agent_of_interface: Callable[[str], str]) -> None:
        self.clock = clock
        self._agent_of = agent_of_interface
        self.calls: dict[str, _Call] = {}
        self.by_linkedid: dict[str, str] = {}
        self.bridge_of: dict[str, str] = {}  # channel -> bridge id
        self.members: dict[str, set[str]] = {}  # bridge id -> channels

    # --- what others ask ------------------------------------------------------------------
    def legs(self, call_uniqueid: str) -> list[CallLeg]:
        call = self.calls.get(call_uniqueid)
        return self._views(call) if call else []

    def open_call(self, uniqueid: str, linkedid: str, customer: str, how: str = "queue") -> None:
        """A call to follow: its id, linkedid and the customer's channel (a queue caller, the
        customer's channel of a click-to-dial call)."""
        if uniqueid in self.calls:
            return
        if len(self.calls) >= MAX_CALLS:
            oldest = next(iter(self.calls))
            self._forget(self.calls[oldest])
        self.calls[uniqueid] = _Call(uniqueid, linkedid or uniqueid, customer, how)
        self.by_linkedid[linkedid or uniqueid] = uniqueid

    def on_record(self, event: ev.Event) -> None:
        """Bus listener for call records: a click-to-dial call (placed from a desk, no queue)
        is followed from its record, the agent's channel being the call's id; its customer is
        the first other channel of its linkedid that is no agent's and no Local channel."""
        record = getattr(event, "record", None)
        if record is None or getattr(event, "ended", False) or record.queue or record.direction != "outbound":
            return
        if "click_to_dial" in dict(record.data):
            self.open_call(record.uniqueid, record.linkedid, "", "click_to_dial")

    def hint(self, call_uniqueid: str, how: str, by: str) -> None:
        """Call control asked for a transfer (`how` one of STARTS) by agent `by`: the next leg
        of this call starts so (the events alone tell it too, a hint makes it certain)."""
        call = self.calls.get(call_uniqueid)
        if call is not None and how in STARTS:
            call.hint = (how, by)

    # --- events -----------------------------------------------------------------------------
    def apply(self, event: ev.Event) -> list[ev.Event]:
        handler = self._handlers.get(type(event))
        return handler(self, event) if handler else []

    def _joined(self, e: ev.QueueCallerJoined) -> list[ev.Event]:
        self.open_call(e.uniqueid, e.linkedid, e.channel)
        return []

    def _requeued(self, e: ev.CallRequeued) -> list[ev.Event]:
        call = self.calls.get(e.uniqueid)
        if call is None:
            return []
        # back in the queue after agents had it ([ccserver-requeue]): whoever left it without
        # handing it over put it back; the next agent gets it from the queue
        requeued = [x for x in call.legs.values() if x.ended_at is not None and x.ended_how == "hangup"]
        if not requeued:
            return []
        for leg in requeued:
            leg.ended_how = "requeued"
        call.hint = ("queue", "")
        return [self._changed(call)]

    def _call_for(self, linkedid: str) -> _Call | None:
        uniqueid = self.by_linkedid.get(linkedid)
        return self.calls.get(uniqueid) if uniqueid else None

    def _agent_leg(self, call: _Call, channel: str) -> _Leg | None:
        leg = call.legs.get(channel)
        if leg is not None or channel == call.customer:
            return leg
        interface = interface_of(channel)
        agent = self._agent_of(interface) if interface else ""
        if not agent:
            if not call.customer and interface:  # a click-to-dial call's customer
                call.customer = channel
            return None
        leg = _Leg(channel=channel, agent=agent, interface=interface, created_at=self.clock.now())
        call.legs[channel] = leg
        return leg

    def _created(self, e: ev.ChannelCreated) -> list[ev.Event]:
        call = self._call_for(e.linkedid)
        if call is not None:
            self._agent_leg(call, e.channel)
        return []

    def _entered(self, e: ev.BridgeEntered) -> list[ev.Event]:
        old = self.bridge_of.get(e.channel)
        if old is not None:
            self.members.get(old, set()).discard(e.channel)
        self.bridge_of[e.channel] = e.bridge_id
        self.members.setdefault(e.bridge_id, set()).add(e.channel)
        call = self._call_for(e.linkedid)
        if call is not None:
            self._agent_leg(call, e.channel)
        return self._recompute(call)

    def _left(self, e: ev.BridgeLeft) -> list[ev.Event]:
        if self.bridge_of.get(e.channel) == e.bridge_id:
            del self.bridge_of[e.channel]
        members = self.members.get(e.bridge_id)
        if members is not None:
            members.discard(e.channel)
            if not members:
                del self.members[e.bridge_id]
        return self._recompute(self._call_for(e.linkedid))

    def _hungup(self, e: ev.ChannelHungup) -> list[ev.Event]:
        bridge = self.bridge_of.pop(e.channel, None)
        if bridge is not None:
            members = self.members.get(bridge, set())
            members.discard(e.channel)
            if not members:
                self.members.pop(bridge, None)
        call = self.calls.get(e.uniqueid)
        if call is not None and call.customer == e.channel:
            return self._end_call(call)
        call = self._call_for(e.linkedid)
        if call is None:
            return []
        if call.customer == e.channel:  # a click-to-dial call's customer
            return self._end_call(call)
        if not call.customer and (e.uniqueid == call.uniqueid or e.channel in call.legs):
            return self._end_call(call)  # a click-to-dial call ended before the customer was dialled
        out = self._recompute(call)
        leg = call.legs.get(e.channel)
        if leg is None:
            return out
        if leg.answered_at is None:  # rang, or consulted, never with the customer: no leg
            del call.legs[e.channel]
            return out
        if leg.ended_at is None:
            self._end_leg(call, leg)
            return out + [self._changed(call)]
        return out

    def _snapshot(self, snapshot: ev.PbxSnapshot) -> list[ev.Event]:
        alive = {c.channel for c in snapshot.channels}
        for channel in [c for c in self.bridge_of if c not in alive]:  # gone during an outage
            bridge = self.bridge_of.pop(channel)
            members = self.members.get(bridge, set())
            members.discard(channel)
            if not members:
                self.members.pop(bridge, None)
        out: list[ev.Event] = []
        for call in list(self.calls.values()):
            if call.customer not in alive:
                out += self._end_call(call)
        return out

    # --- the graph ----------------------------------------------------------------------------
    def _reachable(self, start: str) -> set[str]:
        seen = {start}
        todo = [start]
        while todo:
            channel = todo.pop()
            near = set(self.members.get(self.bridge_of.get(channel, ""), ()))
            peer = _local_peer(channel)
            if peer:
                near.add(peer)
            for other in near - seen:
                seen.add(other)
                todo.append(other)
        return seen

    def _recompute(self, call: _Call | None) -> list[ev.Event]:
        if call is None:
            return []
        now = self.clock.now()
        with_customer = self._reachable(call.customer)
        started: list[_Leg] = []
        changed = False
        for leg in call.legs.values():
            if leg.ended_at is not None:
                continue
            connected = leg.channel in with_customer
            if connected and leg.connected_since is None:
                if leg.apart_since is not None:
                    leg.hold += (now - leg.apart_since).total_seconds()
                    leg.apart_since = None
                leg.connected_since = now
                leg.parted_shared = False
                if leg.answered_at is None:
                    leg.answered_at = now
                    started.append(leg)
                changed = True
            elif not connected and leg.connected_since is not None:
                leg.talk += (now - leg.connected_since).total_seconds()
                leg.connected_since = None
                leg.apart_since = now
                leg.parted_shared = any(
                    x is not leg and x.ended_at is None and x.channel in with_customer for x in call.legs.values()
                )
                changed = True
            elif (
                not connected
                and leg.answered_at is None
                and not leg.consulted
                and leg.channel in self.bridge_of
                and len(self._reachable(leg.channel)) > 1
            ):
                leg.consulted = True  # in a bridge with somebody who is not the customer: a consultation
        out: list[ev.Event] = []
        for leg in started:
            self._start_leg(call, leg)
            if leg.started_how in ("blind_transfer", "attended_transfer", "three_way"):
                out.append(LegStarted(leg=self._view(call, leg)))
        if changed:
            out.insert(0, self._changed(call))
        return out

    def _start_leg(self, call: _Call, leg: _Leg) -> None:
        call.seq += 1
        leg.seq = call.seq
        earlier = sorted((x for x in call.legs.values() if x.seq and x is not leg), key=lambda x: x.seq)
        if not earlier:
            leg.started_how = call.how
            return
        if call.hint is not None:
            leg.started_how, leg.transferred_by = call.hint
            call.hint = None
            self._hand_over(earlier)
            return
        with_customer = [x for x in earlier if x.ended_at is None and x.connected_since is not None]
        in_a_bridge = [x for x in earlier if x.ended_at is None and x.channel in self.bridge_of]
        if with_customer or in_a_bridge:
            # another agent is still on the call: a three-way call (merged consultation)
            leg.started_how = "three_way"
            leg.transferred_by = (with_customer or in_a_bridge)[-1].agent
        else:
            leg.started_how = "attended_transfer" if leg.consulted else "blind_transfer"
            leg.transferred_by = earlier[-1].agent
        self._hand_over(earlier)

    @staticmethod
    def _hand_over(earlier: list[_Leg]) -> None:
        for x in earlier:  # whoever left before this leg started handed the customer over
            if x.ended_at is not None and x.ended_how == "hangup":
                x.ended_how = "transferred"

    def _end_leg(self, call: _Call, leg: _Leg) -> None:
        now = self.clock.now()
        if leg.connected_since is not None:
            leg.talk += (now - leg.connected_since).total_seconds()
            leg.connected_since = None
        if leg.apart_since is not None:
            leg.hold += (now - leg.apart_since).total_seconds()
            leg.apart_since = None
        leg.ended_at = now
        if leg.parted_shared:
            leg.ended_how = "left"
        elif any(x.seq > leg.seq for x in call.legs.values()):
            # a later leg already has the customer (an attended transfer completes before the
            # transferring agent's channel is gone): handed over
            leg.ended_how = "transferred"
        else:
            leg.ended_how = "hangup"

    def _end_call(self, call: _Call) -> list[ev.Event]:
        for leg in list(call.legs.values()):
            if leg.answered_at is None:
                del call.legs[leg.channel]
            elif leg.ended_at is None:
                self._end_leg(call, leg)
                leg.ended_how = "hangup"
        self._forget(call)
        return [self._changed(call, ended=True)]

    def _forget(self, call: _Call) -> None:
        self.calls.pop(call.uniqueid, None)
        if self.by_linkedid.get(call.linkedid) == call.uniqueid:
            del self.by_linkedid[call.linkedid]

    # --- views --------------------------------------------------------------------------------
    def _view(self, call: _Call, leg: _Leg) -> CallLeg:
        now = self.clock.now()
        talk, hold = leg.talk, leg.hold
        if leg.connected_since is not None:
            talk += (now - leg.connected_since).total_seconds()
        if leg.apart_since is not None:
            hold += (now - leg.apart_since).total_seconds()
        return CallLeg(
            call_uniqueid=call.uniqueid,
            linkedid=call.linkedid,
            seq=leg.seq,
            agent=leg.agent,
            interface=leg.interface,
            channel=leg.channel,
            started_at=leg.created_at,
            answered_at=leg.answered_at,
            ended_at=leg.ended_at,
            talk_seconds=round(talk),
            hold_seconds=round(hold),
            started_how=leg.started_how,
            ended_how=leg.ended_how,
            transferred_by=leg.transferred_by,
        )

    def _views(self, call: _Call) -> list[CallLeg]:
        legs = sorted((x for x in call.legs.values() if x.seq), key=lambda x: x.seq)
        return [self._view(call, leg) for leg in legs]

    def _changed(self, call: _Call, ended: bool = False) -> CallLegsChanged:
        return CallLegsChanged(call_uniqueid=call.uniqueid, legs=tuple(self._views(call)), ended=ended)

    _handlers: ClassVar[dict] = {
        ev.QueueCallerJoined: _joined,
        ev.CallRequeued: _requeued,
        ev.ChannelCreated: _created,
        ev.BridgeEntered: _entered,
        ev.BridgeLeft: _left,
        ev.ChannelHungup: _hungup,
        ev.PbxSnapshot: _snapshot,
    }

    def register(self, intake) -> None:
        for event_type in self._handlers:
            intake.add_handler(event_type, self.apply)

    def handled_events(self) -> tuple[type, ...]:
        return tuple(self._handlers)


def talk_by_agent(legs: list[CallLeg]) -> dict[str, int]:
    """Each agent's own talk seconds over these legs (what a transferred call charges each)."""
    totals: dict[str, int] = {}
    for leg in legs:
        totals[leg.agent] = totals.get(leg.agent, 0) + leg.talk_seconds
    return totals
