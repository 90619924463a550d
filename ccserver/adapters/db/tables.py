"""SQLModel table classes. They mirror ``sql/migrations`` exactly (the migrations own the schema;
``tests/adapters/test_db_schema.py`` compares both on SQLite and PostgreSQL so they cannot drift).

Every timestamp is a timezone-aware UTC `datetime` in Python and a ``TIMESTAMP`` (UTC, without
zone) in the database; a naive `datetime` is refused rather than guessed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
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
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


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
    # added by 0012_user_admin: when the user last logged in (None: never, or before 0012)
    last_login_at: datetime | None = Field(default=None, sa_type=UtcDateTime, nullable=True)
    # added by 0024_user_language: the interface language the user chose (None: the browser's)
    language: str | None = Field(default=None, sa_type=String(8), nullable=True)


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
        Index("ix_audit_log_actor", "actor"),
        Index("ix_audit_log_target", "target"),
    )

    id: int | None = _id()
    at: datetime = Field(sa_type=UtcDateTime)
    actor: str = Field(sa_type=String(64))
    action: str = Field(sa_type=String(64))
    target: str = Field(default="", sa_type=String(255))
    details: str = Field(default="{}", sa_type=Text)
    # the tamper-evident chain (capabilities/audit/model.py): empty only on rows not yet sealed
    client_address: str = Field(default="", sa_type=String(64))
    prev_hash: str = Field(default="", sa_type=String(64))
    entry_hash: str = Field(default="", sa_type=String(64))

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
    # added by 0004_acd
    overflowed_from: str | None = Field(default=None, sa_type=String(128))
    wait_seconds: int | None = Field(default=None, sa_type=Integer)
    talk_seconds: int | None = Field(default=None, sa_type=Integer)
    hangup_reason: str | None = Field(default=None, sa_type=String(64))
    call_data: str | None = Field(default=None, sa_type=Text)
    disposition: str | None = Field(default=None, sa_type=String(32))
    notes: str | None = Field(default=None, sa_type=Text)
    customer_id: int | None = Field(default=None, sa_type=Integer)


class CallLegRow(SQLModel, table=True):
    """An agent's leg of a call (migration 0022_call_legs)."""

    __tablename__ = "call_legs"
    __table_args__ = (
        UniqueConstraint("call_uniqueid", "seq", name="uq_call_legs_call_seq"),
        Index("ix_call_legs_agent_started_at", "agent", "started_at"),
    )

    id: int | None = _id()
    call_uniqueid: str = Field(sa_type=String(64))
    linkedid: str = Field(sa_type=String(64))
    seq: int = Field(sa_type=Integer)
    agent: str = Field(sa_type=String(64))
    interface: str = Field(sa_type=String(128))
    channel: str = Field(sa_type=String(255))
    started_at: datetime = Field(sa_type=UtcDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    talk_seconds: int = Field(default=0, sa_type=Integer)
    hold_seconds: int = Field(default=0, sa_type=Integer)
    started_how: str = Field(sa_type=String(32))
    ended_how: str | None = Field(default=None, sa_type=String(32))
    transferred_by: str | None = Field(default=None, sa_type=String(64))


# --- inbound (ACD): migration 0004_acd ---------------------------------------------------------


class Skill(SQLModel, table=True):
    __tablename__ = "skills"
    __table_args__ = (UniqueConstraint("name", name="uq_skills_name"),)

    id: int | None = _id()
    name: str = Field(sa_type=String(32))
    label: str = Field(default="", sa_type=String(100))


class Agent(SQLModel, table=True):
    """A user who takes calls: their SIP account and skills (JSON ``{"fr": 5}``)."""

    __tablename__ = "agents"
    __table_args__ = (
        UniqueConstraint("user_id", name="uq_agents_user_id"),
        UniqueConstraint("sip_username", name="uq_agents_sip_username"),
    )

    id: int | None = _id()
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", sa_type=Integer)
    sip_username: str = Field(sa_type=String(32))
    # added by 0011_sip_digests, which dropped the clear sip_password: digests of
    # sip_username:ccserver:password, the only SIP credentials stored (see acd/model.py)
    sip_password_md5: str = Field(default="", sa_type=String(32))
    sip_password_sha256: str = Field(default="", sa_type=String(64))
    team: str = Field(default="", sa_type=String(64))
    skills: str = Field(default="{}", sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime)


class Queue(SQLModel, table=True):
    """A queue as admins define it; JSON columns: required_skills, numbers, hours, dispositions."""

    __tablename__ = "queues"
    __table_args__ = (UniqueConstraint("name", name="uq_queues_name"),)

    id: int | None = _id()
    name: str = Field(sa_type=String(32))
    display_name: str = Field(default="", sa_type=String(100))
    strategy: str = Field(default="rrmemory", sa_type=String(16))
    required_skills: str = Field(default="{}", sa_type=Text)
    service_level_seconds: int = Field(default=20, sa_type=Integer)
    service_level_target_pct: int = Field(default=80, sa_type=Integer)
    wrapup_seconds: int = Field(default=0, sa_type=Integer)
    ring_seconds: int = Field(default=15, sa_type=Integer)
    max_wait_seconds: int = Field(default=0, sa_type=Integer)
    max_callers: int = Field(default=0, sa_type=Integer)
    overflow_kind: str = Field(default="none", sa_type=String(16))
    overflow_target: str = Field(default="", sa_type=String(64))
    announce_position: bool = Field(default=True, sa_type=Boolean)
    announce_holdtime: bool = Field(default=True, sa_type=Boolean)
    announce_frequency_seconds: int = Field(default=30, sa_type=Integer)
    numbers: str = Field(default="[]", sa_type=Text)
    callback_key: str = Field(default="", sa_type=String(1))
    hours: str = Field(default="{}", sa_type=Text)
    timezone: str = Field(default="Europe/Paris", sa_type=String(64))
    holidays: str = Field(default="FR", sa_type=String(16))
    closed_message: str = Field(default="", sa_type=String(128))
    dispositions: str = Field(default="[]", sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)
    # added by 0007_recordings: 'always' | 'on_demand' | 'never'; 0 days keeps them for ever
    recording_policy: str = Field(default="always", sa_type=String(16))
    retention_days: int = Field(default=180, sa_type=Integer)


class PauseReason(SQLModel, table=True):
    __tablename__ = "pause_reasons"
    __table_args__ = (UniqueConstraint("code", name="uq_pause_reasons_code"),)

    id: int | None = _id()
    code: str = Field(sa_type=String(32))
    label: str = Field(default="", sa_type=String(100))
    active: bool = Field(default=True, sa_type=Boolean)
    paid: bool = Field(default=False, sa_type=Boolean)
    max_minutes: int = Field(default=0, sa_type=Integer)  # 0: no maximum


class CampaignWrapupCode(SQLModel, table=True):
    """A wrap-up (disposition) code agents of an outbound campaign pick for a call's result."""

    __tablename__ = "campaign_wrapup_codes"
    __table_args__ = (UniqueConstraint("campaign_id", "code", name="uq_campaign_wrapup_codes_campaign_code"),)

    id: int | None = _id()
    campaign_id: int = Field(foreign_key="outbound_campaigns.id", ondelete="CASCADE", sa_type=Integer)
    code: str = Field(sa_type=String(32))
    label: str = Field(default="", sa_type=String(100))


class AgentLogin(SQLModel, table=True):
    """An agent's current login (queues, pause): restored in Asterisk after it restarts."""

    __tablename__ = "agent_logins"
    __table_args__ = (UniqueConstraint("agent_id", name="uq_agent_logins_agent_id"),)

    id: int | None = _id()
    agent_id: int = Field(foreign_key="agents.id", ondelete="CASCADE", sa_type=Integer)
    queues: str = Field(default="[]", sa_type=Text)
    paused: bool = Field(default=False, sa_type=Boolean)
    pause_reason: str = Field(default="", sa_type=String(32))
    logged_in_at: datetime = Field(sa_type=UtcDateTime)
    # the phone the agent takes calls on: "softphone" or "browser" (migration 0021)
    phone: str = Field(default="softphone", sa_type=String(16))


class AgentStateEntry(SQLModel, table=True):
    """One change of an agent's state: the timeline reporting reads."""

    __tablename__ = "agent_state_log"
    __table_args__ = (Index("ix_agent_state_log_agent_at", "agent", "at"),)

    id: int | None = _id()
    agent: str = Field(sa_type=String(32))
    at: datetime = Field(sa_type=UtcDateTime)
    state: str = Field(sa_type=String(16))
    previous: str = Field(default="", sa_type=String(16))
    reason: str = Field(default="", sa_type=String(64))
    queue: str = Field(default="", sa_type=String(32))
    call_uniqueid: str = Field(default="", sa_type=String(64))


class CallbackRequest(SQLModel, table=True):
    __tablename__ = "callbacks"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'dialing', 'done', 'failed', 'cancelled')", name="ck_callbacks_status"),
        Index("ix_callbacks_status_entered", "status", "entered_queue_at"),
    )

    id: int | None = _id()
    queue: str = Field(sa_type=String(32))
    number: str = Field(sa_type=String(32))
    caller_uniqueid: str = Field(default="", sa_type=String(64))
    entered_queue_at: datetime = Field(sa_type=UtcDateTime)
    requested_at: datetime = Field(sa_type=UtcDateTime)
    status: str = Field(default="pending", sa_type=String(16))
    attempts: int = Field(default=0, sa_type=Integer)
    agent: str = Field(default="", sa_type=String(32))
    completed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str = Field(default="", sa_type=String(255))


