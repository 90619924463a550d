"""SQLModel table classes. They mirror ``sql/migrations`` exactly (the migrations own the schema;
``tests/adapters/test_db_schema.py`` compares both on SQLite and PostgreSQL so they cannot drift).

Every timestamp is a timezone-aware UTC `datetime` in Python and a ``TIMESTAMP`` (UTC, without
zone) in the database; a naive `datetime` is refused rather than guessed.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

ROLES = ("agent", "supervisor", "admin")


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes in Python, naive UTC ``TIMESTAMP`` in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one (Clock.now())")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def _id() -> Any:
    return Field(default=None, primary_key=True, sa_type=Integer)


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("username", name="uq_users_username"),
        CheckConstraint("role IN ('agent', 'supervisor', 'admin')", name="ck_users_role"),
    )

    id: int | None = _id()
    username: str = Field(sa_type=String(32))
    display_name: str = Field(default="", sa_type=String(100))
    password_hash: str = Field(sa_type=String(255))
    role: str = Field(sa_type=String(16))
    active: bool = Field(default=True, sa_type=Boolean)
    created_at: datetime = Field(sa_type=UtcDateTime)


class WebSession(SQLModel, table=True):
    """A logged-in browser. Only a SHA-256 of the session token is stored."""

    __tablename__ = "web_sessions"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_web_sessions_token_hash"),
        Index("ix_web_sessions_user_id", "user_id"),
        Index("ix_web_sessions_expires_at", "expires_at"),
    )

    id: int | None = _id()
    token_hash: str = Field(sa_type=String(64))
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", sa_type=Integer)
    csrf_token: str = Field(sa_type=String(64))
    created_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    last_seen_at: datetime = Field(sa_type=UtcDateTime)


class AuditEntry(SQLModel, table=True):
    """Who did what to what. `details` is a JSON object (see `details_dict`)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_action", "action"),
    )

    id: int | None = _id()
    at: datetime = Field(sa_type=UtcDateTime)
    actor: str = Field(sa_type=String(64))
    action: str = Field(sa_type=String(64))
    target: str = Field(default="", sa_type=String(255))
    details: str = Field(default="{}", sa_type=Text)

    @property
    def details_dict(self) -> dict[str, Any]:
        return json.loads(self.details or "{}")


class Call(SQLModel, table=True):
    """A call (one Asterisk channel, by uniqueid) as the platform tracks it."""

    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("uniqueid", name="uq_calls_uniqueid"),
        Index("ix_calls_linkedid", "linkedid"),
        Index("ix_calls_created_at", "created_at"),
        Index("ix_calls_queue_created_at", "queue", "created_at"),
    )

    id: int | None = _id()
    uniqueid: str = Field(sa_type=String(64))
    linkedid: str | None = Field(default=None, sa_type=String(64))
    channel: str | None = Field(default=None, sa_type=String(255))
    caller_number: str | None = Field(default=None, sa_type=String(64))
    direction: str | None = Field(default=None, sa_type=String(16))
    queue: str | None = Field(default=None, sa_type=String(128))
    agent: str | None = Field(default=None, sa_type=String(64))
    created_at: datetime = Field(sa_type=UtcDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    outcome: str | None = Field(default=None, sa_type=String(32))
    hangup_cause: int | None = Field(default=None, sa_type=Integer)
