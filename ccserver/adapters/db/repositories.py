"""Thin repositories over `Database`: each method is one short transaction and returns detached
table objects (usable after the call). Synchronous: call them through ``asyncio.to_thread``."""

from __future__ import annotations

import builtins
import hashlib
import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, delete, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import col, select

from ...capabilities.admin.errors import NoSuchUser
from ...core.clock import Clock, SystemClock
from ...core.errors import Conflict, InvalidInput
from ...core.passwords import hash_password, needs_rehash, verify_dummy, verify_password
from ...core.text import Text
from .audit import AuditLog
from .database import Database
from .tables import ROLES, Call, User, WebSession

logger = logging.getLogger(__name__)

__all__ = ["AuditLog", "CallRepository", "SessionRepository", "UserRepository"]

USERNAME_PATTERN = re.compile(r"[a-z0-9._-]{2,32}")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # scrypt of a megabyte-long "password" is a cheap denial of service


def _seconds(ttl: timedelta | float) -> timedelta:
    return ttl if isinstance(ttl, timedelta) else timedelta(seconds=ttl)


def _token_hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


class UserRepository:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    @staticmethod
    def validate_username(username: str) -> str:
        if not isinstance(username, str) or not USERNAME_PATTERN.fullmatch(username):
            raise InvalidInput("a username is 2 to 32 characters among a-z 0-9 . _ -", field="username", value=username)
        return username

    @staticmethod
    def validate_role(role: str) -> str:
        if role not in ROLES:
            raise InvalidInput(Text("role must be one of %(value)s", value=", ".join(ROLES)), field="role", value=role)
        return role

    @staticmethod
    def validate_password(password: str) -> str:
        if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidInput(
                Text(
                    "a password has at least %(MIN_PASSWORD_LENGTH)s characters",
                    MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH,
                ),
                field="password",
            )
        if len(password) > MAX_PASSWORD_LENGTH:
            raise InvalidInput(
                Text(
                    "a password has at most %(MAX_PASSWORD_LENGTH)s characters", MAX_PASSWORD_LENGTH=MAX_PASSWORD_LENGTH
                ),
                field="password",
            )
        return password

    def create_user(self, username: str, password: str, role: str = "agent", display_name: str = "") -> User:
        """Raises `InvalidInput` (``field`` names the bad one) or `Conflict` if the name is taken."""
        self.validate_username(username)
        self.validate_role(role)
        self.validate_password(password)
        if len(display_name) > 100:
            raise InvalidInput("a display name has at most 100 characters", field="display_name")
        user = User(
            username=username,
            display_name=display_name,
            role=role,
            password_hash=hash_password(password),
            active=True,
            created_at=self.clock.now(),
        )
        try:
            with self.db.write_session() as session:
                session.add(user)
        except IntegrityError:
            if self.get_by_username(username) is None:
                raise
            raise Conflict(
                Text("user %(username)r already exists", username=username), field="username", value=username
            ) from None
        return user

    def get(self, user_id: int) -> User | None:
        with self.db.read_session() as session:
            return session.get(User, user_id)

    def set_language(self, user_id: int, language: str | None) -> None:
        """Save the interface language a user chose (None: follow the browser)."""
        with self.db.write_session() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NoSuchUser(Text("no user %(user_id)s", user_id=user_id), user=user_id)
            user.language = language
            session.add(user)

    def get_by_username(self, username: str) -> User | None:
        with self.db.read_session() as session:
            return session.exec(select(User).where(User.username == username)).first()

    def require(self, username: str) -> User:
        user = self.get_by_username(username)
        if user is None:
            raise NoSuchUser(Text("no user %(username)r", username=username), username=username)
        return user

    def list(self, *, include_inactive: bool = True, role: str | None = None) -> builtins.list[User]:
        query = select(User).order_by(User.username)
        if not include_inactive:
            query = query.where(User.active == True)
        if role is not None:
            query = query.where(User.role == role)
        with self.db.read_session() as session:
            return builtins.list(session.exec(query).all())

    def authenticate(self, username: str, password: str) -> User | None:
        """The active user with that password, else None. Takes as long for an unknown or
        disabled user as for a wrong password. Re-hashes a hash made with old parameters."""
        return self.check_password(self.find_for_login(username), password)

    def find_for_login(self, username: str) -> User | None:
        """The user a login names (None if unknown). A pure read: it never waits behind a long
        write (SQLite), so the web login runs it on the default executor before hashing."""
        if not isinstance(username, str):
            return None
        with self.db.read_session() as session:
            return session.exec(select(User).where(User.username == username)).first()

    def check_password(self, user: User | None, password: str) -> User | None:
        """`user` if it is active and `password` is its password, else None; the hashing half
        of `authenticate` (the web login runs it on its bounded hashing executor). Spends one
        hash whatever the case, against a dummy for an unknown or disabled user."""
        if user is None or not user.active or not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
            verify_dummy(password if isinstance(password, str) else "")
            return None
        if not verify_password(password, user.password_hash):
            return None
        if needs_rehash(user.password_hash):
            self._update(user.username, password_hash=hash_password(password))
        return user

    def set_password(self, username: str, password: str) -> User:
        self.validate_password(password)
        return self._update(username, password_hash=hash_password(password))

    def update(
        self, username: str, *, display_name: str | None = None, role: str | None = None, active: bool | None = None
    ) -> User:
        """Change the given fields of a user; raises `NoSuchUser`."""
        changes: dict[str, Any] = {}
        if display_name is not None:
            changes["display_name"] = display_name
        if role is not None:
            changes["role"] = self.validate_role(role)
        if active is not None:
            changes["active"] = bool(active)
        return self._update(username, **changes)

    def _update(self, username: str, **changes: Any) -> User:
        with self.db.write_session() as session:
            user = session.exec(select(User).where(User.username == username)).first()
            if user is None:
                raise NoSuchUser(Text("no user %(username)r", username=username), username=username)
            for name, value in changes.items():
                setattr(user, name, value)
            session.add(user)
        return user

    def count(self) -> int:
        with self.db.read_session() as session:
            return session.exec(select(func.count()).select_from(User)).one()