# --- customers (CTI customer file): migration 0003_customers ----------------------------------


class Customer(SQLModel, table=True):
    """A customer. `customer_number` is the 8-digit id callers type in the IVR (None: unknown)."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("customer_number", name="uq_customers_customer_number"),
        Index("ix_customers_last_name", "last_name"),
        Index("ix_customers_company", "company"),
    )

    id: int | None = _id()
    customer_number: str | None = Field(default=None, sa_type=String(8))
    first_name: str = Field(default="", sa_type=String(100))
    last_name: str = Field(default="", sa_type=String(100))
    company: str = Field(default="", sa_type=String(200))
    email: str = Field(default="", sa_type=String(254))
    postcode: str = Field(default="", sa_type=String(5))
    notes: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class CustomerPhone(SQLModel, table=True):
    """A customer's phone number, normalized to E.164: the screen-pop looks callers up by it."""

    __tablename__ = "customer_phones"
    __table_args__ = (
        UniqueConstraint("e164", name="uq_customer_phones_e164"),
        Index("ix_customer_phones_customer_id", "customer_id"),
    )

    id: int | None = _id()
    customer_id: int = Field(foreign_key="customers.id", ondelete="CASCADE", sa_type=Integer)
    e164: str = Field(sa_type=String(16))
    label: str = Field(default="", sa_type=String(32))


