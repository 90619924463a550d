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

    def to_dict(self) -> dict:
        return {
            "uniqueid": self.uniqueid,
            "queue": self.queue,
            "caller_number": self.caller_number,
            "caller_name": self.caller_name,
            "ringing_at": self.ringing_at.isoformat(),
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
        }


@dataclass
class AgentStatus:
    username: str
    interface: str
    state: AgentState = AgentState.LOGGED_OUT
    since: datetime | None = None
    pause_reason: str = ""
    queues: frozenset[str] = frozenset()
    paused_in: frozenset[str] = frozenset()
    call: CurrentCall | None = None  # the call the desk shows
    # the agent's other calls at the same time (a call transferred to them while on another,
    # the call they left for another): the most recent first
    other_calls: tuple[CurrentCall, ...] = ()
    last_call: str = ""  # the uniqueid of the call that ended last (the one a wrap-up is for)
    phone_reachable: bool = True
    reported_reason: str = ""  # the reason last published with the state

    @property
    def outside_queues(self) -> bool:
        """On a call (a transfer, a three-way call) while logged in to no queue."""
        return self.call is not None and not self.queues

    def to_dict(self) -> dict:
        return {
            "username": self.username,
            "interface": self.interface,
            "state": self.state.value,
            "since": self.since.isoformat() if self.since else None,
            "pause_reason": self.pause_reason,
            "queues": sorted(self.queues),
            "phone_reachable": self.phone_reachable,
            "call": None if self.call is None else self.call.to_dict(),
            "other_calls": [call.to_dict() for call in self.other_calls],
            "outside_queues": self.outside_queues,
            "last_call": self.last_call,
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
        if (agent.state is AgentState.RINGING and queues) or (agent.state is AgentState.ON_CALL and agent.call):
            # pause/unpause (or a logout) during a call shows once the call ends: an agent who
            # logs out of every queue while on a call is still on it
            return []
        return self._change(agent, _resting_state(agent), queue=queue)

    def _agent_called(self, event: ev.AgentCalled) -> list[ev.Event]:
        agent = self.agent_for(event.interface)
        if agent is None:
            return []
        shown = _take(
            agent,
            CurrentCall(
                uniqueid=event.uniqueid,
                linkedid=event.linkedid,
                queue=event.queue,
                caller_number=event.caller_number,
                caller_name=event.caller_name,
                ringing_at=self.clock.now(),
            ),
        )
        return self._change(agent, AgentState.RINGING, queue=event.queue, uniqueid=event.uniqueid, force=shown)

    def _ring_no_answer(self, event: ev.AgentRingNoAnswer) -> list[ev.Event]:
        agent = self.agent_for(event.interface)
        if agent is None or _find(agent, event.uniqueid) is None:
            return []
        _drop(agent, event.uniqueid)
        if agent.call is not None:  # back to the call they were on
            return self._change(
                agent, _call_state(agent.call), queue=agent.call.queue, uniqueid=agent.call.uniqueid, force=True
            )
        return self._change(
            agent, _resting_state(agent), queue=event.queue, uniqueid=event.uniqueid, reason="no answer"
        )

    def _connected(self, event: ev.AgentConnected) -> list[ev.Event]:
        agent = self.agent_for(event.interface)
        if agent is None:
            return []
        now = self.clock.now()
        call = _find(agent, event.uniqueid) or CurrentCall(
            uniqueid=event.uniqueid, linkedid=event.linkedid, queue=event.queue, caller_number="", ringing_at=now
        )
        shown = _take(agent, replace(call, answered_at=now, via="queue"))
        return self._change(agent, AgentState.ON_CALL, queue=event.queue, uniqueid=event.uniqueid, force=shown)

    def _completed(self, event: ev.AgentCompleted) -> list[ev.Event]:
        agent = self.agent_for(event.interface)
        if agent is None:
            return []
        return self._call_over(agent, event.queue, event.uniqueid)

    def _call_over(self, agent: AgentStatus, queue: str, uniqueid: str) -> list[ev.Event]:
        """The agent's call ended: wrap-up when its queue has one, else their resting state;
        still on call (the next one shown) while another call of theirs goes on."""
        if _find(agent, uniqueid) is not None:
            _drop(agent, uniqueid)
        elif not agent.other_calls:
            agent.call = None  # a call the board did not follow to its end (a restart)
        agent.last_call = uniqueid
        if agent.call is not None:
            return self._change(
                agent, _call_state(agent.call), queue=agent.call.queue, uniqueid=agent.call.uniqueid, force=True
            )
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
        if agent is None:
            return []
        known = _find(agent, uniqueid)
        if known is not None and known.via == "queue":
            return []
        now = self.clock.now()
        call = CurrentCall(
            uniqueid=uniqueid,
            linkedid=linkedid,
            queue=queue,
            caller_number=caller_number,
            ringing_at=now,
            answered_at=now,
            via="leg",
        )
        shown = _take(agent, call)  # a call they were on already stays in their other calls
        return self._change(agent, AgentState.ON_CALL, queue=queue, uniqueid=uniqueid, force=shown)

    def leg_ended(self, username: str, *, uniqueid: str) -> list[ev.Event]:
        """`username`'s leg of call `uniqueid` (reached without the queue) ended: back to wrap-up
        when the call's queue has one, else to their resting state (logged out when they are in
        no queue); on call still while another call of theirs goes on."""
        agent = self.agents.get(username)
        call = _find(agent, uniqueid) if agent is not None else None
        if agent is None or call is None or call.via != "leg":
            return []
        return self._call_over(agent, call.queue, uniqueid)

    def focus(self, username: str, uniqueid: str) -> list[ev.Event]:
        """The agent's desk shows their call `uniqueid` (one of their other calls) from now."""
        agent = self.agents.get(username)
        call = _find(agent, uniqueid) if agent is not None else None
        if agent is None or call is None:
            return []
        if agent.call is not None and agent.call.uniqueid == uniqueid:
            return []
        _take(agent, call)
        return self._change(agent, _call_state(call), queue=call.queue, uniqueid=uniqueid, force=True)

    def _caller_abandoned(self, event: ev.QueueCallerAbandoned) -> list[ev.Event]:
        out: list[ev.Event] = []
        for agent in self.agents.values():
            call = _find(agent, event.uniqueid)
            if call is None or call.answered_at is not None:
                continue
            _drop(agent, event.uniqueid)
            if agent.call is not None:
                out += self._change(
                    agent, _call_state(agent.call), queue=agent.call.queue, uniqueid=agent.call.uniqueid, force=True
                )
            else:
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
                live = {c.uniqueid for c in snapshot.channels}
                for call in _calls(agent):
                    if call.uniqueid not in live:
                        _drop(agent, call.uniqueid)
                if agent.call is None and agent.state in (AgentState.RINGING, AgentState.ON_CALL):
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
                    agent.call, agent.other_calls = None, ()
                    out += self._change(agent, _resting_state(agent), reason="call ended during outage")
        return out

    def _change(
        self,
        agent: AgentStatus,
        state: AgentState,
        *,
        queue: str = "",
        uniqueid: str = "",
        reason: str = "",
        force: bool = False,
    ) -> list[ev.Event]:
        """Move to `state`; an event only when the state (or a pause's reason) really changes,
        or with `force` when the call shown changed (another call of the agent's)."""
        paused = state in (AgentState.PAUSED, AgentState.WRAP_UP)
        reason = agent.pause_reason if paused else reason
        if state == agent.state and not force and (not paused or reason == agent.reported_reason):
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


def _calls(agent: AgentStatus) -> tuple[CurrentCall, ...]:
    """Every call the agent is on: the one shown first."""
    return ((agent.call,) if agent.call is not None else ()) + agent.other_calls


def _find(agent: AgentStatus, uniqueid: str) -> CurrentCall | None:
    return next((c for c in _calls(agent) if c.uniqueid == uniqueid), None)


def _take(agent: AgentStatus, call: CurrentCall) -> bool:
    """`call` is the one shown; the call shown until now (another one) joins the other calls.
    True when the agent was on other calls (what the desk and the wallboard show changed)."""
    others = tuple(c for c in _calls(agent) if c.uniqueid != call.uniqueid)
    agent.call, agent.other_calls = call, others
    return bool(others)


def _drop(agent: AgentStatus, uniqueid: str) -> None:
    """Call `uniqueid` is over for the agent: the most recent of their other calls (if any) is
    the one shown now."""
    rest = tuple(c for c in _calls(agent) if c.uniqueid != uniqueid)
    agent.call, agent.other_calls = (rest[0], rest[1:]) if rest else (None, ())


def _call_state(call: CurrentCall) -> AgentState:
    return AgentState.ON_CALL if call.answered_at is not None else AgentState.RINGING


def _resting_state(agent: AgentStatus) -> AgentState:
    """The state of an agent not on a call, from memberships and pauses."""
    if not agent.queues:
        return AgentState.LOGGED_OUT
    if agent.paused_in and agent.paused_in >= agent.queues:
        return AgentState.WRAP_UP if agent.pause_reason == WRAPUP_REASON else AgentState.PAUSED
    return AgentState.AVAILABLE