class SessionRepository:
    """Web sessions. The browser holds a random token; the database holds only its SHA-256, so a
    leaked database does not hand out live sessions."""

    # last_seen_at is written at most this often per session (not on every request)
    touch_interval = timedelta(seconds=60)

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def create(self, user_id: int, ttl: timedelta | float) -> tuple[str, str]:
        """A new session for `user_id` lasting `ttl` (a timedelta or seconds).
        Returns (raw session token, CSRF token); only the first goes in the cookie."""
        raw_token = secrets.token_urlsafe(32)
        csrf_token = secrets.token_urlsafe(32)
        now = self.clock.now()
        with self.db.write_session() as session:
            session.add(
                WebSession(
                    token_hash=_token_hash(raw_token),
                    user_id=user_id,
                    csrf_token=csrf_token,
                    created_at=now,
                    expires_at=now + _seconds(ttl),
                    last_seen_at=now,
                )
            )
            # a session is made by a login: the admin's user list shows when it last happened
            session.exec(update(User).where(User.id == user_id).values(last_login_at=now))
        return raw_token, csrf_token

    def lookup(self, raw_token: str, *, extend: timedelta | float | None = None) -> tuple[User, WebSession] | None:
        """(user, session) for a live session of an active user, else None. Updates
        `last_seen_at` (at most every `touch_interval`); with `extend`, also pushes `expires_at`
        to now + extend (sliding expiry)."""
        if not raw_token or not isinstance(raw_token, str):
            return None
        now = self.clock.now()
        with self.db.read_session() as session:  # every request: never behind a long write
            row = session.exec(
                select(WebSession, User)
                .join(User, User.id == WebSession.user_id)
                .where(WebSession.token_hash == _token_hash(raw_token))
            ).first()
        if row is None:
            return None
        web_session, user = row
        if web_session.expires_at <= now or not user.active:
            return None
        if now - web_session.last_seen_at >= self.touch_interval or extend is not None:
            values = {"last_seen_at": now}
            if extend is not None:
                values["expires_at"] = max(web_session.expires_at, now + _seconds(extend))
            try:  # best effort: a busy database (a long import) must not refuse the request
                with self.db.write_session() as session:
                    session.exec(update(WebSession).where(WebSession.id == web_session.id).values(**values))
                for key, value in values.items():
                    setattr(web_session, key, value)
            except OperationalError as exc:
                logger.warning("session %s: last_seen_at not updated (%s)", web_session.id, str(exc).splitlines()[0])
        return user, web_session

    def delete(self, raw_token: str) -> bool:
        """Log out: True if the session existed."""
        with self.db.write_session() as session:
            result = session.exec(delete(WebSession).where(WebSession.token_hash == _token_hash(raw_token)))
            return result.rowcount > 0

    def delete_for_user(self, user_id: int) -> int:
        """End every session of a user (password changed, account disabled)."""
        with self.db.write_session() as session:
            return session.exec(delete(WebSession).where(WebSession.user_id == user_id)).rowcount

    def live_ids(self, session_ids: Iterable[int]) -> set[int]:
        """Which of `session_ids` still let their browser in (row present, not expired, user
        active): one query, run every second or so for the sessions of open WebSockets."""
        ids = builtins.list(session_ids)
        if not ids:
            return set()
        with self.db.read_session() as session:
            rows = session.exec(
                select(WebSession.id)
                .join(User, User.id == WebSession.user_id)
                .where(col(WebSession.id).in_(ids), WebSession.expires_at > self.clock.now(), User.active == True)
            ).all()
        return set(rows)

    def purge_expired(self) -> int:
        """Delete expired sessions; returns how many."""
        with self.db.write_session() as session:
            return session.exec(delete(WebSession).where(WebSession.expires_at <= self.clock.now())).rowcount


