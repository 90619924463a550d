"""Compliance decisions: the engine (`compliance.decide`) applied to a stored contact at a given
moment, with every fact it read (consent ledger, contract, do-not-call list, Bloctel, the
number's call history); each decision is stored as the proof. "Why was this contact (not)
called?" and the CSV export of the decisions read them back.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from ...core.clock import Clock
from .access import Access
from .compliance import Attempt, Basis, CallRequest, Decision, OppositionFacts, decide
from .dialer import Outcome, after_refusal, choose_caller_id
from .numbers import parse_number
from .oppositions import OppositionService
from .ports import OutboundRepositoryPort
from .views import EXPORT_COLUMNS, attempt_dict, contact_dict, decision_dict, why_summary
from .windows import AREA_INDEX, AREAS

HISTORY_DAYS = 62  # 4 attempts in 30 days, 60 days after a refusal: what decide() needs


class ComplianceService:
    def __init__(
        self, repo: OutboundRepositoryPort, *, clock: Clock, access: Access, oppositions: OppositionService
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.access = access
        self.oppositions = oppositions

    def _gather(
        self, campaign, contacts: list, now: datetime, caller_ids: dict[int, str | None]
    ) -> list[tuple[Any, CallRequest, list[Attempt], OppositionFacts, dict]]:
        """Everything decide() needs for these contacts, read in a few queries (thread)."""
        nsns = [c.nsn for c in contacts]
        consent = self.repo.consent_state(nsns, now)
        dnc = self.repo.dnc_members(nsns)
        history = self.repo.history(nsns, now - timedelta(days=HISTORY_DAYS), [Outcome.NOT_DIALED.value])
        bloctel, bloctel_date = self.oppositions.bloctel, self.oppositions.bloctel_date
        out = []
        for c in contacts:
            state = consent.get(c.nsn, {})
            grant = state.get("canvassing")
            if grant is not None and grant.action == "grant":
                basis = Basis.CONSENT
            elif c.contract:
                basis = Basis.CONTRACT
            else:
                basis = Basis.NONE
            outside = state.get("outside_hours")
            sources: list[tuple[datetime, bool]] = []
            if c.bloctel_checked_at is not None:
                sources.append((c.bloctel_checked_at, bool(c.bloctel_opposed)))
            if bloctel is not None and bloctel_date is not None:
                sources.append((bloctel_date, c.nsn in bloctel))
            facts = OppositionFacts(
                company_dnc=c.nsn in dnc,
                bloctel_listed=any(listed for _, listed in sources) if sources else None,
                bloctel_scrubbed_at=max(d for d, _ in sources) if sources else None,
            )
            request = CallRequest(
                number=c.number,
                postcode=c.postcode or None,
                basis=basis,
                outside_hours_consent=bool(outside and outside.action == "grant"),
                caller_id=caller_ids.get(c.id),
                automated=campaign.mode != "preview",
            )
            attempts = [Attempt(at=at, refused=refused) for at, refused in history.get(c.nsn, [])]
            evidence = {
                "campaign_id": campaign.id,
                "campaign": campaign.name,
                "contact_id": c.id,
                "caller_id": caller_ids.get(c.id),
                "consent": None
                if grant is None
                else {
                    "ledger_id": grant.id,
                    "action": grant.action,
                    "at": grant.at.isoformat(),
                    "source": grant.source,
                    "proof_ref": grant.proof_ref,
                },
                "outside_hours_consent": None
                if outside is None
                else {
                    "ledger_id": outside.id,
                    "action": outside.action,
                    "at": outside.at.isoformat(),
                    "proof_ref": outside.proof_ref,
                },
                "contract": c.contract,
                "company_dnc": c.nsn in dnc,
                "bloctel": [{"scrubbed_at": d.isoformat(), "listed": listed} for d, listed in sources],
                "history": [{"at": a.at.isoformat(), "refused": a.refused} for a in attempts],
            }
            out.append((c, request, attempts, facts, evidence))
        return out

    def decide_many(
        self, campaign, contacts: list, now: datetime, actor: str, purpose: str, caller_ids: dict[int, str | None]
    ) -> list[tuple[Any, Decision, int]]:
        """decide() for each contact at `now`; every decision stored (thread)."""
        gathered = self._gather(campaign, contacts, now, caller_ids)
        decisions = []
        rows = []
        for c, request, attempts, facts, evidence in gathered:
            decision = decide(request, attempts, facts, now)
            record = decision.as_dict()
            record["facts"] = evidence
            rows.append(
                dict(
                    at=now,
                    campaign_id=campaign.id,
                    contact_id=c.id,
                    number=c.number,
                    nsn=c.nsn,
                    actor=actor,
                    purpose=purpose,
                    allowed=decision.allowed,
                    failed_rules=",".join(record["failed"])[:255],
                    regime=decision.regime.value,
                    timezone=decision.timezone or "",
                    local_time=record["local_time"] or "",
                    decision=json.dumps(record, ensure_ascii=False),
                )
            )
            decisions.append((c, decision))
        ids = self.repo.store_decisions(rows) if rows else []
        return [(c, d, i) for (c, d), i in zip(decisions, ids)]

    def apply_refusal(self, contact, decision: Decision, now: datetime) -> None:
        area = AREAS[AREA_INDEX[contact.area]] if contact.area in AREA_INDEX else None
        step = after_refusal(decision, area, now)
        self.repo.update_contact(
            contact.id,
            now,
            status=step.status,
            next_attempt_at=step.next_attempt_at or contact.next_attempt_at,
            blocked_rule=step.blocked_rule,
            reserved_by="",
            reserved_until=None,
        )

    def decide_one(
        self, campaign, contact, now: datetime, actor: str, purpose: str, caller_id: str | None
    ) -> tuple[Decision, int]:
        """decide() for one contact, stored: (decision, its id) (thread)."""
        ((_, decision, decision_id),) = self.decide_many(
            campaign, [contact], now, actor, purpose, {contact.id: caller_id}
        )
        return decision, decision_id

    async def check_contact(self, contact_id: int, actor: str, role: str | None = None) -> dict:
        """'May this contact be called now?': the engine's answer, stored like the dialer's."""
        contact = await self.access.require_contact(contact_id, actor, role, "check")
        now = self.clock.now()

        def check() -> tuple[Decision, int]:
            campaign = self.repo.campaign(contact.campaign_id)
            caller = choose_caller_id(json.loads(campaign.caller_ids), contact.area, 0)
            return self.decide_one(campaign, contact, now, actor, "check", caller)

        decision, decision_id = await asyncio.to_thread(check)
        return {"decision_id": decision_id, **decision.as_dict()}

    async def why_not_called(self, contact_id: int) -> dict:
        """Why was this contact (not) called: its stored decisions, newest first, its attempts."""
        return await asyncio.to_thread(self.why, contact_id)

    def why(self, contact_id: int) -> dict:
        contact = self.repo.contact(contact_id)
        decisions = self.repo.decisions_of_contact(contact_id)
        attempts = self.repo.attempts_of_contact(contact_id)
        return {
            "contact": contact_dict(contact),
            "decisions": [decision_dict(d) for d in decisions],
            "attempts": [attempt_dict(a) for a in attempts],
            "summary": why_summary(contact, decisions),
        }

    def why_number(self, number, *, campaign_id: int | None = None, limit: int = 50) -> dict:
        """The contacts with this number (a FrenchNumber) and its newest decisions (thread)."""
        decisions = []
        for batch in self.repo.iter_decisions(campaign_id=campaign_id, number_nsn=number.nsn):
            decisions.extend(batch)
        return {
            "number": number.national,
            "contacts": [
                {"id": c.id, "campaign_id": c.campaign_id, "status": c.status, "blocked_rule": c.blocked_rule}
                for c in self.repo.contacts_by_nsn(number.nsn)
                if campaign_id in (None, c.campaign_id)
            ],
            "decisions": [decision_dict(d) for d in decisions[::-1][:limit]],
        }

    def export_decisions(
        self,
        *,
        campaign_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        number: str | None = None,
    ) -> Iterator[str]:
        """CSV (UTF-8, ';'): one line per stored decision with every rule (runs in a thread)."""
        nsn = parse_number(number).nsn if number else None
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(EXPORT_COLUMNS)
        yield "\ufeff" + buffer.getvalue()
        for batch in self.repo.iter_decisions(campaign_id=campaign_id, since=since, until=until, number_nsn=nsn):
            buffer.seek(0)
            buffer.truncate()
            for d in batch:
                record = json.loads(d.decision)
                rules = " | ".join(f"{r['rule']}={r['status']}" for r in record.get("reasons", []))
                writer.writerow(
                    (
                        d.id,
                        d.at.isoformat(),
                        d.local_time,
                        d.timezone,
                        d.campaign_id,
                        d.contact_id,
                        d.attempt_id,
                        d.number,
                        d.actor,
                        d.purpose,
                        "yes" if d.allowed else "no",
                        d.failed_rules,
                        d.regime,
                        record.get("basis", ""),
                        rules,
                        d.decision,
                    )
                )
            yield buffer.getvalue()
