"""Click-to-dial use cases: resolve the target, check who may call it, ask the compliance engine
for campaign contacts, then ring the agent's own phone first and dial the customer (AMI
Originate, Async, with a timeout, never replayed: `PbxCommands.originate`).

Campaign contacts go through the outbound capability's own preparation (`DialerService.open_attempt`
/ `place_call`, the attempt and its decision are its records); customer-service calls use the same
trunk dial string (`outbound.dialer.dial_channel`) and are followed by `DialedCalls` into an
outbound call record, with the screen-pop of the customer pushed to the agent's desk.
Nothing is written before every check passed; each click-to-dial, placed or refused, is audited.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ...core import events as ev
from ...core.clock import Clock
from ...core.errors import CcError, Conflict, Forbidden, InvalidInput, PbxUnavailable
from ...core.permissions import Actor, actor_for, may_act, require
from ...core.ports import AuditTrail, OriginateRequest, PbxCommands
from ...core.text import Text, blocker_text
from ..agents.model import AgentBoard, AgentState
from ..callbacks.errors import NoSuchCallback
from ..calls.model import CallRecordChanged
from ..customers.model import normalize_number
from ..customers.service import CustomerService
from ..outbound.dialer import choose_caller_id, dial_channel, dialplan_value
from ..outbound.dialplan import CLICK_TO_DIAL_CONTEXT
from ..outbound.errors import CallForbidden, CampaignBlocked
from ..outbound.service import OutboundService
from .errors import AlreadyOnCall, CallbackClosed, NoAgentPhone, UnknownNumber
from .model import DialedCall, DialedCalls, DialTarget, callback_target, choose_phone, parse_target, refusal_message
from .ports import AgentAccounts, CallbackStore, CallNotes, ScopeSource

logger = logging.getLogger(__name__)

AGENT_RING_MS = 30_000  # the agent's own phone rings this long
CUSTOMER_RING_SECONDS = 30
_CALLER_ID = re.compile(r"\+?[0-9]{3,15}")


class ClickToDialService:
    def __init__(
        self,
        *,
        clock: Clock,
        calls: DialedCalls,
        customers: CustomerService,
        outbound: OutboundService,
        board: AgentBoard,
        callbacks: CallbackStore,
        accounts: AgentAccounts,
        scopes: ScopeSource | None,
        notes: CallNotes,
        pbx: PbxCommands | None,
        publish: Callable[[ev.Event], None],
        audit: AuditTrail | None = None,
        caller_id: str = "",
    ) -> None:
        if caller_id and not _CALLER_ID.fullmatch(caller_id):
            raise InvalidInput("outbound.service_caller_id must be digits", field="outbound.service_caller_id")
        self.clock = clock
        self.calls = calls
        self.customers = customers
        self.outbound = outbound
        self.board = board
        self.callbacks = callbacks
        self.accounts = accounts
        self.scopes = scopes
        self.notes = notes
        self.pbx = pbx
        self.publish = publish  # the bus: the call record's changes go to the calls writer
        self.audit = audit
        self.caller_id = caller_id
        self.send_to_user: Callable[[str, dict], Any] = lambda username, message: None
        self.placed = 0
        self._placing: set[str] = set()  # users whose click is being handled

    # --- the use case -------------------------------------------------------------------------

    async def dial(self, body: Any, username: str, role: str) -> dict[str, Any]:
        """Place the call the desk asked for (`body`: the request's JSON). Returns what the desk
        shows; raises a `CcError` (nothing dialled, nothing changed) when it may not be placed."""
        target: DialTarget | None = None
        try:
            target = parse_target(body)
            if username in self._placing:  # a double click: the first one is still being placed
                raise AlreadyOnCall(f"a call is being placed from {username}'s desk already", username=username)
            self._placing.add(username)
            try:
                if target.canvassing:
                    result = await self._dial_contact(target.ident, username, role)
                else:
                    result = await self._dial_service(target, username, role)
            finally:
                self._placing.discard(username)
        except CcError as exc:
            await self._record(
                username,
                "call.dial-refused",
                _target_name(target) if target else "request",
                error=exc.error_id,
                message=exc.message[:300],
            )
            raise
        await self._record(
            username, "call.dial", _target_name(target), **{k: v for k, v in result.items() if k != "customer"}
        )
        return result

    async def callbacks_for(self, username: str, role: str) -> list[dict[str, Any]]:
        """The desk's list: the pending queue callbacks this user may call back, then the
        campaign callbacks due that are theirs (calling those asks the compliance engine)."""
        rows = await asyncio.to_thread(self.callbacks.callbacks, "pending")
        due = await asyncio.to_thread(self.outbound.repo.due_callbacks, self.clock.now())
        actor = await self._actor(username, role)
        mine = self.board.agents[username].queues if username in self.board.agents else frozenset()
        contacts = [
            {
                "kind": "contact",
                "id": c.id,
                "campaign_id": c.campaign_id,
                "name": c.name,
                "number": c.number,
                "due_at": c.next_attempt_at.astimezone(UTC).isoformat() if c.next_attempt_at else None,
            }
            for c in sorted(due, key=lambda c: (c.next_attempt_at, c.id))
            if c.callback_agent == username
        ]
        return [
            {
                "kind": "callback",
                "id": r.id,
                "queue": r.queue,
                "number": r.number,
                "requested_at": r.requested_at.astimezone(UTC).isoformat() if r.requested_at else None,
                "attempts": r.attempts,
            }
            for r in rows
            if may_act(actor, callback_target(r.id, r.agent or "", r.queue, username, mine))
        ] + contacts

    def on_record(self, event: ev.Event) -> None:
        """Bus listener: tell the dialling agent's desk how their click-to-dial call goes
        (``click_to_dial_call``: state ``answered`` when the customer picks up, ``ended``)."""
        if not isinstance(event, CallRecordChanged) or event.record is None:
            return
        record = event.record
        data = dict(record.data)
        if "click_to_dial" not in data or not record.agent:
            return
        if event.ended:
            state = "ended"
        elif record.answered_at is not None:
            state = "answered"
        else:
            return  # placed: the screen-pop said so
        self.send_to_user(
            record.agent,
            {
                "topic": "click_to_dial_call",
                "uniqueid": record.uniqueid,
                "state": state,
                "outcome": record.outcome,
                "number": record.caller_number,
                "talk_seconds": record.talk_seconds,
            },
        )

    # --- customer service -----------------------------------------------------------------------

    async def _dial_service(self, target: DialTarget, username: str, role: str) -> dict[str, Any]:
        customer, number, callback_id = await self._resolve(target, username, role)
        interface = await self._interface(username)
        channel = dial_channel(self.outbound.dialer.dial_uri, number)  # InvalidInput: not dialable
        self._require_up()
        now = self.clock.now()
        uniqueid = f"ccsc2d-{int(now.timestamp())}-{secrets.token_hex(4)}"
        action_id = f"ccs-c2d-{secrets.token_hex(6)}"
        name = dialplan_value(customer.display_name, 40) if customer else ""
        request = OriginateRequest(
            channel=interface,
            context=CLICK_TO_DIAL_CONTEXT,
            exten="s",
            priority=1,
            caller_id=f'"{name or number}" <{number}>',
            timeout_ms=AGENT_RING_MS,
            variables={
                "CCS_C2D": uniqueid,
                "CCS_DIAL": channel,
                "CCS_RING": str(CUSTOMER_RING_SECONDS),
                "CCS_CALLERID": self.caller_id,
            },
            action_id=action_id,
            channel_id=uniqueid,
        )
        if callback_id is not None:  # taken by this agent before dialling: the queue won't dial it too
            await asyncio.to_thread(
                self.callbacks.update_callback, callback_id, status="done", agent=username, completed_at=now
            )
        call = DialedCall(
            uniqueid=uniqueid,
            agent=username,
            interface=interface,
            number=number,
            customer_id=customer.id if customer else None,
            started_at=now,
            target=_target_name(target),
        )
        self.calls.expect(call, action_id)  # followed from now; its record is published once placed
        try:
            await self.pbx.originate(request)
        except CcError:
            self.calls.forget(uniqueid)  # nothing was dialled: no record
            if callback_id is not None:
                await asyncio.to_thread(
                    self.callbacks.update_callback, callback_id, status="pending", agent="", completed_at=None
                )
            raise
        self.placed += 1
        live = self.calls.live.get(uniqueid)
        if live is not None and live.record is not None:
            self.publish(CallRecordChanged(record=live.record))
        if customer is not None:
            await asyncio.to_thread(self.notes.annotate_call, uniqueid, customer_id=customer.id)
        pop = self._screen_pop(uniqueid, number, customer, now)
        self.send_to_user(username, pop)
        logger.info("click-to-dial %s: %s calls %s (%s) from %s", uniqueid, username, number, call.target, interface)
        return {
            "uniqueid": uniqueid,
            "number": number,
            "customer_id": customer.id if customer else None,
            "kind": "service",
            "customer": customer.to_dict() if customer else None,
        }

    async def _resolve(self, target: DialTarget, username: str, role: str) -> tuple[Any, str, int | None]:
        """(customer file or None, E.164 number, callback id or None) of a customer-service
        target, after the access check."""
        service = self.customers
        region = service.default_region

        def normalize(text: str) -> str:
            return normalize_number(text, region, field="phone")

        if target.kind == "customer_id":
            customer = await asyncio.to_thread(service.customer_file, target.ident)
            owner = f"customer #{customer.id}"
            return customer, choose_phone([p.e164 for p in customer.phones], target.phone, normalize, owner), None
        if target.kind == "ticket_id":
            ticket = await asyncio.to_thread(service.ticket, target.ident)
            customer = await asyncio.to_thread(service.customer_file, ticket.customer_id)
            owner = f"the customer of ticket #{ticket.id}"
            return customer, choose_phone([p.e164 for p in customer.phones], target.phone, normalize, owner), None
        if target.kind == "callback_id":
            rows = await asyncio.to_thread(self.callbacks.callbacks)
            row = next((r for r in rows if r.id == target.ident), None)
            if row is None:
                raise NoSuchCallback(Text("no callback #%(ident)s", ident=target.ident), field="callback_id")
            actor = await self._actor(username, role)
            mine = self.board.agents[username].queues if username in self.board.agents else frozenset()
            require(actor, callback_target(row.id, row.agent or "", row.queue, username, mine), "call back")
            if row.status != "pending":
                raise CallbackClosed(
                    Text("callback #%(id)s is %(status)s: nothing to call back", id=row.id, status=row.status),
                    callback_id=row.id,
                )
            number = normalize_number(row.number, region, field="callback_id")
            customer = await asyncio.to_thread(service.find_by_number, number)
            return customer, number, row.id
        # a typed number: E.164 first; an agent calls their customers only
        number = normalize_number(target.phone, region, field="number")
        customer = await asyncio.to_thread(service.find_by_number, number)
        if customer is None and role == "agent":
            raise UnknownNumber(
                f"{number} is no customer's number: open or create the customer file first", field="number"
            )
        return customer, number, None

    # --- campaign contacts (canvassing) ---------------------------------------------------------

    async def _dial_contact(self, contact_id: int, username: str, role: str) -> dict[str, Any]:
        outbound = self.outbound
        contact = await outbound.access.require_contact(contact_id, username, role, "call")
        campaign = await asyncio.to_thread(outbound.repo.campaign, contact.campaign_id)
        if contact.status == "dialing":
            raise Conflict(
                Text("contact %(contact_id)s is being called already", contact_id=contact_id), contact_id=contact_id
            )
        if contact.status == "reserved" and contact.reserved_by and contact.reserved_by != username:
            raise Forbidden(
                Text("contact %(contact_id)s is reserved for another agent", contact_id=contact_id),
                kind="contact",
                id=str(contact_id),
            )
        blockers = outbound.dialer.blockers_of(campaign)
        if blockers:
            raise CampaignBlocked(blocker_text(blockers[0]), blockers=blockers)
        interface = await self._interface(username)
        dial_channel(outbound.dialer.dial_uri, contact.number)  # not dialable: say so before deciding
        self._require_up()
        now = self.clock.now()
        caller = choose_caller_id(json.loads(campaign.caller_ids), contact.area, 0)
        decision, decision_id = await asyncio.to_thread(
            outbound.compliance.decide_one, campaign, contact, now, username, "dial", caller
        )
        if not decision.allowed:
            # the decision is stored (the proof); the contact stays as it was
            raise CallForbidden(
                refusal_message(decision.failed),
                decision_id=decision_id,
                rules=[r.rule for r in decision.failed],
                decision=decision.as_dict(),
            )

        def claim():
            if not outbound.repo.claim_contact(
                contact.id, [contact.status], "dialing", now, reserved_by="", reserved_until=None
            ):
                return None
            return outbound.dialer.open_attempt(
                campaign, contact, decision_id, caller, now, mode="preview", agent=username
            )

        item = await asyncio.to_thread(claim)
        if item is None:
            raise Conflict("the contact changed meanwhile: try again", contact_id=contact_id)
        uniqueid = await outbound.dialer.place_call(campaign, item, interface=interface)
        return {
            "uniqueid": uniqueid,
            "number": contact.number,
            "kind": "campaign",
            "campaign_id": campaign.id,
            "contact_id": contact.id,
            "attempt_id": item.attempt_id,
            "decision_id": decision_id,
        }

    # --- helpers -----------------------------------------------------------------------------

    async def _interface(self, username: str) -> str:
        """The caller's own phone; one call at a time from a desk."""
        agent = self.board.agents.get(username)
        if agent is not None and (agent.call is not None or agent.state in (AgentState.RINGING, AgentState.ON_CALL)):
            raise AlreadyOnCall(f"{username} is in a call already", username=username)
        if any(c.agent == username for c in self.calls.live.values()):
            raise AlreadyOnCall(f"{username} is placing a call already", username=username)
        if agent is not None and agent.interface:
            return agent.interface
        account = await asyncio.to_thread(self.accounts.sip_account_of, username)
        if account is None:
            raise NoAgentPhone(f"{username} has no phone to ring (no agent account)", username=username)
        return account.interface

    def _require_up(self) -> None:
        if self.pbx is None or not getattr(self.pbx, "is_up", True):
            raise PbxUnavailable("no Asterisk connection: the call cannot be placed now")

    async def _actor(self, username: str, role: str) -> Actor:
        if role == "supervisor" and self.scopes is None:
            return Actor(username, role)
        return await asyncio.to_thread(actor_for, username, role, self.scopes)

    def _screen_pop(self, uniqueid: str, number: str, customer: Any, now: datetime) -> dict[str, Any]:
        """The desk's screen-pop message of an outbound call (same shape as an inbound one)."""
        found: dict[str, Any]
        if customer is not None:
            found = {"found": True, "customer": customer.to_dict()}
        else:
            found = {"found": False, "prefill": {"phone": number}}
        return {
            "topic": "screen_pop",
            "uniqueid": uniqueid,
            "queue": "",
            "direction": "outbound",
            "caller_number": number,
            "caller_name": customer.display_name if customer else "",
            "call_data": {"direction": "outbound"},
            "entered_queue_at": now.astimezone(UTC).isoformat(),
            "ringing_at": now.astimezone(UTC).isoformat(),
            **found,
        }

    async def _record(self, actor: str, action: str, target: str, **details: Any) -> None:
        if self.audit is not None:
            await asyncio.to_thread(self.audit.record, actor, action, target, **details)


def _target_name(target: DialTarget) -> str:
    if target.kind == "number":
        return "number"
    return f"{target.kind.removesuffix('_id')}:{target.ident}"
