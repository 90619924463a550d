"""The live wallboard and the spy modes. Pure: no I/O.

Queue figures are computed from the call records of the day (the same rows the database
stores, so the wallboard and the stored records agree) plus the callers waiting right now:
- answered, abandoned: records of the day by outcome (callback and overflow counted apart);
- service level: answered within the queue's target / (answered + abandoned), in percent;
- average handle time: mean talk seconds of answered calls;
- waiting, longest wait: callers in the queue now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ccserver.core.text import Text

from ..agents.model import AgentState, AgentStatus

# the browser phone's endpoint is <sip user>~webrtc (acd.model.WEBRTC_SUFFIX, which imports this
# module: the same text, kept equal by tests/unit/test_assistance_model.py)
WEBRTC_SUFFIX = "~webrtc"
SPY_MODES = {"listen": ("q", "4"), "whisper": ("qw", "5"), "barge": ("qB", "6")}


def chanspy_options(mode: str) -> str:
    """ChanSpy options for a mode: q quiet, E exit when the spied call ends, d lets DTMF 4/5/6
    switch listen/whisper/barge during the session (the server sends them with PlayDTMF)."""
    if mode not in SPY_MODES:
        raise ValueError(Text("unknown spy mode %(mode)r", mode=mode))
    return SPY_MODES[mode][0] + "Ed"


def spy_endpoint(interface: str, sip_username: str) -> str:
    """The PJSIP endpoint whose channels ChanSpy follows for an agent: the phone they logged in
    with, as their queue member interface says: ``PJSIP/<sip user>`` (their SIP softphone) or
    ``PJSIP/<sip user>~webrtc`` (the desk's browser phone, whose channels are
    ``PJSIP/<sip user>~webrtc-0000002a``). Anything else (not logged in, an interface naming
    another account) falls back to the SIP account's own endpoint."""
    endpoint = interface[len("PJSIP/") :] if interface.startswith("PJSIP/") else ""
    if endpoint in (sip_username, sip_username + WEBRTC_SUFFIX):
        return endpoint
    return sip_username


def mode_digit(mode: str) -> str:
    if mode not in SPY_MODES:
        raise ValueError(Text("unknown spy mode %(mode)r", mode=mode))
    return SPY_MODES[mode][1]


@dataclass
class QueueFigures:
    queue: str
    waiting: int = 0
    longest_wait_seconds: int = 0
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    callbacks: int = 0
    overflowed: int = 0
    answered_in_target: int = 0
    service_level_pct: float | None = None
    average_handle_seconds: float | None = None
    agents_by_state: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def day_of(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def queue_figures(
    queue: str,
    target_seconds: int,
    records: Iterable,
    waiting_since: Iterable[datetime],
    agents: Iterable[AgentStatus],
    now: datetime,
) -> QueueFigures:
    """Figures of one queue. `records`: ended call records of the period (objects with queue,
    outcome, wait_seconds, talk_seconds)."""
    figures = QueueFigures(queue=queue)
    talk_total, talk_count = 0, 0
    for r in records:
        if r.queue != queue:
            continue
        figures.offered += 1
        if r.outcome == "answered":
            figures.answered += 1
            if r.wait_seconds is not None and r.wait_seconds <= target_seconds:
                figures.answered_in_target += 1
            if r.talk_seconds is not None:
                talk_total += r.talk_seconds
                talk_count += 1
        elif r.outcome == "abandoned":
            figures.abandoned += 1
        elif r.outcome == "callback":
            figures.callbacks += 1
        elif r.outcome == "overflow":
            figures.overflowed += 1
    handled = figures.answered + figures.abandoned
    if handled:
        figures.service_level_pct = round(100.0 * figures.answered_in_target / handled, 1)
    if talk_count:
        figures.average_handle_seconds = round(talk_total / talk_count, 1)
    waits = [max(0, int((now - since).total_seconds())) for since in waiting_since]
    figures.waiting = len(waits)
    figures.longest_wait_seconds = max(waits, default=0)
    states = {s.value: 0 for s in AgentState if s is not AgentState.LOGGED_OUT}
    for agent in agents:
        if queue in agent.queues and agent.state is not AgentState.LOGGED_OUT:
            states[agent.state.value] += 1
    figures.agents_by_state = states
    return figures


def agent_row(agent: AgentStatus, now: datetime) -> dict:
    row = agent.to_dict()
    row["seconds_in_state"] = int((now - agent.since).total_seconds()) if agent.since else 0
    if agent.call is not None:
        start = agent.call.answered_at or agent.call.ringing_at
        row["call_seconds"] = int((now - start).total_seconds())
    return row


def visible(
    queues: Iterable[str],
    teams_of_agents: Mapping[str, str],
    scope_queues: set[str] | None,
    scope_teams: set[str] | None,
) -> tuple[set[str], set[str] | None]:
    """What a supervisor may see: their queues, and agents of their teams or in their queues.
    None scopes (admins) see everything. Returns (queues, agent usernames or None for all)."""
    queues = set(queues)
    if scope_queues is None and scope_teams is None:
        return queues, None
    seen_queues = queues & (scope_queues or set())
    agents = {u for u, team in teams_of_agents.items() if scope_teams and team in scope_teams}
    return seen_queues, agents
