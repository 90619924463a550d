"""Preview mode and the agents' side of a campaign: the next contact offered to an agent
(reserved for them, checked by the engine), the call they place from it (their phone rings
first, then the customer's), skipping it, callbacks they schedule, and the result they record
(a refusal goes to the consent ledger; "do not call" to the company's list).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

from ...core.clock import Clock
from ...core.errors import CcError, Conflict, Forbidden, InvalidInput
from ...core.text import Text, blocker_text
from ..callcenter.model import require_code
from .access import Access, RunningCampaigns
from .compliance import Decision, parse_instant
from .decisions import ComplianceService
from .dialer import choose_caller_id, open_areas
from .dialing import DialerService, Prepared
from .errors import CallForbidden, CampaignBlocked
from .imports import consent_entry
from .oppositions import OppositionService
from .ports import OutboundRepositoryPort
from .views import campaign_dict, contact_dict

RESERVATION = timedelta(minutes=10)  # a previewed contact stays the agent's this long


class PreviewService:
    def __init__(
        self,
        repo: OutboundRepositoryPort,
        *,
        clock: Clock,
        access: Access,
        running: RunningCampaigns,
        dialer: DialerService,
        compliance: ComplianceService,
        oppositions: OppositionService,
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.access = access
        self.running = running
        self.dialer = dialer
        self.compliance = compliance
        self.oppositions = oppositions

    async def preview_next(self, username: str) -> dict | None:
        """The next contact for this agent (their due callbacks first), reserved for them and
        checked by the engine; None when there is nothing to call now."""
        now = self.clock.now()
        campaign_ids = await asyncio.to_thread(self.repo.campaigns_of_agent, username)
        for campaign in await self.running.get(force=True):
            if campaign.id not in campaign_ids or self.dialer.blockers_of(campaign):
                continue
            found = await asyncio.to_thread(self._reserve_next, campaign, username, now)
            if found is not None:
                contact, decision, decision_id = found
                codes = await asyncio.to_thread(self.repo.wrapup_codes, campaign.id)
                return {
                    "campaign": {**campaign_dict(campaign), "dispositions": codes},
                    "contact": contact_dict(contact),
                    "decision_id": decision_id,
                    "decision": decision.as_dict(),
                    "reserved_until": (now + RESERVATION).isoformat(),
                }
        return None

    def _reserve_next(self, campaign, username: str, now: datetime) -> tuple[object, Decision, int] | None:
        """Reserve the first due contact of this campaign the engine allows now (thread)."""
        areas, _ = self.repo.campaign_areas(campaign.id)
        opened = open_areas(areas, now)
        for _ in range(5):
            candidates = self.repo.due_contacts(campaign.id, now, opened, 5, outside_hours=True, agent=username)
            if campaign.mode != "preview":  # the dialer calls the others itself
                candidates = [c for c in candidates if c.status == "callback"]
            if not candidates:
                return None
            for contact in candidates:
                if not self.repo.claim_contact(
                    contact.id,
                    [contact.status],
                    "reserved",
                    now,
                    reserved_by=username,
                    reserved_until=now + RESERVATION,
                ):
                    continue
                caller = choose_caller_id(json.loads(campaign.caller_ids), contact.area, 0)
                decision, decision_id = self.compliance.decide_one(campaign, contact, now, username, "preview", caller)
                if not decision.allowed:
                    self.compliance.apply_refusal(contact, decision, now)
                    continue
                return self.repo.contact(contact.id), decision, decision_id
        return None

    async def preview_dial(self, contact_id: int, username: str) -> dict:
        """The agent clicks 'call': the engine checks again now; their phone rings, then the
        customer's."""
        now = self.clock.now()
        contact, campaign = await asyncio.to_thread(
            lambda: (c := self.repo.contact(contact_id), self.repo.campaign(c.campaign_id))
        )
        self._require_reserved_for(contact, username)
        if contact.status != "reserved" or contact.reserved_by != username:
            raise Conflict(
                Text(
                    "contact %(contact_id)s is not reserved for %(username)s (get it with /api/outbound/preview/next)",
                    contact_id=contact_id,
                    username=username,
                ),
                contact_id=contact_id,
            )
        blockers = self.dialer.blockers_of(campaign)
        if blockers:
            raise CampaignBlocked(blocker_text(blockers[0]), blockers=blockers)
        caller = choose_caller_id(json.loads(campaign.caller_ids), contact.area, 0)

        def check() -> tuple[Decision, int]:
            decision, decision_id = self.compliance.decide_one(campaign, contact, now, username, "dial", caller)
            if not decision.allowed:
                self.compliance.apply_refusal(contact, decision, now)
            return decision, decision_id

        decision, decision_id = await asyncio.to_thread(check)
        if not decision.allowed:
            raise CallForbidden(
                "the compliance engine forbids this call now: " + ", ".join(r.rule for r in decision.failed),
                decision_id=decision_id,
                decision=decision.as_dict(),
            )
        if self.dialer.pbx is None:
            raise CcError("no Asterisk connection")
        interface = self.dialer.interface(username)

        def claim() -> Prepared | None:
            if not self.repo.claim_contact(contact.id, ["reserved"], "dialing", now, reserved_until=None):
                return None
            return self.dialer.open_attempt(campaign, contact, decision_id, caller, now, mode="preview", agent=username)

        item = await asyncio.to_thread(claim)
        if item is None:
            raise Conflict("the contact was released meanwhile", contact_id=contact_id)
        uniqueid = await self.dialer.place_call(campaign, item, interface=interface)
        return {"attempt_id": item.attempt_id, "decision_id": decision_id, "uniqueid": uniqueid}

    @staticmethod
    def _require_reserved_for(contact, username: str) -> None:
        """A contact reserved for another agent is theirs: 403 (not reserved at all: 409)."""
        if contact.status == "reserved" and contact.reserved_by and contact.reserved_by != username:
            raise Forbidden(
                Text("contact %(id)s is reserved for another agent", id=contact.id), kind="contact", id=str(contact.id)
            )

    async def preview_skip(self, contact_id: int, username: str) -> dict:
        now = self.clock.now()
        contact = await asyncio.to_thread(self.repo.contact, contact_id)
        self._require_reserved_for(contact, username)
        if contact.status != "reserved" or contact.reserved_by != username:
            raise Conflict(
                Text(
                    "contact %(contact_id)s is not reserved for %(username)s", contact_id=contact_id, username=username
                )
            )
        back = "callback" if contact.callback_agent == username else "pending"
        await asyncio.to_thread(
            self.repo.claim_contact, contact_id, ["reserved"], back, now, reserved_by="", reserved_until=None
        )
        return {"contact_id": contact_id, "status": back}

    async def schedule_callback(
        self, contact_id: int, at: str | datetime, username: str, mine: bool = True, role: str | None = None
    ) -> dict:
        """An agent schedules a callback on a contact they handled: for themselves (offered
        to them when due) or for the campaign (dialed like any contact). The engine still
        checks it when due."""
        moment = at if isinstance(at, datetime) else parse_instant(at, "at")
        now = self.clock.now()
        if moment < now - timedelta(minutes=1):
            raise InvalidInput("the callback time is in the past", field="at")
        contact = await self.access.require_contact(contact_id, username, role, "schedule a callback on")
        if contact.status in ("blocked",):
            raise Conflict(
                Text(
                    "contact %(contact_id)s is blocked (%(blocked_rule)s)",
                    contact_id=contact_id,
                    blocked_rule=contact.blocked_rule,
                ),
                contact_id=contact_id,
            )
        await asyncio.to_thread(
            self.repo.update_contact,
            contact_id,
            now,
            status="callback" if mine else "pending",
            callback_agent=username if mine else "",
            next_attempt_at=moment,
            reserved_by="",
            reserved_until=None,
        )
        await self.access.record(username, "contact.callback", str(contact_id), at=moment.isoformat(), mine=mine)
        return {"contact_id": contact_id, "status": "callback" if mine else "pending", "at": moment.isoformat()}

    async def record_result(
        self,
        attempt_id: int,
        username: str,
        *,
        disposition: str = "",
        refused: bool = False,
        do_not_call: bool = False,
        notes: str = "",
        role: str | None = None,
    ) -> dict:
        """The agent's result of a call (the agent who took it, or a supervisor of its
        campaign). A refusal is recorded (60-day rule, consent ledger); `do_not_call` also puts
        the number on the company's do-not-call list."""
        attempt = await self.access.require_attempt(attempt_id, username, role, "record the result of")
        if len(notes) > 4000:
            raise InvalidInput("notes: 4000 characters at most", field="notes")
        if disposition:  # one of the campaign's codes (an admin defines them)
            codes = await asyncio.to_thread(self.repo.wrapup_codes, attempt.campaign_id)
            require_code(disposition, codes, f"campaign {attempt.campaign_id}")
        now = self.clock.now()
        await asyncio.to_thread(
            self.repo.update_attempt,
            attempt_id,
            disposition=disposition,
            refused=bool(refused or do_not_call),
            notes=notes,
        )
        if refused or do_not_call:
            number = attempt.number
            await self.oppositions.store_consents(
                [
                    consent_entry(
                        number,
                        "canvassing",
                        "refusal",
                        attempt.started_at,
                        now=now,
                        source="call",
                        proof_ref=f"attempt {attempt_id}",
                    )
                ],
                username,
                campaign_id=attempt.campaign_id,
                attempt_id=attempt_id,
            )
            if do_not_call:
                await self.oppositions.store_consents(
                    [
                        consent_entry(
                            number,
                            "canvassing",
                            "revoke",
                            now,
                            now=now,
                            source="call",
                            proof_ref=f"attempt {attempt_id}",
                        )
                    ],
                    username,
                    campaign_id=attempt.campaign_id,
                    attempt_id=attempt_id,
                )
                await self.oppositions.dnc_add(
                    [number], f"asked during call (attempt {attempt_id})", username, source="call"
                )
            await asyncio.to_thread(self.repo.update_contact, attempt.contact_id, now, status="done")
        await self.access.record(
            username,
            "attempt.result",
            str(attempt_id),
            campaign_id=attempt.campaign_id,
            disposition=disposition,
            refused=bool(refused or do_not_call),
            do_not_call=do_not_call,
            agent=attempt.agent or "",
        )
        return {
            "attempt_id": attempt_id,
            "refused": bool(refused or do_not_call),
            "do_not_call": do_not_call,
            "disposition": disposition,
        }
