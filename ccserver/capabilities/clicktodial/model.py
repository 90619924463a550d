"""Click-to-dial from the desk: what is dialled, who may dial it, what a refusal says, and the
outbound call record of a customer-service call. Pure: no I/O.

A request names ONE target, never a dial string: a customer (and optionally which of their
numbers), a ticket (its customer's number), a queue callback, an outbound campaign contact, or a
typed number (validated into E.164 with `phonenumbers`). Campaign contacts are canvassing: the
compliance engine decides; everything else is a customer-service call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ...core import events as ev
from ...core.clock import Clock
from ...core.errors import InvalidInput
from ...core.permissions import Target
from ...core.text import Text, join
from ..calls.model import CallRecord, CallRecordChanged
from .errors import NoPhoneNumber

KINDS = ("customer_id", "ticket_id", "callback_id", "contact_id", "number")
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class DialTarget:
    kind: str  # one of KINDS
    ident: int = 0  # the customer, ticket, callback or contact id ("number": 0)
    phone: str = ""  # customer/ticket: which of the customer's numbers (as written); number: the typed text

    @property
    def canvassing(self) -> bool:
        return self.kind == "contact_id"


def parse_target(body: Mapping[str, Any]) -> DialTarget:
    """The one target of a request body; `InvalidInput` naming the field otherwise."""
    if not isinstance(body, Mapping):
        raise InvalidInput("the request body must be a JSON object", field="body")
    unknown = sorted(set(body) - set(KINDS) - {"phone"})
    if unknown:
        raise InvalidInput(Text("unknown field %(unknown)r", unknown=unknown[0]), field=unknown[0])
    given = [k for k in KINDS if body.get(k) not in (None, "")]
    if len(given) != 1:
        raise InvalidInput(
            "name exactly one target: customer_id, ticket_id, callback_id, contact_id or number",
            field=given[1] if len(given) > 1 else "target",
        )
    kind = given[0]
    phone = body.get("phone")
    if phone not in (None, "") and kind not in ("customer_id", "ticket_id"):
        raise InvalidInput("phone goes with customer_id or ticket_id only", field="phone")
    if phone not in (None, "") and (not isinstance(phone, str) or len(phone) > 40):
        raise InvalidInput("phone must be a phone number of the customer", field="phone")
    if kind == "number":
        number = body["number"]
        if not isinstance(number, str) or len(number) > 40:
            raise InvalidInput("number must be a phone number (text)", field="number")
        return DialTarget("number", 0, number)
    value = body[kind]
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidInput(Text("%(kind)s must be a number", kind=kind), field=kind)
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise InvalidInput(Text("%(kind)s must be a positive number", kind=kind), field=kind, value=text[:20])
    return DialTarget(kind, int(text), phone or "")


def choose_phone(phones: Sequence[str], wanted: str, normalize: Callable[[str], str], owner: str) -> str:
    """The E.164 number to dial among a customer's `phones`: the first when `wanted` is empty,
    else `wanted` (any writing) if it is one of them."""
    if not phones:
        raise NoPhoneNumber(f"{owner} has no phone number to call", field="phone")
    if not wanted:
        return phones[0]
    e164 = normalize(wanted)
    if e164 not in phones:
        raise InvalidInput(Text("%(wanted)r is not a number of %(owner)s", wanted=wanted, owner=owner), field="phone")
    return e164


def callback_target(callback_id: int, holder: str, queue: str, username: str, my_queues: Iterable[str]) -> Target:
    """A queue callback belongs to the agent who holds it and to its queue; for an agent, a
    callback of a queue they work is theirs too."""
    agents = {holder} | ({username} if queue in set(my_queues) else set())
    return Target.of("callback", callback_id, agents=agents, queues=[queue])


def refusal_message(failed: Sequence[Any]) -> str:
    """What the desk shows when the engine forbids a campaign call: each failed rule with its
    explanation (`failed`: the decision's failed RuleOutcome's)."""
    parts = [Text("%(rule)s: %(explanation)s", rule=r.rule, explanation=r.explanation) for r in failed]
    return Text(
        "the compliance engine forbids this call now (%(reasons)s)",
        reasons=join("; ", parts) if parts else Text("undetermined"),
    )


# --- the outbound call record of a customer-service call ---------------------------------------


@dataclass
class DialedCall:
    uniqueid: str  # the agent's leg (the Originate's channel id)
    agent: str
    interface: str
    number: str  # E.164, the customer's
    customer_id: int | None
    started_at: datetime
    target: str = ""  # "customer:3", "ticket:5", "callback:2", "number"
    agent_answered: bool = False
    record: CallRecord | None = None


class DialedCalls:
    """The customer-service calls placed from desks, followed on the intake: the record opens
    when the call is placed, the customer's answer (a channel of the same linkedid going up)
    stamps it, the agent's leg hanging up (or a failed Originate, or a resync without it) ends
    it. Emits `CallRecordChanged` (direction outbound): the calls writer stores it."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.live: dict[str, DialedCall] = {}
        self.by_action: dict[str, str] = {}

    def expect(self, call: DialedCall, action_id: str = "") -> list[ev.Event]:
        data = [("click_to_dial", call.target or "1")]
        if call.customer_id:
            data.append(("customer_id", str(call.customer_id)))
        call.record = CallRecord(
            uniqueid=call.uniqueid,
            linkedid=call.uniqueid,
            channel=call.interface,
            caller_number=call.number,
            queue="",
            entered_queue_at=call.started_at,
            direction="outbound",
            agent=call.agent,
            data=tuple(sorted(data)),
        )
        self.live[call.uniqueid] = call
        if action_id:
            self.by_action[action_id] = call.uniqueid
        return [CallRecordChanged(record=call.record)]

    def failed(self, uniqueid: str, reason: str) -> list[ev.Event]:
        """The call failed after it was placed: the record ends as failed."""
        call = self.live.get(uniqueid)
        return self._end(call, None, reason[:64], outcome="failed") if call else []

    def forget(self, uniqueid: str) -> None:
        """The Originate was refused at once: nothing was dialled, nothing to record."""
        self.live.pop(uniqueid, None)
        for action, known in list(self.by_action.items()):
            if known == uniqueid:
                del self.by_action[action]

    def apply(self, event: ev.Event) -> list[ev.Event]:
        if isinstance(event, ev.ChannelAnswered):
            return self._answered(event)
        if isinstance(event, ev.ChannelHungup):
            call = self.live.get(event.uniqueid)
            return self._end(call, event.cause, event.cause_text or "hangup") if call else []
        if isinstance(event, ev.OriginateResponded):
            uniqueid = self.by_action.get(event.action_id) or event.uniqueid
            call = self.live.get(uniqueid)
            if call is None or event.success:
                return []
            return self._end(call, None, f"agent phone not answered (reason {event.reason})", outcome="failed")
        if isinstance(event, ev.PbxSnapshot):
            alive = {c.uniqueid for c in event.channels}
            out: list[ev.Event] = []
            for call in list(self.live.values()):
                if call.uniqueid not in alive and call.agent_answered:
                    out += self._end(call, None, "vanished during outage")
            return out
        return []

    def _answered(self, e: ev.ChannelAnswered) -> list[ev.Event]:
        call = self.live.get(e.uniqueid)
        if call is not None:
            call.agent_answered = True
            return []
        call = self.live.get(e.linkedid) if e.linkedid else None
        if call is None or call.record is None or call.record.answered_at is not None:
            return []
        now = self.clock.now()
        call.record = replace(
            call.record,
            answered_at=now,
            outcome="answered",
            wait_seconds=max(0, int((now - call.started_at).total_seconds())),
        )
        return [CallRecordChanged(record=call.record)]

    def _end(self, call: DialedCall, cause: int | None, reason: str, outcome: str = "") -> list[ev.Event]:
        self.forget(call.uniqueid)
        record = call.record
        if record is None:
            return []
        now = self.clock.now()
        answered = record.answered_at is not None
        record = replace(
            record,
            ended_at=now,
            outcome="answered" if answered else (outcome or "no_answer"),
            wait_seconds=record.wait_seconds
            if record.wait_seconds is not None
            else max(0, int((now - call.started_at).total_seconds())),
            talk_seconds=max(0, int((now - record.answered_at).total_seconds())) if answered else 0,
            hangup_cause=cause,
            hangup_reason=reason[:64],
        )
        return [CallRecordChanged(record=record, ended=True)]

    _handlers = (ev.ChannelAnswered, ev.ChannelHungup, ev.OriginateResponded, ev.PbxSnapshot)

    def register(self, intake) -> None:
        for event_type in self._handlers:
            intake.add_handler(event_type, self.apply)
