"""Database access for the inbound capability: skills, agents, queues, logins, timeline, calls."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import select

from ...capabilities.acd.errors import NoSuchAgent, NoSuchQueue
from ...capabilities.acd.model import (
    AgentAccount,
    QueueDefinition,
    check_phone_choice,
    phone_interface,
    sip_password_digests,
)
from ...capabilities.callbacks.errors import NoSuchCallback
from ...core.clock import Clock, SystemClock
from ...core.errors import Conflict, InvalidInput
from ...core.text import Text
from .database import Database
from .repositories import UserRepository
from .tables import (
    Agent,
    AgentLogin,
    AgentStateEntry,
    Call,
    CallbackRequest,
    CallLegRow,
    PauseReason,
    Queue,
    Skill,
    SupervisorScope,
    User,
)


@dataclass(frozen=True)
class StoredLogin:
    username: str
    interface: str
    queues: tuple[str, ...]
    paused: bool
    pause_reason: str
    phone: str = "softphone"  # the phone chosen at login: "softphone" or "browser"


def generate_sip_password() -> str:
    return secrets.token_urlsafe(18)


def _digest_columns(sip_username: str, password: str) -> dict[str, str]:
    """The stored form of a SIP password: its digests only (the password itself is not kept)."""
    digests = sip_password_digests(sip_username, password)
    return {"sip_password_md5": digests["MD5"], "sip_password_sha256": digests["SHA-256"]}


def _queue_definition(row: Queue) -> QueueDefinition:
    return QueueDefinition(
        name=row.name,
        display_name=row.display_name,
        strategy=row.strategy,
        required_skills=json.loads(row.required_skills or "{}"),
        service_level_seconds=row.service_level_seconds,
        service_level_target_pct=row.service_level_target_pct,
        wrapup_seconds=row.wrapup_seconds,
        ring_seconds=row.ring_seconds,
        max_wait_seconds=row.max_wait_seconds,
        max_callers=row.max_callers,
        overflow_kind=row.overflow_kind,
        overflow_target=row.overflow_target,
        announce_position=row.announce_position,
        announce_holdtime=row.announce_holdtime,
        announce_frequency_seconds=row.announce_frequency_seconds,
        numbers=tuple(json.loads(row.numbers or "[]")),
        callback_key=row.callback_key,
        hours=json.loads(row.hours or "{}"),
        timezone=row.timezone,
        holidays=row.holidays,
        closed_message=row.closed_message,
        dispositions=tuple(json.loads(row.dispositions or "[]")),
        recording_policy=row.recording_policy,
        retention_days=row.retention_days,
    )


def _queue_columns(q: QueueDefinition) -> dict:
    return dict(
        name=q.name,
        display_name=q.display_name,
        strategy=q.strategy,
        required_skills=json.dumps(dict(q.required_skills), sort_keys=True),
        service_level_seconds=q.service_level_seconds,
        service_level_target_pct=q.service_level_target_pct,
        wrapup_seconds=q.wrapup_seconds,
        ring_seconds=q.ring_seconds,
        max_wait_seconds=q.max_wait_seconds,
        max_callers=q.max_callers,
        overflow_kind=q.overflow_kind,
        overflow_target=q.overflow_target,
        announce_position=q.announce_position,
        announce_holdtime=q.announce_holdtime,
        announce_frequency_seconds=q.announce_frequency_seconds,
        numbers=json.dumps(list(q.numbers)),
        callback_key=q.callback_key,
        hours=json.dumps(dict(q.hours), sort_keys=True),
        timezone=q.timezone,
        holidays=q.holidays,
        closed_message=q.closed_message,
        dispositions=json.dumps(list(q.dispositions)),
        recording_policy=q.recording_policy,
        retention_days=q.retention_days,
    )


class AcdRepository:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.users = UserRepository(db, self.clock)

    # --- skills and pause reasons -------------------------------------------------------------
    def skills(self) -> list[str]:
        with self.db.read_session() as s:
            return sorted(row.name for row in s.exec(select(Skill)))

    def add_skill(self, name: str, label: str = "") -> None:
        with self.db.write_session() as s:
            if s.exec(select(Skill).where(Skill.name == name)).first() is None:
                s.add(Skill(name=name, label=label))

    def pause_reasons(self, active_only: bool = True) -> list[PauseReason]:
        with self.db.read_session() as s:
            query = select(PauseReason).order_by(PauseReason.code)
            if active_only:
                query = query.where(PauseReason.active == True)
            return list(s.exec(query))

    def add_pause_reason(self, code: str, label: str) -> None:
        with self.db.write_session() as s:
            if s.exec(select(PauseReason).where(PauseReason.code == code)).first() is None:
                s.add(PauseReason(code=code, label=label))

    # --- queues ---------------------------------------------------------------------------------
    def queues(self) -> list[QueueDefinition]:
        with self.db.read_session() as s:
            return [_queue_definition(r) for r in s.exec(select(Queue).order_by(Queue.name))]

    def queue(self, name: str) -> QueueDefinition:
        with self.db.read_session() as s:
            row = s.exec(select(Queue).where(Queue.name == name)).first()
            if row is None:
                raise NoSuchQueue(Text("no queue named %(name)r", name=name), queue=name)
            return _queue_definition(row)

    def save_queue(self, queue: QueueDefinition, *, create: bool) -> None:
        now = self.clock.now()
        with self.db.write_session() as s:
            row = s.exec(select(Queue).where(Queue.name == queue.name)).first()
            if create and row is not None:
                raise Conflict(Text("a queue named %(name)r already exists", name=queue.name), field="name")
            if not create and row is None:
                raise NoSuchQueue(Text("no queue named %(name)r", name=queue.name), queue=queue.name)
            if row is None:
                row = Queue(created_at=now, updated_at=now, **_queue_columns(queue))
            else:
                for key, value in _queue_columns(queue).items():
                    setattr(row, key, value)
                row.updated_at = now
            s.add(row)

    def delete_queue(self, name: str) -> None:
        with self.db.write_session() as s:
            if s.exec(select(Queue).where(Queue.name == name)).first() is None:
                raise NoSuchQueue(Text("no queue named %(name)r", name=name), field="name", queue=name)
            s.exec(delete(Queue).where(Queue.name == name))

    # --- agents ---------------------------------------------------------------------------------
    def create_agent(
        self,
        username: str,
        password: str,
        display_name: str,
        skills: dict[str, int],
        team: str = "",
        sip_username: str | None = None,
        sip_password: str | None = None,
    ) -> AgentAccount:
        """The user (role agent) and their SIP account, in one transaction. The account returned
        carries the clear SIP password (to show once); only its digests are stored."""
        user = self.users.create_user(username, password, role="agent", display_name=display_name)
        sip_password = sip_password or generate_sip_password()
        try:
            with self.db.write_session() as s:
                sip_user = sip_username or username.replace(".", "-")
                if s.exec(select(Agent).where(Agent.sip_username == sip_user)).first() is not None:
                    raise Conflict(
                        Text("SIP account %(sip_user)r already exists", sip_user=sip_user), field="sip_username"
                    )
                s.add(
                    Agent(
                        user_id=user.id,
                        sip_username=sip_user,
                        team=team,
                        skills=json.dumps(skills, sort_keys=True),
                        created_at=self.clock.now(),
                        **_digest_columns(sip_user, sip_password),
                    )
                )
        except Exception:
            with self.db.write_session() as s:  # nothing half-written: no user without their agent row
                s.exec(delete(User).where(User.id == user.id))
            raise
        return replace(self.agent(username), sip_password=sip_password)

    def reset_sip_password(self, username: str, sip_password: str | None = None) -> AgentAccount:
        """A new SIP password for the account of `username` (agent or supervisor's phone): its
        digests replace the old ones; the account returned carries it in clear, to show once."""
        sip_password = sip_password or generate_sip_password()
        with self.db.write_session() as s:
            agent, _user = self._agent_row(s, username)
            for key, value in _digest_columns(agent.sip_username, sip_password).items():
                setattr(agent, key, value)
            s.add(agent)
        return replace(self.agent(username), sip_password=sip_password)

    def _agent_row(self, s, username: str) -> tuple[Agent, User]:
        row = s.exec(select(Agent, User).join(User, User.id == Agent.user_id).where(User.username == username)).first()
        if row is None:
            raise NoSuchAgent(Text("no agent named %(username)r", username=username), agent=username)
        return row

    def agent(self, username: str) -> AgentAccount:
        with self.db.read_session() as s:
            agent, user = self._agent_row(s, username)
            return _account(agent, user)

    def agents(self) -> list[AgentAccount]:
        """Active users of role agent with their SIP accounts."""
        return [a for a, role in self._accounts() if role == "agent"]

    def sip_accounts(self) -> list[AgentAccount]:
        """Every active SIP account (agents, and supervisors' phones)."""
        return [a for a, _role in self._accounts()]

    def _accounts(self) -> list[tuple[AgentAccount, str]]:
        with self.db.read_session() as s:
            rows = s.exec(
                select(Agent, User)
                .join(User, User.id == Agent.user_id)
                .where(User.active == True)
                .order_by(User.username)
            )
            return [(_account(a, u), u.role) for a, u in rows]

    # --- logins (what should be in Asterisk) -----------------------------------------------------
    def store_login(
        self, username: str, queues: Iterable[str], paused: bool, reason: str, phone: str | None = None
    ) -> None:
        """`phone`: the phone chosen at login ("softphone"/"browser"); None keeps the stored one."""
        with self.db.write_session() as s:
            agent, _user = self._agent_row(s, username)
            row = s.exec(select(AgentLogin).where(AgentLogin.agent_id == agent.id)).first()
            if row is None:
                row = AgentLogin(agent_id=agent.id, logged_in_at=self.clock.now())
            row.queues, row.paused, row.pause_reason = json.dumps(sorted(queues)), paused, reason
            if phone is not None:
                row.phone = check_phone_choice(phone)
            s.add(row)

    def clear_login(self, username: str) -> None:
        with self.db.write_session() as s:
            agent, _user = self._agent_row(s, username)
            s.exec(delete(AgentLogin).where(AgentLogin.agent_id == agent.id))

    def stored_logins(self) -> list[StoredLogin]:
        with self.db.read_session() as s:
            rows = s.exec(
                select(AgentLogin, Agent, User)
                .join(Agent, Agent.id == AgentLogin.agent_id)
                .join(User, User.id == Agent.user_id)
            )
            return [
                StoredLogin(
                    username=u.username,
                    interface=phone_interface(a.sip_username, login.phone),
                    queues=tuple(json.loads(login.queues)),
                    paused=login.paused,
                    pause_reason=login.pause_reason,
                    phone=login.phone,
                )
                for login, a, u in rows
            ]

    # --- timeline and call records ---------------------------------------------------------------
    def append_states(self, entries: Iterable[dict]) -> int:
        rows = [AgentStateEntry(**e) for e in entries]
        with self.db.write_session() as s:
            s.add_all(rows)
        return len(rows)

    def timeline(self, username: str, since: datetime | None = None) -> list[AgentStateEntry]:
        with self.db.read_session() as s:
            query = select(AgentStateEntry).where(AgentStateEntry.agent == username)
            if since is not None:
                query = query.where(AgentStateEntry.at >= since)
            return list(s.exec(query.order_by(AgentStateEntry.at, AgentStateEntry.id)))

    def upsert_calls(self, rows: Iterable[dict]) -> int:
        count = 0
        with self.db.write_session() as s:
            for fields in rows:
                _upsert(s, Call, fields, Call.uniqueid == fields["uniqueid"])
                count += 1
        return count

    def calls(self, *, queue: str | None = None, since: datetime | None = None) -> list[Call]:
        with self.db.read_session() as s:
            query = select(Call)
            if queue:
                query = query.where(Call.queue == queue)
            if since is not None:
                query = query.where(Call.created_at >= since)
            return list(s.exec(query.order_by(Call.created_at, Call.id)))

    def call(self, uniqueid: str) -> Call | None:
        with self.db.read_session() as s:
            return s.exec(select(Call).where(Call.uniqueid == uniqueid)).first()

    def annotate_call(self, uniqueid: str, **fields) -> None:
        """Disposition, notes, customer: the agent's part of a call row (created if the batched
        writer has not stored it yet)."""
        with self.db.write_session() as s:
            row = s.exec(select(Call).where(Call.uniqueid == uniqueid)).first()
            if row is None:
                row = Call(uniqueid=uniqueid, created_at=self.clock.now())
            for key, value in fields.items():
                setattr(row, key, value)
            s.add(row)

    def upsert_legs(self, rows: Iterable[dict]) -> int:
        """Call legs by (call_uniqueid, seq): a leg is rewritten as it ends or is handed over."""
        count = 0
        with self.db.write_session() as s:
            for fields in rows:
                _upsert(
                    s,
                    CallLegRow,
                    fields,
                    CallLegRow.call_uniqueid == fields["call_uniqueid"],
                    CallLegRow.seq == fields["seq"],
                )
                count += 1
        return count

    def legs_of(self, call_uniqueids: Iterable[str]) -> dict[str, list[CallLegRow]]:
        """The stored legs of these calls, in order."""
        wanted = sorted({u for u in call_uniqueids if u})
        found: dict[str, list[CallLegRow]] = {}
        if not wanted:
            return found
        with self.db.read_session() as s:
            for start in range(0, len(wanted), 500):
                rows = s.exec(
                    select(CallLegRow)
                    .where(CallLegRow.call_uniqueid.in_(wanted[start : start + 500]))
                    .order_by(CallLegRow.call_uniqueid, CallLegRow.seq)
                )
                for row in rows:
                    found.setdefault(row.call_uniqueid, []).append(row)
        return found

    def open_calls(self) -> list[Call]:
        with self.db.read_session() as s:
            return list(s.exec(select(Call).where(Call.ended_at == None).where(Call.queue != None)))

    # --- supervision -------------------------------------------------------------------------------
    def teams(self) -> dict[str, str]:
        """agent username -> team."""
        with self.db.read_session() as s:
            return {u.username: a.team for a, u in s.exec(select(Agent, User).join(User, User.id == Agent.user_id))}

    def scopes_of(self, username: str) -> tuple[set[str], set[str]]:
        """(queues, teams) given to a supervisor. A campaign given (kind ``campaign``, value
        its id) is its queue ``camp-<id>``: the outbound pages and recordings reach it so."""
        with self.db.read_session() as s:
            rows = s.exec(
                select(SupervisorScope).join(User, User.id == SupervisorScope.user_id).where(User.username == username)
            )
            queues, teams = set(), set()
            for row in rows:
                if row.kind == "campaign":
                    queues.add(f"camp-{row.value}")
                else:
                    (queues if row.kind == "queue" else teams).add(row.value)
            return queues, teams

    def give_scope(self, username: str, kind: str, value: str) -> None:
        if kind not in ("queue", "team", "campaign"):
            raise InvalidInput("kind: queue, team or campaign", field="kind")
        user = self.users.require(username)
        with self.db.write_session() as s:
            exists = s.exec(
                select(SupervisorScope).where(
                    SupervisorScope.user_id == user.id, SupervisorScope.kind == kind, SupervisorScope.value == value
                )
            ).first()
            if exists is None:
                s.add(SupervisorScope(user_id=user.id, kind=kind, value=value))

    def sip_account_of(self, username: str) -> AgentAccount | None:
        """The SIP account of any user (agents, and supervisors who listen with a phone)."""
        try:
            return self.agent(username)
        except NoSuchAgent:
            return None

    def add_sip_account(
        self, username: str, sip_username: str | None = None, sip_password: str | None = None
    ) -> AgentAccount:
        """A SIP account for an existing user (a supervisor's phone). When it is created, the
        account returned carries the clear SIP password (to show once); an existing account is
        returned as stored (no password: use reset_sip_password)."""
        user = self.users.require(username)
        sip_password = sip_password or generate_sip_password()
        created = False
        with self.db.write_session() as s:
            if s.exec(select(Agent).where(Agent.user_id == user.id)).first() is None:
                sip_user = sip_username or username.replace(".", "-")
                s.add(
                    Agent(
                        user_id=user.id,
                        sip_username=sip_user,
                        team="",
                        skills="{}",
                        created_at=self.clock.now(),
                        **_digest_columns(sip_user, sip_password),
                    )
                )
                created = True
        account = self.agent(username)
        return replace(account, sip_password=sip_password) if created else account

    # --- callbacks --------------------------------------------------------------------------------
    def add_callback(self, queue: str, number: str, caller_uniqueid: str, entered_queue_at: datetime) -> int:
        with self.db.write_session() as s:
            row = CallbackRequest(
                queue=queue,
                number=number,
                caller_uniqueid=caller_uniqueid,
                entered_queue_at=entered_queue_at,
                requested_at=self.clock.now(),
            )
            s.add(row)
            s.flush()
            return row.id

    def callbacks(self, status: str | None = None) -> list[CallbackRequest]:
        with self.db.read_session() as s:
            query = select(CallbackRequest).order_by(CallbackRequest.entered_queue_at)
            if status:
                query = query.where(CallbackRequest.status == status)
            return list(s.exec(query))

    def update_callback(self, callback_id: int, **fields) -> None:
        with self.db.write_session() as s:
            row = s.get(CallbackRequest, callback_id)
            if row is None:
                raise NoSuchCallback(Text("no callback %(callback_id)s", callback_id=callback_id), callback=callback_id)
            for key, value in fields.items():
                setattr(row, key, value)
            s.add(row)


def _account(agent: Agent, user: User) -> AgentAccount:
    return AgentAccount(
        username=user.username,
        display_name=user.display_name or user.username,
        sip_username=agent.sip_username,
        skills=json.loads(agent.skills or "{}"),
        sip_digests={
            name: value
            for name, value in (("SHA-256", agent.sip_password_sha256), ("MD5", agent.sip_password_md5))
            if value
        },
    )


def _upsert(session, model, fields: dict, *where) -> None:
    """Overwrite the row these conditions find, else add one: call rows and legs are written as
    they change (stored when they open, rewritten when they end, never duplicated)."""
    row = session.exec(select(model).where(*where)).first()
    if row is None:
        row = model(**fields)
    else:
        for key, value in fields.items():
            setattr(row, key, value)
    session.add(row)