CALL_FIELDS = frozenset(c.name for c in Call.__table__.columns) - {"id", "uniqueid"}
# VARCHAR lengths: PostgreSQL refuses a longer value, SQLite would store it; refuse on both
_CALL_LENGTHS = {c.name: c.type.length for c in Call.__table__.columns if isinstance(c.type, String) and c.type.length}


class CallRepository:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def upsert(self, uniqueid: str, **fields: Any) -> Call:
        """Insert the call or update the given fields of the existing one (others untouched)."""
        self.upsert_many([{"uniqueid": uniqueid, **fields}])
        call = self.get(uniqueid)
        assert call is not None
        return call

    def upsert_many(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Upsert several calls in one transaction (the batched DB writer). Each row has a
        ``uniqueid`` and any of `CALL_FIELDS`; ``created_at`` defaults to now on insert."""
        insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        count = 0
        with self.db.write_session() as session:
            for row in rows:
                fields = dict(row)
                uniqueid = fields.pop("uniqueid", None)
                if not uniqueid:
                    raise InvalidInput("a call needs a uniqueid", field="uniqueid")
                unknown = set(fields) - CALL_FIELDS
                if unknown:
                    raise InvalidInput(
                        Text("unknown call fields: %(value)s", value=", ".join(sorted(unknown))),
                        field=sorted(unknown)[0],
                    )
                for name, value in (("uniqueid", uniqueid), *fields.items()):
                    limit = _CALL_LENGTHS.get(name)
                    if limit and isinstance(value, str) and len(value) > limit:
                        raise InvalidInput(
                            Text("call %(name)s is longer than %(limit)s characters", name=name, limit=limit),
                            field=name,
                            uniqueid=uniqueid[:64],
                        )
                values = {"created_at": self.clock.now(), **fields, "uniqueid": uniqueid}
                statement = insert(Call).values(**values)
                if fields:
                    statement = statement.on_conflict_do_update(index_elements=["uniqueid"], set_=fields)
                else:
                    statement = statement.on_conflict_do_nothing(index_elements=["uniqueid"])
                session.exec(statement)
                count += 1
        return count

    def get(self, uniqueid: str) -> Call | None:
        with self.db.read_session() as session:
            return session.exec(select(Call).where(Call.uniqueid == uniqueid)).first()

    def list_recent(
        self, *, limit: int = 100, queue: str | None = None, agent: str | None = None, since: datetime | None = None
    ) -> builtins.list[Call]:
        query = select(Call)
        if queue is not None:
            query = query.where(Call.queue == queue)
        if agent is not None:
            query = query.where(Call.agent == agent)
        if since is not None:
            query = query.where(Call.created_at >= since)
        query = query.order_by(col(Call.created_at).desc(), col(Call.id).desc()).limit(limit)
        with self.db.read_session() as session:
            return builtins.list(session.exec(query).all())