class Ticket(SQLModel, table=True):
    """An incident ticket; `opened_at` is the start of the call it was opened from."""

    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'pending', 'closed')", name="ck_tickets_status"),
        Index("ix_tickets_customer_id_status", "customer_id", "status"),
        Index("ix_tickets_call_uniqueid", "call_uniqueid"),
    )

    id: int | None = _id()
    customer_id: int = Field(foreign_key="customers.id", sa_type=Integer)
    call_uniqueid: str | None = Field(default=None, sa_type=String(64))
    subject: str = Field(sa_type=String(200))
    status: str = Field(default="open", sa_type=String(16))
    opened_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    notes: str = Field(default="", sa_type=Text)


class Interaction(SQLModel, table=True):
    """One contact with a customer (a call handled by an agent): the customer's history."""

    __tablename__ = "interactions"
    __table_args__ = (
        CheckConstraint("direction IN ('inbound', 'outbound')", name="ck_interactions_direction"),
        Index("ix_interactions_customer_id_at", "customer_id", "at"),
        Index("ix_interactions_call_uniqueid", "call_uniqueid"),
    )

    id: int | None = _id()
    customer_id: int = Field(foreign_key="customers.id", sa_type=Integer)
    call_uniqueid: str | None = Field(default=None, sa_type=String(64))
    at: datetime = Field(sa_type=UtcDateTime)
    direction: str = Field(sa_type=String(16))
    agent: str = Field(default="", sa_type=String(64))
    queue: str = Field(default="", sa_type=String(128))
    disposition: str = Field(default="", sa_type=String(64))
    notes: str = Field(default="", sa_type=Text)


# --- IVR statistics: migration 0005_ivr_stats ---------------------------------------------------


class IvrStat(SQLModel, table=True):
    """One IVR counter for a day (UTC), script, version and node ('' for the script's own)."""

    __tablename__ = "ivr_stats"
    __table_args__ = (
        UniqueConstraint("day", "script", "version", "node", "counter", name="uq_ivr_stats_key"),
        Index("ix_ivr_stats_script_day", "script", "day"),
    )

    id: int | None = _id()
    day: str = Field(sa_type=String(10))
    script: str = Field(sa_type=String(100))
    version: str = Field(sa_type=String(64))
    node: str = Field(sa_type=String(100))
    counter: str = Field(sa_type=String(100))
    value: int = Field(default=0, sa_type=Integer)
    updated_at: datetime = Field(sa_type=UtcDateTime)


# --- IVR script versions: migration 0014_ivr_versions ---------------------------------------------


class IvrScriptVersion(SQLModel, table=True):
    """One stored version of an IVR script (numbered per script, never rewritten)."""

    __tablename__ = "ivr_script_versions"
    __table_args__ = (
        UniqueConstraint("script", "number", name="uq_ivr_script_versions_number"),
        CheckConstraint("origin IN ('file', 'upload', 'rollback')", name="ck_ivr_script_versions_origin"),
        Index("ix_ivr_script_versions_checksum", "script", "checksum"),
    )

    id: int | None = _id()
    script: str = Field(sa_type=String(100))
    number: int = Field(sa_type=Integer)
    label: str = Field(default="", sa_type=String(64))
    file: str = Field(default="", sa_type=String(200))
    content: str = Field(sa_type=Text)
    checksum: str = Field(sa_type=String(64))
    author: str = Field(sa_type=String(64))
    comment: str = Field(default="", sa_type=String(500))
    origin: str = Field(sa_type=String(16))
    rollback_of: int | None = Field(default=None, sa_type=Integer)
    created_at: datetime = Field(sa_type=UtcDateTime)


