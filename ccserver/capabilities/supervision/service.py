"""Supervisors' use cases: the wallboard they are allowed to see, listen / whisper / barge on an
agent's call (ChanSpy on the supervisor's own phone), forced pause, unpause and logout.
Every action is audit-logged (who, whom, when, mode)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ...core import events as ev
from ...core.alerts import KINDS, Alerts
from ...core.clock import Clock
from ...core.errors import Conflict, InvalidInput, NotFound, PbxUnavailable
from ...core.permissions import Actor, Target, actor_for, channel_target, may_act, require
from ...core.ports import AuditTrail, OriginateRequest, PbxCommands
from ...core.text import Text
from ..acd.service import AcdService, record_from_row
from ..agents.model import AgentBoard, AgentState
from ..callbacks.model import WaitingLine
from ..calls.model import CallRecord, CallRecordChanged, CallTracker
from .model import SPY_MODES, agent_row, day_of, mode_digit, queue_figures, spy_endpoint
from .ports import SupervisionRepository

logger = logging.getLogger(__name__)
PARIS = ZoneInfo("Europe/Paris")


@dataclass
class SpySession:
    supervisor: str
    agent: str
    mode: str
    spyer_prefix: str  # Local/<mode>-<agent endpoint>@ccserver-spy- : the Local channel running ChanSpy
    spyer_channel: str = ""  # its ;2 half (in ChanSpy); DTMF for mode changes goes to the ;1 half
    started: bool = False


class SupervisionService:
    def __init__(
        self,
        repo: SupervisionRepository,
        board: AgentBoard,
        tracker: CallTracker,
        waiting_line: WaitingLine,
        acd: AcdService,
        pbx: PbxCommands | None,
        audit: AuditTrail,
        clock: Clock,
        alerts: Alerts | None = None,
    ) -> None:
        self.repo = repo
        self.board = board
        self.tracker = tracker
        self.line = waiting_line
        self.acd = acd
        self.pbx = pbx
        self.audit = audit
        self._audit_tasks: set[asyncio.Task] = set()
        self.clock = clock
        self.today: list[CallRecord] = []
        self.sessions: dict[str, SpySession] = {}  # supervisor -> session
        self.targets: dict[str, int] = {}  # queue -> service level target (s)
        self.dirty = True
        self.alerts = alerts or Alerts()
        self.alerts.listeners.append(self._alerted)

    def _alerted(self, kind: str) -> None:
        self.dirty = True  # the board shows the new count at the next push

    # --- the day's records -------------------------------------------------------------------
    async def load(self) -> None:
        now = self.clock.now()
        local_midnight = now.astimezone(PARIS).replace(hour=0, minute=0, second=0, microsecond=0)
        rows = await asyncio.to_thread(self.repo.calls, since=local_midnight.astimezone(now.tzinfo))
        self.today = [record_from_row(r) for r in rows if r.ended_at is not None]
        await self.refresh_targets()

    async def refresh_targets(self) -> None:
        self.set_queues(await asyncio.to_thread(self.repo.queues))

    def set_queues(self, queues) -> None:
        """The queues and their service-level targets (called whenever they are applied)."""
        self.targets = {q.name: q.service_level_seconds for q in queues}
        self.dirty = True

    def on_event(self, event: ev.Event) -> None:
        """Bus listener (sync): keep the day's ended records; mark the board for a push."""
        if isinstance(event, CallRecordChanged) and event.ended and event.record is not None:
            self.today.append(event.record)
        elif isinstance(event, ev.ChanSpyStarted):
            self._spy_started(event)
        elif isinstance(event, ev.ChanSpyStopped):
            self._spy_stopped(event)
        elif isinstance(event, ev.ChannelHungup):
            for supervisor, session in list(self.sessions.items()):
                if event.channel.startswith(session.spyer_prefix):
                    self.sessions.pop(supervisor, None)
                    self._audit_later(supervisor, "supervision.end", session.agent, mode=session.mode, why="hung up")
        self.dirty = True

    def _audit_later(self, actor: str, action: str, target: str, **details) -> None:
        """An audit entry from a (synchronous) bus listener: written on a worker thread, never
        blocking the event loop; the task is kept until done (a failure is logged)."""
        task = asyncio.get_running_loop().create_task(
            asyncio.to_thread(self.audit.record, actor, action, target, **details)
        )
        self._audit_tasks.add(task)
        task.add_done_callback(self._audit_done)

    def _audit_done(self, task: asyncio.Task) -> None:
        self._audit_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("supervision: audit entry not written", exc_info=task.exception())

    # --- the wallboard -------------------------------------------------------------------------
    def board_snapshot(self) -> dict:
        now = self.clock.now()
        today = day_of(now, PARIS)
        records = [r for r in self.today if day_of(r.entered_queue_at, PARIS) == today]
        self.today = records
        agents = list(self.board.agents.values())
        queues = sorted(set(self.targets) | set(self.line.waiting))
        return {
            "topic": "wallboard",
            "at": now.isoformat(),
            "queues": [
                queue_figures(
                    q,
                    self.targets.get(q, 20),
                    records,
                    [since for since, _c in self.line.waiting.get(q, {}).values()],
                    agents,
                    now,
                ).to_dict()
                for q in queues
            ],
            "agents": [agent_row(a, now) for a in sorted(agents, key=lambda a: a.username)],
            "spying": {
                s.supervisor: {"agent": s.agent, "mode": s.mode, "active": s.started} for s in self.sessions.values()
            },
            # since the server started: calls not recorded although their policy says so, callers
            # refused by Asterisk for lack of resources (the whole node: not filtered by scope)
            "alerts": {kind: self.alerts.counts[kind] for kind in KINDS},
        }

    @staticmethod
    def filtered(board: dict, queues: set[str] | None, agents: set[str] | None) -> dict:
        if queues is None and agents is None:
            return board
        queues = queues or set()
        visible_agents = {
            a["username"]
            for a in board["agents"]
            if (agents and a["username"] in agents) or set(a["queues"]) & queues or _calls_queues(a) & queues
        }
        return {
            **board,
            "queues": [q for q in board["queues"] if q["queue"] in queues],
            "agents": [a for a in board["agents"] if a["username"] in visible_agents],
            # who listens to whom, for the agents in scope (a supervisor sees their own session)
            "spying": {s: v for s, v in board.get("spying", {}).items() if v["agent"] in visible_agents},
        }

    async def scope_of(self, username: str, role: str) -> tuple[set[str] | None, set[str] | None]:
        """(queues, agents) a user may supervise; (None, None) for admins (everything)."""
        if role == "admin":
            return None, None
        queues, teams = await asyncio.to_thread(self.repo.scopes_of, username)
        team_of = await asyncio.to_thread(self.repo.teams)
        return queues, {u for u, team in team_of.items() if team and team in teams}

    async def actor(self, username: str, role: str) -> Actor:
        return await asyncio.to_thread(actor_for, username, role, self.repo)

    async def check_allowed(self, supervisor: str, role: str, agent: str) -> None:
        """An agent is in a supervisor's scope when one of their queues or their team is."""
        if role == "admin":
            return  # admins supervise everybody (an unknown agent fails at the PBX step)
        status = self.board.agents.get(agent)
        if status is None:
            raise NotFound(Text("no agent %(agent)r", agent=agent), agent=agent)
        require(
            await self.actor(supervisor, role),
            Target.of("agent", agent, agents=[agent], queues=status.queues),
            "supervise",
        )

    def channel_targets(self, channels) -> list[tuple[object, Target]]:
        """Each live channel with what it belongs to: the tracked calls it takes part in (their
        queue and agent) and the agent phone it is."""
        calls = [(r.uniqueid, r.linkedid, r.queue, r.agent) for r in self.tracker.open.values()]
        interfaces = {a.interface: a.username for a in self.board.agents.values() if a.interface}
        return [(c, channel_target(c.uniqueid, c.linkedid, c.channel, calls, interfaces)) for c in channels]

    async def visible_channels(self, username: str, role: str, channels) -> list:
        """The live channels this user may see: all for an admin; a supervisor's queues' and
        teams' calls only."""
        if role == "admin":
            return list(channels)
        actor = await self.actor(username, role)
        return [c for c, target in self.channel_targets(channels) if may_act(actor, target)]

    # --- listen / whisper / barge ----------------------------------------------------------------
    def _pbx(self):
        if self.pbx is None or not self.pbx.is_up:
            raise PbxUnavailable("the telephone system is not reachable right now")
        return self.pbx

    async def start_spy(self, supervisor: str, role: str, agent: str, mode: str) -> SpySession:
        if mode not in SPY_MODES:
            raise InvalidInput(Text("mode: one of %(value)s", value=", ".join(SPY_MODES)), field="mode")
        await self.check_allowed(supervisor, role, agent)
        status = self.board.agents.get(agent)
        if status is None or status.state is not AgentState.ON_CALL:
            raise Conflict(Text("%(agent)s is not on a call", agent=agent), field="agent")
        if supervisor in self.sessions:
            raise Conflict("you are already listening to a call: stop it first", field="supervisor")
        phone = await asyncio.to_thread(self.repo.sip_account_of, supervisor)
        if phone is None:
            raise Conflict("you have no SIP phone: an admin gives you one (/admin/phones)", field="supervisor")
        target = await asyncio.to_thread(self.repo.sip_account_of, agent)
        pbx = self._pbx()
        # the phone the agent took this call on: their softphone or the desk's browser phone
        endpoint = spy_endpoint(status.interface, target.sip_username)
        # a Local channel runs ChanSpy (so that DTMF sent to its other half reaches ChanSpy and
        # switches the mode) and its other half calls the supervisor's phone
        session = SpySession(
            supervisor=supervisor,
            agent=agent,
            mode=mode,
            spyer_prefix=f"Local/{mode}-{endpoint}@ccserver-spy-",
        )
        self.sessions[supervisor] = session
        try:
            await pbx.originate(
                OriginateRequest(
                    channel=f"Local/{mode}-{endpoint}@ccserver-spy",
                    application="Dial",
                    data=f"PJSIP/{phone.sip_username},30",
                    caller_id=f'"Supervision {agent}" <{target.sip_username}>',
                    timeout_ms=30_000,
                )
            )
        except Exception:
            self.sessions.pop(supervisor, None)
            raise
        await asyncio.to_thread(self.audit.record, supervisor, "supervision.start", agent, mode=mode)
        self.dirty = True
        return session

    async def change_mode(self, supervisor: str, mode: str) -> None:
        session = self.sessions.get(supervisor)
        if session is None or not session.spyer_channel:
            raise Conflict("no listening session in progress", field="supervisor")
        if mode not in SPY_MODES:
            raise InvalidInput(Text("mode: one of %(value)s", value=", ".join(SPY_MODES)), field="mode")
        pbx = self._pbx()
        await pbx.play_dtmf(session.spyer_channel[:-2] + ";1", mode_digit(mode), duration_ms=120)
        # shown by `core show channel` on the spy leg: what an admin sees in Asterisk
        await pbx.set_variable(session.spyer_channel, "CCS_SPY_MODE", mode)
        previous, session.mode = session.mode, mode
        await asyncio.to_thread(
            self.audit.record, supervisor, "supervision.mode", session.agent, mode=mode, previous=previous
        )
        self.dirty = True

    async def stop_spy(self, supervisor: str) -> None:
        session = self.sessions.pop(supervisor, None)
        if session is None:
            raise Conflict("no listening session in progress", field="supervisor")
        if session.spyer_channel:
            await self._pbx().hangup(session.spyer_channel[:-2] + ";1")
        await asyncio.to_thread(self.audit.record, supervisor, "supervision.stop", session.agent, mode=session.mode)
        self.dirty = True

    def _spy_started(self, event: ev.ChanSpyStarted) -> None:
        for session in self.sessions.values():
            if event.spyer_channel.startswith(session.spyer_prefix):
                session.spyer_channel, session.started = event.spyer_channel, True

    def _spy_stopped(self, event: ev.ChanSpyStopped) -> None:
        for session in self.sessions.values():
            if event.spyer_channel == session.spyer_channel:
                session.started = False

    # --- forced agent actions --------------------------------------------------------------------
    async def force(self, supervisor: str, role: str, agent: str, action: str, reason: str = "") -> None:
        await self.check_allowed(supervisor, role, agent)
        if action == "pause":
            await self.acd.pause(agent, reason)
        elif action == "unpause":
            await self.acd.unpause(agent)
        elif action == "logout":
            await self.acd.logout(agent)
        else:
            raise InvalidInput("action: pause, unpause or logout", field="action")
        await asyncio.to_thread(self.audit.record, supervisor, f"supervision.force_{action}", agent, reason=reason)


def _calls_queues(row: dict) -> set[str]:
    """The queues of the calls an agent is on: a call of a supervisor's queue transferred to an
    agent logged in to no queue (or to other queues) keeps them on that supervisor's wallboard."""
    calls = [row.get("call")] + list(row.get("other_calls") or ())
    return {c["queue"] for c in calls if c and c.get("queue")}
