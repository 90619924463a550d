"""What the outbound screens and the API show: campaigns, contacts, attempts, decisions and
consents as plain dicts (JSON-ready), and the live state of a campaign."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .dialer import queue_name


@dataclass
class CampaignLive:
    open: bool = False
    open_areas: tuple[str, ...] = ()
    next_change: datetime | None = None
    blockers: tuple[dict, ...] = ()
    idle_agents: int = 0
    busy_agents: int = 0
    in_flight: int = 0
    launched: int = 0
    last_tick: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "open_areas": list(self.open_areas),
            "next_change": self.next_change.isoformat() if self.next_change else None,
            "blockers": list(self.blockers),
            "idle_agents": self.idle_agents,
            "busy_agents": self.busy_agents,
            "in_flight": self.in_flight,
            "launched": self.launched,
            "last_tick": self.last_tick.isoformat() if self.last_tick else None,
        }


def campaign_dict(c, agents: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "mode": c.mode,
        "status": c.status,
        "queue": queue_name(c.id),
        "caller_ids": json.loads(c.caller_ids),
        "amd": c.amd,
        "abandon_cap_permille": c.abandon_cap_permille,
        "ring_seconds": c.ring_seconds,
        "max_attempts": c.max_attempts,
        "retry_minutes": {
            "busy": c.retry_busy_minutes,
            "no_answer": c.retry_no_answer_minutes,
            "machine": c.retry_machine_minutes,
            "abandoned": c.retry_abandoned_minutes,
            "congestion": c.retry_congestion_minutes,
        },
        "abandon_message": c.abandon_message,
        "machine_message": c.machine_message,
        "language": getattr(c, "language", ""),
        "bloctel_scrubbed_at": c.bloctel_scrubbed_at.isoformat() if c.bloctel_scrubbed_at else None,
        "created_by": c.created_by,
        "created_at": c.created_at.isoformat(),
        **({"agents": agents} if agents is not None else {}),
    }


def contact_dict(c) -> dict[str, Any]:
    return {
        "id": c.id,
        "campaign_id": c.campaign_id,
        "number": c.number,
        "name": c.name,
        "postcode": c.postcode,
        "area": c.area,
        "timezone": c.timezone,
        "area_source": c.area_source,
        "fields": json.loads(c.fields or "{}"),
        "contract": c.contract,
        "status": c.status,
        "attempts": c.attempts,
        "next_attempt_at": c.next_attempt_at.isoformat() if c.next_attempt_at else None,
        "last_outcome": c.last_outcome,
        "blocked_rule": c.blocked_rule,
        "callback_agent": c.callback_agent,
        "reserved_by": c.reserved_by,
        "bloctel_opposed": c.bloctel_opposed,
        "bloctel_checked_at": c.bloctel_checked_at.isoformat() if c.bloctel_checked_at else None,
        "outside_hours_consent": c.outside_hours_consent,
    }


def attempt_dict(a) -> dict[str, Any]:
    iso = lambda d: d.isoformat() if d else None
    return {
        "id": a.id,
        "campaign_id": a.campaign_id,
        "contact_id": a.contact_id,
        "number": a.number,
        "caller_id": a.caller_id,
        "mode": a.mode,
        "agent": a.agent,
        "uniqueid": a.uniqueid,
        "decision_id": a.decision_id,
        "started_at": iso(a.started_at),
        "answered_at": iso(a.answered_at),
        "connected_at": iso(a.connected_at),
        "ended_at": iso(a.ended_at),
        "outcome": a.outcome,
        "amd_result": a.amd_result,
        "talk_seconds": a.talk_seconds,
        "refused": a.refused,
        "disposition": a.disposition,
    }


def decision_dict(d) -> dict[str, Any]:
    return {
        "id": d.id,
        "at": d.at.isoformat(),
        "campaign_id": d.campaign_id,
        "contact_id": d.contact_id,
        "attempt_id": d.attempt_id,
        "number": d.number,
        "actor": d.actor,
        "purpose": d.purpose,
        "allowed": d.allowed,
        "failed_rules": [r for r in d.failed_rules.split(",") if r],
        "regime": d.regime,
        "timezone": d.timezone,
        "local_time": d.local_time,
        "decision": json.loads(d.decision),
    }


def consent_dict(e) -> dict[str, Any]:
    return {
        "id": e.id,
        "number": e.number,
        "scope": e.scope,
        "action": e.action,
        "at": e.at.isoformat(),
        "source": e.source,
        "proof_ref": e.proof_ref,
        "campaign_id": e.campaign_id,
        "attempt_id": e.attempt_id,
        "recorded_by": e.recorded_by,
        "recorded_at": e.recorded_at.isoformat(),
    }


EXPORT_COLUMNS = (
    "decision_id",
    "at_utc",
    "local_time",
    "timezone",
    "campaign_id",
    "contact_id",
    "attempt_id",
    "number",
    "actor",
    "purpose",
    "allowed",
    "failed_rules",
    "regime",
    "basis",
    "rules",
    "decision_json",
)


def why_summary(contact, decisions) -> str:
    if contact.status == "blocked":
        return f"blocked by {contact.blocked_rule}: not called until the facts change"
    if not decisions:
        return "never checked by the engine: not yet due, or its area was never open while the campaign ran"
    last = decisions[0]
    if last.allowed:
        return f"allowed on {last.at:%Y-%m-%d %H:%M} UTC (attempt {last.attempt_id or '-'})"
    return f"refused on {last.at:%Y-%m-%d %H:%M} UTC: {last.failed_rules}"