class IvrActiveScript(SQLModel, table=True):
    """Which stored version of a script runs."""

    __tablename__ = "ivr_active_scripts"
    __table_args__ = (UniqueConstraint("script", name="uq_ivr_active_scripts_script"),)

    id: int | None = _id()
    script: str = Field(sa_type=String(100))
    number: int = Field(sa_type=Integer)
    activated_by: str = Field(sa_type=String(64))
    activated_at: datetime = Field(sa_type=UtcDateTime)


# --- outbound campaigns and compliance: migration 0006_outbound -------------------------------


class OutboundCampaign(SQLModel, table=True):
    """A campaign; its Asterisk queue is ``camp-<id>``; `caller_ids` is a JSON list (NPV pool)."""

    __tablename__ = "outbound_campaigns"
    __table_args__ = (
        UniqueConstraint("name", name="uq_outbound_campaigns_name"),
        CheckConstraint("mode IN ('preview', 'progressive', 'predictive')", name="ck_outbound_campaigns_mode"),
        CheckConstraint("status IN ('draft', 'running', 'paused', 'finished')", name="ck_outbound_campaigns_status"),
    )

    id: int | None = _id()
    name: str = Field(sa_type=String(64))
    description: str = Field(default="", sa_type=Text)
    mode: str = Field(default="progressive", sa_type=String(16))
    status: str = Field(default="draft", sa_type=String(16))
    caller_ids: str = Field(default="[]", sa_type=Text)
    amd: bool = Field(default=False, sa_type=Boolean)
    abandon_cap_permille: int = Field(default=30, sa_type=Integer)
    ring_seconds: int = Field(default=25, sa_type=Integer)
    max_attempts: int = Field(default=4, sa_type=Integer)
    retry_busy_minutes: int = Field(default=15, sa_type=Integer)
    retry_no_answer_minutes: int = Field(default=120, sa_type=Integer)
    retry_machine_minutes: int = Field(default=240, sa_type=Integer)
    retry_abandoned_minutes: int = Field(default=60, sa_type=Integer)
    retry_congestion_minutes: int = Field(default=5, sa_type=Integer)
    abandon_message: str = Field(default="please-try-call-later", sa_type=String(128))
    machine_message: str = Field(default="", sa_type=String(128))
    # added by 0016_media: the language its customers hear ('' = the server's default)
    language: str = Field(default="", sa_type=String(16))
    bloctel_scrubbed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_by: str = Field(default="", sa_type=String(64))
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class OutboundCampaignAgent(SQLModel, table=True):
    __tablename__ = "outbound_campaign_agents"
    __table_args__ = (UniqueConstraint("campaign_id", "username", name="uq_outbound_campaign_agents"),)

    id: int | None = _id()
    campaign_id: int = Field(foreign_key="outbound_campaigns.id", ondelete="CASCADE", sa_type=Integer)
    username: str = Field(sa_type=String(64))


