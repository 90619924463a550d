"""Agents' live states, derived from what Asterisk reports. Pure: no I/O.

An agent is logged in when they are a member of at least one queue. Their state follows the
queue events: a member added or unpaused is *available*, paused is *paused* (with the reason
code), paused with the reason ``wrapup`` is *wrap-up*, AgentCalled makes them *ringing*,
AgentConnect *on call*, AgentComplete ends the call (wrap-up when the queue has one). Commands
from the page (log in, pause...) go to Asterisk; the state changes only when Asterisk confirms.

`AgentBoard.apply(event)` returns domain events: `AgentStateChanged` (stored: the timeline) and,
after a resync, `AgentMembershipLost` for agents who should be logged in but whom Asterisk no
longer has (it restarted): the service adds them back as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import ClassVar

from ...core import events as ev
from ...core.clock import Clock

WRAPUP_REASON = "wrapup"


class AgentState(str, Enum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    PAUSED = "paused"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


@dataclass(frozen=True)
class CurrentCall:
    uniqueid: str
    linkedid: str
    queue: str
    caller_number: str
    ringing_at: datetime
    answered_at: datetime | None = None
    caller_name: str = ""
    via: str = "queue"  # "leg": reached by a transfer or a three-way call (no queue events)


@dataclass
class AgentStatus:
    username: str
    interface: str
    state: AgentState = AgentState.LOGGED_OUT
    since: datetime | None = None
    pause_reason: str = ""
    queues: frozenset[str] = frozenset()
    paused_in: frozenset[str] = frozenset()
    call: CurrentCall | None = None
    phone_reachable: bool = True
    reported_reason: str = ""  # the reason last published with the state

    def to_dict(self) -> dict:
        return {
            "username": self.username,
            "interface": self.interface,
            "state": self.state.value,
            "since": self.since.isoformat() if self.since else None,
            "pause_reason": self.pause_reason,
            "queues": sorted(self.queues),
            "phone_reachable": self.phone_reachable,
            "call": None
            if self.call is None
            else {
                "uniqueid": self.call.uniqueid,
                "queue": self.call.queue,
                "caller_number": self.call.caller_number,
                "caller_name": self.call.caller_name,
                "ringing_at": self.call.ringing_at.isoformat(),
                "answered_at": self.call.answered_at.isoformat() if self.call.answered_at else None,
            },
        }


@dataclass(slots=True)
class AgentStateChanged(ev.DomainEvent):
    topic: ClassVar[str] = "agent_state_changed"
    username: str = ""
    state: str = ""
    previous: str = ""
    reason: str = ""
    at: datetime | None = None
    queue: str = ""
    uniqueid: str = ""
    status: dict = field(default_factory=dict)


@dataclass(slots=True)
class AgentMembershipLost(ev.DomainEvent):
    """Asterisk no longer has queue memberships the agent is logged in with (restart)."""

    topic: ClassVar[str] = "agent_membership_lost"
    username: str = ""
    interface: str = ""
    queues: tuple[str, ...] = ()
    paused: bool = False
    reason: str = ""


@dataclass(slots=True)
class AgentWrapUpStarted(ev.DomainEvent):
    """A call ended on a queue with wrap-up: the service pauses the agent with reason wrapup."""

    topic: ClassVar[str] = "agent_wrap_up_started"
    username: str = ""
    interface: str = ""
    queue: str = ""
    uniqueid: str = ""
    seconds: int = 0


class AgentBoard:
    def __init__(self, clock: Clock, wrapup_seconds: dict[str, int] | None = None) -> None:
        self.clock = clock
        self.agents: dict[str, AgentStatus] = {}
        self.by_interface: dict[str, str] = {}
        self.wrapup_seconds = dict(wrapup_seconds or {})

    # --- roster -----------------------------------------------------------------------------
    def add_agent(
        self,
        username: str,
        interface: str,
        *,
        queues: frozenset[str] = frozenset(),
        paused: bool = False,
        reason: str = "",
    ) -> AgentStatus:
        """Known agent; with queues: logged in as stored (before Asterisk confirms, after a restart)."""
        status = self.agents.get(username) or AgentStatus(
            username=username, interface=interface, since=self.clock.now()
        )
        status.interface = interface
        if queues:
            status.queues = frozenset(queues)
            status.paused_in = frozenset(queues) if paused else frozenset()
            status.pause_reason = reason if paused else ""
            status.state = _resting_state(status)
        self.agents[username] = status
        self.by_interface[interface.lower()] = username
        return status

    def remove_agent(self, username: str) -> None:
        status = self.agents.pop(username, None)
        if status is not None:
            self.by_interface.pop(status.interface.lower(), None)

    def agent_for(self, interface: str) -> AgentStatus | None:
        username = self.by_interface.get(interface.lower())
        return self.agents.get(username) if username else None

    # --- events -----------------------------------------------------------------------------
    def apply(self, event: ev.Event) -> list[ev.Event]:
        handler = self._handlers.get(type(event))
        return handler(self, event) if handler else []

    def _member_changed(self, event: ev.QueueMemberChanged) -> list[ev.Event]:
        agent = self.agent_for(event.interface)
        if agent is None:
            return []
        if event.change == "snapshot":
            return []  # snapshots are reconciled as a whole in _snapshot
        if event.change in ("status", "added"):
            agent.phone_reachable = event.status != 5
        if event.change == "status" and event.queue in agent.queues:
            return []  # device status only; pauses come with their own events
        queues, paused_in = set(agent.queues), set(agent.paused_in)
        if event.change == "removed":
            queues.discard(event.queue)
            paused_in.discard(event.queue)
        else:
            queues.add(event.queue)
            if event.paused:
                paused_in.add(event.queue)
            else:
                paused_in.discard(event.queue)
        reason = event.paused_reason if event.paused else ""
        return self._settle(agent, frozenset(queues), frozenset(paused_in), reason, event.queue)

    def _settle(
        self, agent: AgentStatus, queues: frozenset[str], paused_in: frozenset[str], reason: str, queue: str
    ) -> list[ev.Event]:
        agent.queues, agent.paused_in = queues, paused_in
        if paused_in:
            agent.pause_reason = reason or agent.pause_reason
        else:
            agent.pause_reason = ""
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL) and queues:
            return []  # pause/unpause during a call shows once the call ends
        return self._change(agent, _resting_state(agent), queue=queue)

    def _agent_called(self, event: ev.AgentCalled) -> list[ev.Event]:
        agent = self.agent_for(event.interface)
        if agent is None:
            return []
        agent.call = CurrentCall(
            uniqueid=event.uniqueid,
            linkedid=event.linkedid,
            queue=event.queue,
            caller_number=event.caller_number,
            caller_name=event.caller_name,
            ringing_at=self.clock.now(),
        )
        return self._change(agent, AgentState.RINGING, queue=event.queue, uniqueid=event.uniqueid)

    def _ring_no_answer(self, event: ev.AgentRingNoAnswer) -> list[ev.Event]:
        agent = self.agent_for(event.interface)
        if agent is None or agent.call is None or agent.call.uniqueid != event.uniqueid:
            return []
        agent.call = None
        return self._change(
            agent, _resting_state(agent), queue=event.queue, uniqueid=event.uniqueid, reason="no answer"
        )

    def _connected(self, event: ev.AgentConnected) -> list[ev.Event]:
        agent = self.agent_for(event.interface)
        if agent is None:
            return []
        now = self.clock.now()
        call = (
            agent.call
            if agent.call and agent.call.uniqueid == event.uniqueid
            else CurrentCall(
                uniqueid=event.uniqueid, linkedid=event.linkedid, queue=event.queue, caller_number="", ringing_at=now
            )
        )
        agent.call = replace(call, answered_at=now, via="queue")
        return self._change(agent, AgentState.ON_CALL, queue=event.queue, uniqueid=event.uniqueid)

    def _completed(self, event: ev.AgentCompleted) -> list[ev.Event]:
        agent = self.agent_for(event.interface)
        if agent is None:
            return []
        return self._call_over(agent, event.queue, event.uniqueid)

    def _call_over(self, agent: AgentStatus, queue: str, uniqueid: str) -> list[ev.Event]:
        """The agent's call ended: wrap-up when its queue has one, else their resting state."""
        agent.call = None
        seconds = self.wrapup_seconds.get(queue, 0)
        if seconds > 0 and agent.queues:
            agent.pause_reason = WRAPUP_REASON
            out = self._change(agent, AgentState.WRAP_UP, queue=queue, uniqueid=uniqueid)
            return out + [
                AgentWrapUpStarted(
                    username=agent.username,
                    interface=agent.interface,
                    queue=queue,
                    uniqueid=uniqueid,
                    seconds=seconds,
                )
            ]
        return self._change(agent, _resting_state(agent), queue=queue, uniqueid=uniqueid)

    # --- calls reached without the queue (transfers through Dial, three-way calls) ---------------
    def leg_started(
        self, username: str, *, uniqueid: str, linkedid: str, queue: str, caller_number: str = ""
    ) -> list[ev.Event]:
        """`username`'s interface is now in a bridge with the customer of call `uniqueid`
        (a transfer or a three-way call, seen from the PBX's bridge events): on call. A call the
        queue gave them is left to the queue's events."""
        agent = self.agents.get(username)
        if agent is None or (agent.call is not None and agent.call.uniqueid != uniqueid):
            return []  # unknown, or on another call the board follows
        if agent.call is not None and agent.call.via == "queue":
            return []
        now = self.clock.now()
        agent.call = CurrentCall(
            uniqueid=uniqueid,
            linkedid=linkedid,
            queue=queue,
            caller_number=caller_number,
            ringing_at=now,
            answered_at=now,
            via="leg",
        )
        return self._change(agent, AgentState.ON_CALL, queue=queue, uniqueid=uniqueid)

    def leg_ended(self, username: str, *, uniqueid: str) -> list[ev.Event]:
        """`username`'s leg of call `uniqueid` (reached without the queue) ended: back to wrap-up
        when the call's queue has one, else to their resting state."""
        agent = self.agents.get(username)
        if agent is None or agent.call is None or agent.call.uniqueid != uniqueid or agent.call.via != "leg":
            return []
        return self._call_over(agent, agent.call.queue, uniqueid)

    def _caller_abandoned(self, event: ev.QueueCallerAbandoned) -> list[ev.Event]:
        out: list[ev.Event] = []
        for agent in self.agents.values():
            if agent.call is not None and agent.call.uniqueid == event.uniqueid and agent.call.answered_at is None:
                agent.call = None
                out += self._change(
                    agent, _resting_state(agent), queue=event.queue, uniqueid=event.uniqueid, reason="caller hung up"
                )
        return out

    def _snapshot(self, snapshot: ev.PbxSnapshot) -> list[ev.Event]:
        """Asterisk's memberships are the truth; agents we hold as logged in but Asterisk has
        lost entirely (a restart) are reported so the service re-adds them as they were."""
        seen: dict[str, tuple[set[str], set[str], str]] = {}
        for member in snapshot.queue_members:
            agent = self.agent_for(member.interface)
            if agent is None:
                continue
            queues, paused, reason = seen.setdefault(agent.username, (set(), set(), ""))
            queues.add(member.queue)
            if member.paused:
                paused.add(member.queue)
                seen[agent.username] = (queues, paused, member.paused_reason or reason)
        out: list[ev.Event] = []
        for agent in self.agents.values():
            if agent.username in seen:
                queues, paused, reason = seen[agent.username]
                if agent.call is not None and not any(c.uniqueid == agent.call.uniqueid for c in snapshot.channels):
                    agent.call = None
                    agent.state = _resting_state(agent)
                out += self._settle(agent, frozenset(queues), frozenset(paused), reason, "")
            elif agent.queues:
                out.append(
                    AgentMembershipLost(
                        username=agent.username,
                        interface=agent.interface,
                        queues=tuple(sorted(agent.queues)),
                        paused=bool(agent.paused_in),
                        reason=agent.pause_reason,
                    )
                )
                if agent.call is not None:
                    agent.call = None
                    out += self._change(agent, _resting_state(agent), reason="call ended during outage")
        return out

    def _change(
        self, agent: AgentStatus, state: AgentState, *, queue: str = "", uniqueid: str = "", reason: str = ""
    ) -> list[ev.Event]:
        """Move to `state`; an event only when the state (or a pause's reason) really changes."""
        paused = state in (AgentState.PAUSED, AgentState.WRAP_UP)
        reason = agent.pause_reason if paused else reason
        if state == agent.state and (not paused or reason == agent.reported_reason):
            return []
        previous = agent.state
        agent.state, agent.since, agent.reported_reason = state, self.clock.now(), reason
        return [
            AgentStateChanged(
                username=agent.username,
                state=state.value,
                previous=previous.value,
                reason=reason,
                at=agent.since,
                queue=queue,
                uniqueid=uniqueid,
                status=agent.to_dict(),
            )
        ]

    _handlers = {
        ev.QueueMemberChanged: _member_changed,
        ev.AgentCalled: _agent_called,
        ev.AgentRingNoAnswer: _ring_no_answer,
        ev.AgentConnected: _connected,
        ev.AgentCompleted: _completed,
        ev.QueueCallerAbandoned: _caller_abandoned,
        ev.PbxSnapshot: _snapshot,
    }

    def register(self, intake) -> None:
        for event_type in self._handlers:
            intake.add_handler(event_type, self.apply)


def _resting_state(agent: AgentStatus) -> AgentState:
    """The state of an agent not on a call, from memberships and pauses."""
    if not agent.queues:
        return AgentState.LOGGED_OUT
    if agent.paused_in and agent.paused_in >= agent.queues:
        return AgentState.WRAP_UP if agent.pause_reason == WRAPUP_REASON else AgentState.PAUSED
    return AgentState.AVAILABLE
