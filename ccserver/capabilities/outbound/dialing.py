"""The dialer: one pass a second over the running campaigns.

For each campaign: the campaign-level blockers (stale Bloctel list, caller IDs, trunk), the areas
whose legal window is open now (injected clock), the free agents of its queue ``camp-<id>``
(AgentBoard), how many calls to launch (progressive: one per free agent; predictive: `pacing.plan`
under the abandon cap), then the due contacts: each is checked by the compliance engine at that
very moment, the decision is stored, and only an allowed call is originated. APScheduler opens and
closes each campaign at the boundaries of its contacts' calling windows.

`open_attempt` and `place_call` are the one way a call is prepared and placed, for the dialer and
for an agent's preview call alike. A lock per campaign keeps two passes from launching the same
campaign's calls twice; database work runs in worker threads, batched per step.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ...core.clock import Clock
from ...core.errors import CcError, InvalidInput, NotFound
from ...core.ports import OriginateRequest, PbxCommands
from ...core.text import Text
from ..agents.model import AgentState
from .access import Access, Notifier, RunningCampaigns
from .decisions import ComplianceService
from .dialer import (
    AttemptTracker,
    LiveAttempt,
    Outcome,
    campaign_blockers,
    choose_caller_id,
    dial_channel,
    dialplan_value,
    next_window_change,
    open_areas,
    queue_name,
)
from .dialplan import DIALER_CONTEXT, PREVIEW_CONTEXT
from .oppositions import OppositionService
from .outcomes import AttemptOutcomes
from .pacing import DEFAULT_ABANDON_CAP, plan
from .ports import OutboundRepositoryPort
from .views import CampaignLive

logger = logging.getLogger(__name__)

ABANDON_WAIT_SECONDS = 2  # an answered call waits at most this for an agent, then the message
LANGUAGE_CODE_RE = re.compile(r"[a-z]{2}(_[A-Z]{2})?")


@dataclass
class Prepared:
    """A contact ready to dial: allowed by the engine, attempt row created."""

    contact: Any
    attempt_id: int
    decision_id: int
    caller_id: str
    mode: str


def campaign_language(campaign) -> str:
    """The campaign's language for the dialplan's CHANNEL(language): a checked code, never raw text
    (what the database holds went through the campaign's validation; anything else is dropped)."""
    value = getattr(campaign, "language", "") or ""
    return value if isinstance(value, str) and LANGUAGE_CODE_RE.fullmatch(value) else ""


def originate_request(
    campaign, item: Prepared, channel: str, uniqueid: str, action_id: str, interface: str | None
) -> OriginateRequest:
    """The Originate of a prepared call: the dialer calls the customer and hands them to the
    campaign's queue; a preview call rings the agent's phone (`interface`) first."""
    contact = item.contact
    variables = {
        "CCS_ATTEMPT": str(item.attempt_id),
        "CCS_CAMPAIGN": str(campaign.id),
        "CCS_CONTACT": str(contact.id),
        "CCS_NUMBER": contact.number,
        "CCS_LANGUAGE": campaign_language(campaign),
    }
    if interface is not None:
        presented = f'"{dialplan_value(campaign.name, 40)}" <{item.caller_id}>' if item.caller_id else ""
        return OriginateRequest(
            channel=interface,
            context=PREVIEW_CONTEXT,
            exten="s",
            priority=1,
            caller_id=f'"{dialplan_value(contact.name, 40) or contact.number}" <{contact.number}>',
            timeout_ms=30_000,
            variables={
                **variables,
                "CCS_DIAL": channel,
                "CCS_CALLERID": presented,
                "CCS_RING": str(campaign.ring_seconds),
            },
            action_id=action_id,
            channel_id=uniqueid,
        )
    return OriginateRequest(
        channel=channel,
        context=DIALER_CONTEXT,
        exten="s",
        priority=1,
        caller_id=f'"{dialplan_value(campaign.name, 40)}" <{item.caller_id}>',
        timeout_ms=campaign.ring_seconds * 1000,
        variables={
            **variables,
            "CCS_NAME": dialplan_value(contact.name) or contact.number,
            "CCS_QUEUE": queue_name(campaign.id),
            "CCS_WAIT": str(ABANDON_WAIT_SECONDS),
            "CCS_AMD": "1" if campaign.amd else "0",
            "CCS_ABANDON": campaign.abandon_message or "please-try-call-later",
            "CCS_MACHINE": campaign.machine_message or "",
        },
        action_id=action_id,
        channel_id=uniqueid,
    )


class DialerService:
    def __init__(
        self,
        repo: OutboundRepositoryPort,
        *,
        clock: Clock,
        access: Access,
        running: RunningCampaigns,
        notify: Notifier,
        tracker: AttemptTracker,
        compliance: ComplianceService,
        oppositions: OppositionService,
        outcomes: AttemptOutcomes,
        pbx: PbxCommands | None = None,
        board=None,
        scheduler=None,
        dial_uri: str = "",
        interface_of: Callable[[str], str | None] | None = None,
        tick_seconds: float = 1.0,
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.access = access
        self.running = running
        self.notify = notify
        self.tracker = tracker
        self.compliance = compliance
        self.oppositions = oppositions
        self.outcomes = outcomes
        self.pbx = pbx
        self.board = board
        self.scheduler = scheduler
        self.dial_uri = dial_uri
        self._interface_of = interface_of
        self.tick_seconds = tick_seconds
        self.live: dict[int, CampaignLive] = {}
        self.originates = 0  # Originate actions sent (tests, /status)
        self._areas: dict[int, tuple[set[str], bool]] = {}
        self._blocked_logged: dict[int, tuple[str, ...]] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._caller_counter = 0
        self._task: asyncio.Task | None = None

    # --- lifecycle
    def start_loop(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="dialer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("dialer tick failed; continuing")
            await asyncio.sleep(self.tick_seconds)

    def interface(self, username: str) -> str:
        """The agent's phone (the live board, else the agent account)."""
        interface = None
        if self.board is not None and username in self.board.agents:
            interface = self.board.agents[username].interface
        if not interface and self._interface_of is not None:
            interface = self._interface_of(username)
        if not interface:
            raise NotFound(Text("%(username)r has no phone (no agent account)", username=username), field="username")
        return interface

    # --- windows (APScheduler)
    async def refresh_windows(self, campaign_id: int | None = None) -> None:
        """Open or close campaigns on the legal windows of their contacts' areas, and schedule
        the next change."""
        campaigns = await self.running.get(force=True)
        now = self.clock.now()
        selected = [c for c in campaigns if campaign_id is None or c.id == campaign_id]
        areas_of = await asyncio.to_thread(lambda: {c.id: self.repo.campaign_areas(c.id) for c in selected})
        for campaign in selected:
            areas, outside = areas_of[campaign.id]
            self._areas[campaign.id] = (areas, outside)
            live = self.live.setdefault(campaign.id, CampaignLive())
            opened = open_areas(areas, now)
            was_open = live.open
            live.open = bool(opened) or outside
            live.open_areas = tuple(sorted(opened))
            live.next_change = next_window_change(areas, now)
            if live.open != was_open:
                logger.info(
                    "campaign %s %s (areas open: %s; next change %s)",
                    campaign.id,
                    "opens" if live.open else "closes",
                    ",".join(sorted(opened)) or "none",
                    live.next_change,
                )
                self.notify(
                    {"topic": "outbound_campaign_window", "campaign_id": campaign.id, **live.to_dict()},
                    roles={"supervisor", "admin"},
                )
            if (
                self.scheduler is not None
                and getattr(self.scheduler, "running", False)
                and live.next_change is not None
            ):
                delay = max(1.0, (live.next_change - now).total_seconds() + 0.5)
                self.scheduler.add_job(
                    self.refresh_windows,
                    "date",
                    run_date=datetime.now(UTC) + timedelta(seconds=delay),
                    args=[campaign.id],
                    id=f"outbound-window-{campaign.id}",
                    replace_existing=True,
                )
        if campaign_id is None or campaign_id not in {c.id for c in campaigns}:
            for cid in list(self.live):
                if cid not in {c.id for c in campaigns}:
                    self.live[cid].open = False
                    if self.scheduler is not None and getattr(self.scheduler, "running", False):
                        try:
                            self.scheduler.remove_job(f"outbound-window-{cid}")
                        except Exception:
                            pass

    def agents_of(self, campaign_id: int) -> tuple[int, int]:
        """(idle, busy) agents of the campaign's queue, from the live agent board."""
        if self.board is None:
            return 0, 0
        queue = queue_name(campaign_id)
        idle = busy = 0
        for agent in self.board.agents.values():
            if queue not in agent.queues:
                continue
            if agent.state is AgentState.AVAILABLE and queue not in agent.paused_in and agent.phone_reachable:
                idle += 1
            elif agent.state in (AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP):
                busy += 1
        return idle, busy

    def launch_count(self, campaign) -> int:
        idle, busy = self.agents_of(campaign.id)
        in_flight = self.tracker.in_flight(campaign.id)
        live = self.live.setdefault(campaign.id, CampaignLive())
        live.idle_agents, live.busy_agents, live.in_flight = idle, busy, in_flight
        if campaign.mode == "progressive":
            return max(0, idle - in_flight)
        if campaign.mode == "predictive":
            stats = self.outcomes.stats_of(campaign.id)
            decision = plan(
                stats.pacing_input(
                    self.clock.now().timestamp(),
                    agents_idle=idle,
                    agents_busy=busy,
                    calls_in_flight=self.tracker.dialing(campaign.id),
                    abandon_cap=campaign.abandon_cap_permille / 1000.0 or DEFAULT_ABANDON_CAP,
                )
            )
            return decision.launch
        return 0

    def blockers_of(self, campaign, all_contract: bool = False) -> list[dict]:
        blockers = campaign_blockers(
            self.clock.now(),
            caller_ids=json.loads(campaign.caller_ids),
            mode=campaign.mode,
            dial_configured=bool(self.dial_uri),
            bloctel_dates=[campaign.bloctel_scrubbed_at, self.oppositions.bloctel_date],
            all_contract=all_contract,
        )
        return [b.as_dict() for b in blockers]

    async def tick(self) -> int:
        """One pass of the dialer over the running campaigns; returns the calls launched."""
        for event in self.tracker.settle():
            await self.outcomes.on_attempt_event(event)
        launched = 0
        for campaign in await self.running.get():
            if campaign.mode == "preview":
                continue
            lock = self._locks.setdefault(campaign.id, asyncio.Lock())
            async with lock:
                launched += await self._tick_campaign(campaign)
        return launched

    async def _tick_campaign(self, campaign) -> int:
        now = self.clock.now()
        live = self.live.setdefault(campaign.id, CampaignLive())
        live.last_tick = now
        blockers = self.blockers_of(campaign)
        live.blockers = tuple(blockers)
        rules = tuple(sorted({b["rule"] for b in blockers}))
        if self._blocked_logged.get(campaign.id, ()) != rules:
            self._blocked_logged[campaign.id] = rules
            if rules:
                logger.warning("campaign %s blocked: %s", campaign.id, "; ".join(b["explanation"] for b in blockers))
            await self.access.record(
                "dialer", "campaign.blocked" if rules else "campaign.unblocked", str(campaign.id), blockers=blockers
            )
        if blockers:
            return 0
        if campaign.id not in self._areas:
            self._areas[campaign.id] = await asyncio.to_thread(self.repo.campaign_areas, campaign.id)
        areas, outside = self._areas[campaign.id]
        opened = open_areas(areas, now)  # the clock, now: not only the scheduled state
        if not opened and not outside:
            return 0
        if self.pbx is None or not getattr(self.pbx, "is_up", True):
            return 0
        count = self.launch_count(campaign)
        if count <= 0:
            return 0
        prepared = await asyncio.to_thread(self._prepare, campaign, now, opened, count)
        for item in prepared:
            try:
                await self.place_call(campaign, item)
            except CcError:
                pass  # logged, and the contact is back in the list (_not_dialed)
        live.launched += len(prepared)
        return len(prepared)

    def _prepare(self, campaign, now: datetime, opened: set[str], count: int) -> list[Prepared]:
        """Pick due contacts, claim them, check each with the engine at `now` (decisions stored),
        create the attempts of the allowed ones (thread)."""
        out: list[Prepared] = []
        pool = json.loads(campaign.caller_ids)
        scanned = 0
        while len(out) < count and scanned < count * 20 + 20:
            candidates = self.repo.due_contacts(campaign.id, now, opened, (count - len(out)) * 2)
            if not candidates:
                break
            claimed = [c for c in candidates if self.repo.claim_contact(c.id, ["pending"], "dialing", now)]
            scanned += len(candidates)
            if not claimed:
                continue
            callers = {}
            for c in claimed:
                self._caller_counter += 1
                callers[c.id] = choose_caller_id(pool, c.area, self._caller_counter)
            try:
                decided = self.compliance.decide_many(campaign, claimed, now, "dialer", "dial", callers)
            except Exception:
                for c in claimed:  # never leave them 'dialing' with no call
                    self.repo.update_contact(c.id, now, status="pending")
                raise
            for contact, decision, decision_id in decided:
                if not decision.allowed or len(out) >= count:
                    if decision.allowed:  # more than needed: back to the list, checked again later
                        self.repo.update_contact(contact.id, now, status="pending")
                    else:
                        self.compliance.apply_refusal(contact, decision, now)
                    continue
                out.append(
                    self.open_attempt(campaign, contact, decision_id, callers[contact.id], now, mode=campaign.mode)
                )
        return out

    def open_attempt(
        self, campaign, contact, decision_id: int, caller_id: str | None, now: datetime, *, mode: str, agent: str = ""
    ) -> Prepared:
        """The attempt row of an allowed call, linked to its decision (thread)."""
        attempt = self.repo.create_attempt(
            campaign_id=campaign.id,
            contact_id=contact.id,
            nsn=contact.nsn,
            number=contact.number,
            caller_id=caller_id or "",
            mode=mode,
            agent=agent,
            started_at=now,
            decision_id=decision_id,
            outcome=Outcome.DIALING.value,
        )
        self.repo.link_decision(decision_id, attempt.id)
        return Prepared(contact, attempt.id, decision_id, caller_id or "", mode)

    async def place_call(self, campaign, item: Prepared, *, interface: str | None = None) -> str:
        """Originate a prepared call (`interface`: a preview call ringing that agent's phone
        first) and follow it with the tracker; returns the channel's uniqueid. On failure the
        attempt ends 'not dialed', the contact is due again in a minute, and the error is
        raised."""
        contact = item.contact
        tag = "dial" if interface is None else "prev"
        uniqueid = f"ccs{tag}-{item.attempt_id}-{secrets.token_hex(3)}"
        action_id = f"ccs-{tag}-{item.attempt_id}-{secrets.token_hex(3)}"
        now = self.clock.now()
        try:
            channel = dial_channel(self.dial_uri, contact.number)
        except InvalidInput as exc:
            await self._not_dialed(item, now, exc.message)
            raise
        await asyncio.to_thread(self.repo.update_attempt, item.attempt_id, uniqueid=uniqueid)
        self.tracker.expect(
            LiveAttempt(
                attempt_id=item.attempt_id,
                campaign_id=campaign.id,
                contact_id=contact.id,
                mode=item.mode,
                number=contact.number,
                action_id=action_id,
                uniqueid=uniqueid,
                started_at=now,
                amd=campaign.amd if interface is None else False,
            )
        )
        request = originate_request(campaign, item, channel, uniqueid, action_id, interface)
        try:
            if self.pbx is None:
                raise CcError("no Asterisk connection")
            await self.pbx.originate(request)
        except CcError as exc:
            self.tracker.forget(item.attempt_id)
            await self._not_dialed(item, now, exc.message)
            raise
        self.originates += 1
        logger.info(
            "dialer: campaign %s attempt %s contact %s %s (caller ID %s%s)",
            campaign.id,
            item.attempt_id,
            contact.id,
            contact.number,
            item.caller_id,
            "" if interface is None else f", preview by {interface}",
        )
        return uniqueid

    async def _not_dialed(self, item: Prepared, now: datetime, why: str) -> None:
        logger.warning("dialer: attempt %s (contact %s) not dialed: %s", item.attempt_id, item.contact.id, why)

        def write() -> None:
            self.repo.update_attempt(item.attempt_id, outcome=Outcome.NOT_DIALED.value, ended_at=now, notes=why[:500])
            self.repo.update_contact(item.contact.id, now, status="pending", next_attempt_at=now + timedelta(minutes=1))

        await asyncio.to_thread(write)
