"""Database access for the phones capability: users and their SIP accounts (`agents` rows).

Only the digests of a SIP password are stored (see 0011_sip_digests and acd/model.py)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from ...capabilities.admin.errors import NoSuchUser
from ...capabilities.phones.errors import NoSuchPhone
from ...capabilities.phones.model import PhoneLine
from ...core.clock import Clock, SystemClock
from ...core.errors import Conflict
from ...core.text import Text
from .acd import _digest_columns
from .database import Database
from .tables import Agent, User


def _line(user: User, agent: Agent | None) -> PhoneLine:
    return PhoneLine(
        username=user.username,
        display_name=user.display_name or user.username,
        role=user.role,
        sip_username=agent.sip_username if agent is not None else "",
    )


class PhoneRepository:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def lines(self) -> list[PhoneLine]:
        with self.db.read_session() as s:
            rows = s.exec(
                select(User, Agent)
                .join(Agent, Agent.user_id == User.id, isouter=True)
                .where(User.active == True)
                .order_by(User.username)
            )
            return [_line(user, agent) for user, agent in rows]

    def line(self, username: str) -> PhoneLine:
        with self.db.read_session() as s:
            user, agent = self._row(s, username)
            return _line(user, agent)

    def _row(self, s, username: str) -> tuple[User, Agent | None]:
        row = s.exec(
            select(User, Agent)
            .join(Agent, Agent.user_id == User.id, isouter=True)
            .where(User.username == username, User.active == True)
        ).first()
        if row is None:
            raise NoSuchUser(
                Text("no active user named %(username)r", username=username), field="username", username=username
            )
        return row

    def create_phone(self, username: str, sip_username: str, password: str) -> PhoneLine:
        try:
            with self.db.write_session() as s:
                user, agent = self._row(s, username)
                if agent is not None:
                    raise Conflict(
                        Text(
                            "%(username)s already has a phone (%(sip_username)s)",
                            username=username,
                            sip_username=agent.sip_username,
                        ),
                        field="username",
                    )
                taken = s.exec(select(Agent).where(Agent.sip_username == sip_username)).first()
                if taken is not None:
                    raise Conflict(
                        Text("the SIP user %(sip_username)r is taken by another phone", sip_username=sip_username),
                        field="username",
                    )
                agent = Agent(
                    user_id=user.id,
                    sip_username=sip_username,
                    team="",
                    skills="{}",
                    created_at=self.clock.now(),
                    **_digest_columns(sip_username, password),
                )
                s.add(agent)
                s.flush()
                return _line(user, agent)
        except IntegrityError:  # a concurrent creation won the race
            raise Conflict(
                Text("%(username)s already has a phone, or its SIP user is taken", username=username), field="username"
            ) from None

    def set_phone_password(self, username: str, password: str) -> PhoneLine:
        with self.db.write_session() as s:
            user, agent = self._row(s, username)
            if agent is None:
                raise NoSuchPhone(
                    Text("%(username)s has no phone yet: create it first", username=username), field="username"
                )
            for key, value in _digest_columns(agent.sip_username, password).items():
                setattr(agent, key, value)
            s.add(agent)
            return _line(user, agent)
