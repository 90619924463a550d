"""The user administration repository (capabilities/admin/ports.py `UserDirectory`): users with
their team, scopes, last login and phone; teams; and the changes that must keep one active admin.

Race-free last admin: every change that can take an active admin away (disable, demote) runs in
ONE transaction that first serialises with every other such change, then counts the other active
admins, then writes. On SQLite the write transaction starts with BEGIN IMMEDIATE (one writer at a
time); on PostgreSQL it takes a transaction-scoped advisory lock (READ COMMITTED: the count that
follows sees the change committed by the holder before it). Two concurrent demotions of the last
two admins: the second one counts no other admin and is refused.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from ...capabilities.admin.errors import LastAdmin, NoSuchTeam, NoSuchUser
from ...capabilities.admin.model import Scopes, UserEdit, UserView, check_scopes_exist
from ...core.clock import Clock, SystemClock
from ...core.errors import Conflict, InvalidInput
from ...core.text import Text
from .database import Database
from .tables import Agent, OutboundCampaign, Queue, SupervisorScope, Team, User

_PG_ADMIN_LOCK = 0x63637573_61646D  # any constant: the advisory lock of admin-affecting changes


class UserDirectoryRepository:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    # --- reads -----------------------------------------------------------------------------------
    def users(self) -> builtins.list[UserView]:
        with self.db.read_session() as s:
            return self._views(s, select(User).order_by(User.username))

    def user(self, username: str) -> UserView:
        with self.db.read_session() as s:
            return self._view_of(s, username)

    def _view_of(self, s, username: str) -> UserView:
        views = self._views(s, select(User).where(User.username == username))
        if not views:
            raise NoSuchUser(Text("no user %(username)r", username=username), field="username", username=username)
        return views[0]

    def _views(self, s, query) -> builtins.list[UserView]:
        users = builtins.list(s.exec(query).all())
        ids = [u.id for u in users]
        if not ids:
            return []
        agents = {a.user_id: a for a in s.exec(select(Agent).where(col(Agent.user_id).in_(ids)))}
        scope_rows: dict[int, list[tuple[str, str]]] = {}
        for row in s.exec(select(SupervisorScope).where(col(SupervisorScope.user_id).in_(ids))):
            scope_rows.setdefault(row.user_id, []).append((row.kind, row.value))
        return [
            UserView(
                username=u.username,
                display_name=u.display_name,
                role=u.role,
                active=u.active,
                team=agents[u.id].team if u.id in agents else "",
                scopes=Scopes.from_rows(scope_rows.get(u.id, [])),
                last_login_at=u.last_login_at,
                phone=u.id in agents,
                sip_username=agents[u.id].sip_username if u.id in agents else "",
            )
            for u in users
        ]

    def teams(self) -> builtins.list[tuple[str, int]]:
        """(team name, how many agents) of every team, by name."""
        with self.db.read_session() as s:
            counts = dict(s.exec(select(Agent.team, func.count()).where(Agent.team != "").group_by(Agent.team)).all())
            names = _team_names(s)
        return sorted((name, counts.get(name, 0)) for name in names)

    def inactive_among(self, usernames: Iterable[str]) -> set[str]:
        """Which of `usernames` are disabled (or gone): the server logs their agents out."""
        names = set(usernames)
        if not names:
            return set()
        with self.db.read_session() as s:
            active = set(s.exec(select(User.username).where(col(User.username).in_(names), User.active == True)).all())
        return names - active

    def known_queues(self) -> builtins.list[str]:
        with self.db.read_session() as s:
            return sorted(s.exec(select(Queue.name)).all())

    def known_campaigns(self) -> builtins.list[tuple[str, str]]:
        """(id, name) of every outbound campaign."""
        with self.db.read_session() as s:
            return [
                (str(i), n)
                for i, n in s.exec(select(OutboundCampaign.id, OutboundCampaign.name).order_by(OutboundCampaign.id))
            ]

    # --- writes ----------------------------------------------------------------------------------
    def create(self, username: str, password_hash: str, role: str, display_name: str, scopes: Scopes) -> UserView:
        """A new active user (and their scopes) in one transaction; `Conflict` if the name is taken."""
        try:
            with self.db.write_session() as s:
                if s.exec(select(User.id).where(User.username == username)).first() is not None:
                    raise Conflict(
                        Text("user %(username)r already exists", username=username), field="username", value=username
                    )
                self._check_scopes(s, scopes)
                user = User(
                    username=username,
                    display_name=display_name,
                    role=role,
                    password_hash=password_hash,
                    active=True,
                    created_at=self.clock.now(),
                )
                s.add(user)
                s.flush()
                for kind, value in scopes.rows():
                    s.add(SupervisorScope(user_id=user.id, kind=kind, value=value))
                s.flush()
                return self._view_of(s, username)
        except IntegrityError:  # a concurrent create of the same name
            raise Conflict(
                Text("user %(username)r already exists", username=username), field="username", value=username
            ) from None

    def edit(self, username: str, edit: UserEdit) -> tuple[UserView, UserView]:
        """Apply `edit` in one transaction; (before, after). Raises `NoSuchUser`, `LastAdmin`
        (demoting the last active admin), `InvalidInput` (unknown team/queue/campaign, a team
        for a user without a SIP account)."""
        with self.db.write_session() as s:
            self._serialise_admin_changes(s)
            user = self._user_row(s, username)
            before = self._view_of(s, username)
            if edit.role is not None and edit.role != user.role:
                if user.role == "admin" and user.active:
                    self._require_another_admin(s, user, "demoted")
                user.role = edit.role
            if edit.display_name is not None:
                user.display_name = edit.display_name
            s.add(user)
            if edit.team is not None and edit.team != before.team:
                agent = s.exec(select(Agent).where(Agent.user_id == user.id)).first()
                if agent is None:
                    raise InvalidInput(
                        Text(
                            "%(username)s has no SIP account yet: give them a phone (/admin/phones) before a team",
                            username=username,
                        ),
                        field="team",
                    )
                if edit.team and edit.team not in _team_names(s):
                    raise InvalidInput(Text("unknown team %(team)r", team=edit.team), field="team", value=edit.team)
                agent.team = edit.team
                s.add(agent)
            scopes = edit.scopes
            if user.role != "supervisor":
                scopes = Scopes()  # only supervisors have a scope: a changed role drops it
            if scopes is not None:
                self._check_scopes(s, scopes)
                s.exec(delete(SupervisorScope).where(SupervisorScope.user_id == user.id))
                for kind, value in scopes.rows():
                    s.add(SupervisorScope(user_id=user.id, kind=kind, value=value))
            s.flush()
            return before, self._view_of(s, username)

    def set_active(self, username: str, active: bool) -> tuple[UserView, UserView]:
        """Enable or disable in one transaction; disabling the last active admin is `LastAdmin`."""
        with self.db.write_session() as s:
            self._serialise_admin_changes(s)
            user = self._user_row(s, username)
            before = self._view_of(s, username)
            if not active and user.active and user.role == "admin":
                self._require_another_admin(s, user, "disabled")
            user.active = active
            s.add(user)
            s.flush()
            return before, self._view_of(s, username)

    def create_team(self, name: str) -> None:
        try:
            with self.db.write_session() as s:
                if s.exec(select(Team.id).where(Team.name == name)).first() is not None:
                    raise Conflict(Text("team %(name)r already exists", name=name), field="name", value=name)
                s.add(Team(name=name, created_at=self.clock.now()))
        except IntegrityError:
            raise Conflict(Text("team %(name)r already exists", name=name), field="name", value=name) from None

    def rename_team(self, old: str, new: str) -> int:
        """Rename a team everywhere (its agents, the supervisors given it) in one transaction;
        returns how many agents it has."""
        with self.db.write_session() as s:
            names = _team_names(s)
            if old not in names:
                raise NoSuchTeam(Text("no team %(old)r", old=old), field="name", team=old)
            if old == new:
                return 0
            if new in names:
                raise Conflict(Text("team %(new)r already exists", new=new), field="new_name", value=new)
            team = s.exec(select(Team).where(Team.name == old)).first()
            if team is None:  # a team only its agents named (made in /admin/acd) becomes a named one
                team = Team(name=old, created_at=self.clock.now())
            team.name = new
            s.add(team)
            moved = s.exec(update(Agent).where(Agent.team == old).values(team=new)).rowcount
            s.exec(
                update(SupervisorScope)
                .where(SupervisorScope.kind == "team", SupervisorScope.value == old)
                .values(value=new)
            )
            return moved

    # --- helpers ---------------------------------------------------------------------------------
    def _user_row(self, s, username: str) -> User:
        user = s.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise NoSuchUser(Text("no user %(username)r", username=username), field="username", username=username)
        return user

    def _serialise_admin_changes(self, s) -> None:
        """Make concurrent admin-affecting changes take turns (see the module docstring)."""
        if self.db.dialect == "postgresql":
            s.connection().exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_ADMIN_LOCK})")

    def _require_another_admin(self, s, user: User, what: str) -> None:
        others = s.exec(
            select(func.count()).select_from(User).where(User.role == "admin", User.active == True, User.id != user.id)
        ).one()
        if others == 0:
            raise LastAdmin(
                f"{user.username} is the last active admin and cannot be {what}: make another admin first",
                field="role" if what == "demoted" else "active",
                username=user.username,
            )

    def _check_scopes(self, s, scopes: Scopes) -> None:
        if not scopes:
            return
        check_scopes_exist(
            scopes,
            teams=_team_names(s),
            queues=s.exec(select(Queue.name)).all(),
            campaigns=[str(i) for i in s.exec(select(OutboundCampaign.id)).all()],
        )


def _team_names(s) -> set[str]:
    """The named teams, and the teams agents were given as free text (/admin/acd, the demo)."""
    named = set(s.exec(select(Team.name)).all())
    return named | set(s.exec(select(Agent.team).where(Agent.team != "").distinct()).all())