class OutboundImport(SQLModel, table=True):
    """A contact file: previewed (rows kept in `payload`), then committed in one transaction."""

    __tablename__ = "outbound_imports"
    __table_args__ = (
        CheckConstraint("status IN ('preview', 'committed', 'cancelled')", name="ck_outbound_imports_status"),
    )

    id: int | None = _id()
    campaign_id: int = Field(foreign_key="outbound_campaigns.id", ondelete="CASCADE", sa_type=Integer)
    filename: str = Field(default="", sa_type=String(255))
    status: str = Field(default="preview", sa_type=String(16))
    encoding: str = Field(default="", sa_type=String(32))
    total_lines: int = Field(default=0, sa_type=Integer)
    accepted: int = Field(default=0, sa_type=Integer)
    rejected: int = Field(default=0, sa_type=Integer)
    report: str = Field(default="{}", sa_type=Text)
    payload: str = Field(default="[]", sa_type=Text)
    created_by: str = Field(default="", sa_type=String(64))
    created_at: datetime = Field(sa_type=UtcDateTime)
    committed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class OutboundContact(SQLModel, table=True):
    """A contact of a campaign, deduplicated by its number (nsn) within the campaign."""

    __tablename__ = "outbound_contacts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "nsn", name="uq_outbound_contacts_campaign_nsn"),
        CheckConstraint(
            "status IN ('pending', 'dialing', 'reserved', 'callback', 'done', 'exhausted', 'blocked')",
            name="ck_outbound_contacts_status",
        ),
        Index("ix_outbound_contacts_due", "campaign_id", "status", "next_attempt_at"),
        Index("ix_outbound_contacts_nsn", "nsn"),
    )

    id: int | None = _id()
    campaign_id: int = Field(foreign_key="outbound_campaigns.id", ondelete="CASCADE", sa_type=Integer)
    nsn: int = Field(sa_type=Integer)
    number: str = Field(sa_type=String(16))
    name: str = Field(default="", sa_type=String(200))
    postcode: str = Field(default="", sa_type=String(5))
    area: str = Field(default="", sa_type=String(16))
    timezone: str = Field(default="", sa_type=String(64))
    area_source: str = Field(default="", sa_type=String(16))
    fields: str = Field(default="{}", sa_type=Text)
    contract: bool = Field(default=False, sa_type=Boolean)
    outside_hours_consent: bool = Field(default=False, sa_type=Boolean)
    status: str = Field(default="pending", sa_type=String(16))
    attempts: int = Field(default=0, sa_type=Integer)
    next_attempt_at: datetime = Field(sa_type=UtcDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_outcome: str = Field(default="", sa_type=String(16))
    blocked_rule: str = Field(default="", sa_type=String(64))
    callback_agent: str = Field(default="", sa_type=String(64))
    reserved_by: str = Field(default="", sa_type=String(64))
    reserved_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    bloctel_opposed: bool | None = Field(default=None, sa_type=Boolean)
    bloctel_checked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    import_id: int | None = Field(default=None, sa_type=Integer)
    source_line: int | None = Field(default=None, sa_type=Integer)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class OutboundAttempt(SQLModel, table=True):
    """One dial attempt (all campaigns together: the history the frequency rules count)."""

    __tablename__ = "outbound_attempts"
    __table_args__ = (
        Index("ix_outbound_attempts_nsn_started", "nsn", "started_at"),
        Index("ix_outbound_attempts_campaign_started", "campaign_id", "started_at"),
        Index("ix_outbound_attempts_contact", "contact_id"),
        Index("ix_outbound_attempts_uniqueid", "uniqueid"),
    )

    id: int | None = _id()
    campaign_id: int = Field(sa_type=Integer)
    contact_id: int = Field(sa_type=Integer)
    nsn: int = Field(sa_type=Integer)
    number: str = Field(sa_type=String(16))
    caller_id: str = Field(default="", sa_type=String(16))
    mode: str = Field(default="", sa_type=String(16))
    agent: str = Field(default="", sa_type=String(64))
    uniqueid: str = Field(default="", sa_type=String(64))
    decision_id: int | None = Field(default=None, sa_type=Integer)
    started_at: datetime = Field(sa_type=UtcDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    connected_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    outcome: str = Field(default="dialing", sa_type=String(16))
    amd_result: str = Field(default="", sa_type=String(16))
    hangup_cause: int | None = Field(default=None, sa_type=Integer)
    talk_seconds: int | None = Field(default=None, sa_type=Integer)
    refused: bool = Field(default=False, sa_type=Boolean)
    disposition: str = Field(default="", sa_type=String(32))
    notes: str = Field(default="", sa_type=Text)


class ComplianceDecision(SQLModel, table=True):
    """What the compliance engine answered, with every rule (`decision`: JSON): the proof."""

    __tablename__ = "compliance_decisions"
    __table_args__ = (
        Index("ix_compliance_decisions_at", "at"),
        Index("ix_compliance_decisions_contact_at", "contact_id", "at"),
        Index("ix_compliance_decisions_campaign_at", "campaign_id", "at"),
        Index("ix_compliance_decisions_nsn_at", "nsn", "at"),
    )

    id: int | None = _id()
    at: datetime = Field(sa_type=UtcDateTime)
    campaign_id: int | None = Field(default=None, sa_type=Integer)
    contact_id: int | None = Field(default=None, sa_type=Integer)
    attempt_id: int | None = Field(default=None, sa_type=Integer)
    number: str = Field(sa_type=String(32))
    nsn: int | None = Field(default=None, sa_type=Integer)
    actor: str = Field(sa_type=String(64))
    purpose: str = Field(sa_type=String(16))
    allowed: bool = Field(sa_type=Boolean)
    failed_rules: str = Field(default="", sa_type=String(255))
    regime: str = Field(default="", sa_type=String(16))
    timezone: str = Field(default="", sa_type=String(64))
    local_time: str = Field(default="", sa_type=String(40))
    decision: str = Field(sa_type=Text)
    # added by 0010_erasure: the keyed hash of the number once its person was erased
    number_hash: str = Field(default="", sa_type=String(64))


class ConsentEntry(SQLModel, table=True):
    """The consent ledger, append-only: grants, revocations and refusals during calls."""

    __tablename__ = "consent_ledger"
    __table_args__ = (
        CheckConstraint("scope IN ('canvassing', 'outside_hours')", name="ck_consent_ledger_scope"),
        CheckConstraint("action IN ('grant', 'revoke', 'refusal')", name="ck_consent_ledger_action"),
        Index("ix_consent_ledger_nsn_scope_at", "nsn", "scope", "at"),
    )

    id: int | None = _id()
    nsn: int = Field(sa_type=Integer)
    number: str = Field(sa_type=String(16))
    scope: str = Field(sa_type=String(16))
    action: str = Field(sa_type=String(16))
    at: datetime = Field(sa_type=UtcDateTime)
    source: str = Field(default="", sa_type=String(64))
    proof_ref: str = Field(default="", sa_type=String(255))
    campaign_id: int | None = Field(default=None, sa_type=Integer)
    attempt_id: int | None = Field(default=None, sa_type=Integer)
    recorded_by: str = Field(default="", sa_type=String(64))
    recorded_at: datetime = Field(sa_type=UtcDateTime)
    # added by 0010_erasure: the keyed hash of the number once its person was erased
    number_hash: str = Field(default="", sa_type=String(64))


class DncNumber(SQLModel, table=True):
    """The company's own do-not-call list (always enforced). An entry whose person was erased
    keeps only `number_hash` (nsn = -id, number empty) and still blocks the number."""

    __tablename__ = "dnc_numbers"
    __table_args__ = (
        UniqueConstraint("nsn", name="uq_dnc_numbers_nsn"),
        Index("ix_dnc_numbers_number_hash", "number_hash"),
    )

    id: int | None = _id()
    nsn: int = Field(sa_type=Integer)
    number: str = Field(sa_type=String(16))
    reason: str = Field(default="", sa_type=String(255))
    source: str = Field(default="", sa_type=String(64))
    added_by: str = Field(default="", sa_type=String(64))
    added_at: datetime = Field(sa_type=UtcDateTime)
    # added by 0010_erasure
    number_hash: str = Field(default="", sa_type=String(64))


class OppositionListEntry(SQLModel, table=True):
    """An imported Bloctel list (bitmap at `path`) or a campaign's scrub, with its scrub date."""

    __tablename__ = "opposition_lists"
    __table_args__ = (
        CheckConstraint("kind IN ('bloctel', 'bloctel-scrub')", name="ck_opposition_lists_kind"),
        Index("ix_opposition_lists_kind_active", "kind", "active"),
    )

    id: int | None = _id()
    kind: str = Field(sa_type=String(16))
    campaign_id: int | None = Field(default=None, sa_type=Integer)
    source: str = Field(default="", sa_type=String(255))
    scrubbed_at: datetime = Field(sa_type=UtcDateTime)
    imported_by: str = Field(default="", sa_type=String(64))
    imported_at: datetime = Field(sa_type=UtcDateTime)
    numbers: int = Field(default=0, sa_type=Integer)
    lines: int = Field(default=0, sa_type=Integer)
    invalid_lines: int = Field(default=0, sa_type=Integer)
    path: str = Field(default="", sa_type=String(500))
    active: bool = Field(default=True, sa_type=Boolean)


# --- supervision: migration 0008_supervision ----------------------------------------------------


class Team(SQLModel, table=True):
    """A named team (0012): agents belong to one (``agents.team``), supervisors are given some."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("name", name="uq_teams_name"),)

    id: int | None = _id()
    name: str = Field(sa_type=String(64))
    created_at: datetime = Field(sa_type=UtcDateTime)


class SupervisorScope(SQLModel, table=True):
    """A queue, a team or an outbound campaign (value: its id) a supervisor is given."""

    __tablename__ = "supervisor_scopes"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "value", name="uq_supervisor_scopes"),
        CheckConstraint("kind IN ('queue', 'team', 'campaign')", name="ck_supervisor_scopes_kind"),
    )

    id: int | None = _id()
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", sa_type=Integer)
    kind: str = Field(sa_type=String(8))
    value: str = Field(sa_type=String(64))


# --- recording, retention and quality review: migration 0007_recordings ----------------------


class CampaignRecordingPolicy(SQLModel, table=True):
    """Recording policy and retention of an outbound campaign (its queue is ``camp-<id>``)."""

    __tablename__ = "campaign_recording_policies"
    __table_args__ = (
        UniqueConstraint("campaign_id", name="uq_campaign_recording_policies_campaign_id"),
        CheckConstraint("policy IN ('always', 'on_demand', 'never')", name="ck_campaign_recording_policies_policy"),
    )

    id: int | None = _id()
    campaign_id: int = Field(sa_type=Integer)
    policy: str = Field(default="always", sa_type=String(16))
    retention_days: int = Field(default=180, sa_type=Integer)
    updated_by: str = Field(default="", sa_type=String(64))
    updated_at: datetime = Field(sa_type=UtcDateTime)


class Recording(SQLModel, table=True):
    """One MixMonitor recording of a call; `path` is relative to the recordings store, `pauses`
    a JSON list of [start, end] seconds from the start, `size_bytes`/`sha256` of the WAV."""

    __tablename__ = "recordings"
    __table_args__ = (
        CheckConstraint("status IN ('recording', 'paused', 'stored', 'empty', 'failed')", name="ck_recordings_status"),
        Index("ix_recordings_call_uniqueid", "call_uniqueid"),
        Index("ix_recordings_started_at", "started_at"),
        Index("ix_recordings_agent_started_at", "agent", "started_at"),
        Index("ix_recordings_queue_started_at", "queue", "started_at"),
        Index("ix_recordings_customer_id", "customer_id"),
        Index("ix_recordings_status", "status"),
    )

    id: int | None = _id()
    call_uniqueid: str = Field(sa_type=String(64))
    linkedid: str = Field(default="", sa_type=String(64))
    channel: str = Field(default="", sa_type=String(255))
    agent: str = Field(default="", sa_type=String(64))
    queue: str = Field(default="", sa_type=String(128))
    customer_id: int | None = Field(default=None, sa_type=Integer)
    policy: str = Field(default="always", sa_type=String(16))
    status: str = Field(default="recording", sa_type=String(16))
    started_by: str = Field(default="", sa_type=String(64))
    started_at: datetime = Field(sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    duration_ms: int | None = Field(default=None, sa_type=Integer)
    size_bytes: int | None = Field(default=None, sa_type=BigInteger)
    sha256: str | None = Field(default=None, sa_type=String(64))
    spool_name: str = Field(default="", sa_type=String(255))
    path: str | None = Field(default=None, sa_type=String(500))
    encrypted: bool = Field(default=False, sa_type=Boolean)
    pauses: str = Field(default="[]", sa_type=Text)
    retention_days: int = Field(default=0, sa_type=Integer)
    error: str = Field(default="", sa_type=String(255))


class QaGrid(SQLModel, table=True):
    """A quality evaluation grid; `definition` is the JSON of its sections and criteria."""

    __tablename__ = "qa_grids"
    __table_args__ = (UniqueConstraint("name", name="uq_qa_grids_name"),)

    id: int | None = _id()
    name: str = Field(sa_type=String(100))
    description: str = Field(default="", sa_type=Text)
    definition: str = Field(sa_type=Text)
    version: int = Field(default=1, sa_type=Integer)
    active: bool = Field(default=True, sa_type=Boolean)
    created_by: str = Field(default="", sa_type=String(64))
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class QaEvaluation(SQLModel, table=True):
    """A supervisor's evaluation of a call with a grid (the grid as it was: `grid_snapshot`)."""

    __tablename__ = "qa_evaluations"
    __table_args__ = (
        Index("ix_qa_evaluations_agent_created_at", "agent", "created_at"),
        Index("ix_qa_evaluations_grid_id", "grid_id"),
        Index("ix_qa_evaluations_recording_id", "recording_id"),
    )

    id: int | None = _id()
    grid_id: int = Field(foreign_key="qa_grids.id", sa_type=Integer)
    grid_version: int = Field(sa_type=Integer)
    grid_snapshot: str = Field(sa_type=Text)
    recording_id: int | None = Field(default=None, foreign_key="recordings.id", ondelete="SET NULL", sa_type=Integer)
    call_uniqueid: str = Field(default="", sa_type=String(64))
    agent: str = Field(sa_type=String(64))
    queue: str = Field(default="", sa_type=String(128))
    evaluator: str = Field(sa_type=String(64))
    answers: str = Field(default="{}", sa_type=Text)
    score: float = Field(sa_type=Float)
    fatal: bool = Field(default=False, sa_type=Boolean)
    comment: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # who changed it last (evaluator stays whoever made it); empty / None: never edited
    last_edited_by: str = Field(default="", sa_type=String(64))
    last_edited_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


# --- media (0016_media): prompts, music on hold, each queue's language and closed days ------


class MediaPrompt(SQLModel, table=True):
    """A prompt an admin uploaded, in one language (the file: prompts/<language>/<name>.wav)."""

    __tablename__ = "media_prompts"

    language: str = Field(primary_key=True, sa_type=String(16))
    name: str = Field(primary_key=True, sa_type=String(48))
    duration_ms: int = Field(default=0, sa_type=Integer)
    size_bytes: int = Field(default=0, sa_type=Integer)
    source_name: str = Field(default="", sa_type=String(255))
    uploaded_by: str = Field(default="", sa_type=String(64))
    uploaded_at: datetime = Field(sa_type=UtcDateTime)


class MediaMohClass(SQLModel, table=True):
    """A music on hold class (its files: moh/<name>/*.wav)."""

    __tablename__ = "media_moh_classes"

    name: str = Field(primary_key=True, sa_type=String(32))
    created_by: str = Field(default="", sa_type=String(64))
    created_at: datetime = Field(sa_type=UtcDateTime)


class MediaMohFile(SQLModel, table=True):
    __tablename__ = "media_moh_files"

    class_name: str = Field(primary_key=True, foreign_key="media_moh_classes.name", sa_type=String(32))
    name: str = Field(primary_key=True, sa_type=String(48))
    duration_ms: int = Field(default=0, sa_type=Integer)
    size_bytes: int = Field(default=0, sa_type=Integer)
    source_name: str = Field(default="", sa_type=String(255))
    uploaded_by: str = Field(default="", sa_type=String(64))
    uploaded_at: datetime = Field(sa_type=UtcDateTime)


class MediaQueueSettings(SQLModel, table=True):
    """A queue's language, music class, prompts and closed days (JSON list of {day, label})."""

    __tablename__ = "media_queue_settings"

    queue: str = Field(primary_key=True, sa_type=String(32))
    language: str = Field(default="", sa_type=String(16))
    music_class: str = Field(default="", sa_type=String(32))
    welcome_prompt: str = Field(default="", sa_type=String(48))
    closed_prompt: str = Field(default="", sa_type=String(48))
    closed_days: str = Field(default="[]", sa_type=Text)
    updated_by: str = Field(default="", sa_type=String(64))
    updated_at: datetime = Field(sa_type=UtcDateTime)


class DialplanVersion(SQLModel, table=True):
    """A version of the admins' dialplan files (`files`: JSON {name: text}); 0017."""

    __tablename__ = "dialplan_versions"

    id: int | None = _id()
    created_at: datetime = Field(sa_type=UtcDateTime)
    author: str = Field(sa_type=String(64))
    comment: str = Field(default="", sa_type=String(500))
    files: str = Field(sa_type=Text)


class DialplanDeployment(SQLModel, table=True):
    """An apply or rollback of a dialplan version on the live Asterisk, and its outcome; 0017."""

    __tablename__ = "dialplan_deployments"
    __table_args__ = (
        CheckConstraint("action IN ('apply', 'rollback')", name="ck_dialplan_deployments_action"),
        CheckConstraint("outcome IN ('applied', 'rolled-back', 'refused')", name="ck_dialplan_deployments_outcome"),
        Index("ix_dialplan_deployments_version_id", "version_id"),
    )

    id: int | None = _id()
    at: datetime = Field(sa_type=UtcDateTime)
    actor: str = Field(sa_type=String(64))
    action: str = Field(sa_type=String(16))
    version_id: int = Field(foreign_key="dialplan_versions.id", sa_type=Integer)
    previous_version_id: int | None = Field(default=None, foreign_key="dialplan_versions.id", sa_type=Integer)
    outcome: str = Field(sa_type=String(16))
    comment: str = Field(default="", sa_type=String(500))
    detail: str = Field(default="", sa_type=Text)
    seconds: float = Field(default=0.0, sa_type=Float)


class KnowledgeArticle(SQLModel, table=True):
    """A knowledge-base article (Markdown) and its indexed words (`search_text`); 0019. The
    full-text indexes themselves (SQLite FTS5 tables, PostgreSQL tsvectors) are `knowledge_fts`
    and `knowledge_fts_title` (the titles' words, 0027), kept by adapters/db/knowledge.py and not
    modelled here."""

    __tablename__ = "knowledge_articles"

    id: int | None = _id()
    title: str = Field(sa_type=String(200))
    body: str = Field(sa_type=Text)
    search_text: str = Field(sa_type=Text)
    revision: int = Field(sa_type=Integer)
    created_at: datetime = Field(sa_type=UtcDateTime)
    created_by: str = Field(sa_type=String(64))
    updated_at: datetime = Field(sa_type=UtcDateTime)
    updated_by: str = Field(sa_type=String(64))


class KnowledgeTag(SQLModel, table=True):
    """A tag of an article: a queue, an IVR choice or a disposition (wrap-up code); 0019."""

    __tablename__ = "knowledge_tags"
    __table_args__ = (
        CheckConstraint("kind IN ('queue', 'ivr', 'disposition')", name="ck_knowledge_tags_kind"),
        Index("ix_knowledge_tags_kind_value", "kind", "value"),
    )

    article_id: int = Field(primary_key=True, foreign_key="knowledge_articles.id", ondelete="CASCADE", sa_type=Integer)
    kind: str = Field(primary_key=True, sa_type=String(16))
    value: str = Field(primary_key=True, sa_type=String(200))


class KnowledgeRevision(SQLModel, table=True):
    """One saved state of an article (`tags`: JSON list of "kind:value"); 0019."""

    __tablename__ = "knowledge_revisions"
    __table_args__ = (
        UniqueConstraint("article_id", "number", name="uq_knowledge_revisions_article_number"),
        CheckConstraint("action IN ('create', 'edit', 'restore')", name="ck_knowledge_revisions_action"),
    )

    id: int | None = _id()
    article_id: int = Field(foreign_key="knowledge_articles.id", ondelete="CASCADE", sa_type=Integer)
    number: int = Field(sa_type=Integer)
    at: datetime = Field(sa_type=UtcDateTime)
    author: str = Field(sa_type=String(64))
    action: str = Field(sa_type=String(16))
    comment: str = Field(default="", sa_type=String(500))
    title: str = Field(sa_type=String(200))
    body: str = Field(sa_type=Text)
    tags: str = Field(sa_type=Text)
