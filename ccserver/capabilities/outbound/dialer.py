"""The dialer's pure rules and live state: attempts and their outcomes, retries, caller IDs,
calling-window boundaries, what blocks a whole campaign. No I/O, no clock of its own.

`AttemptTracker` follows each call the dialer placed through the events Asterisk reports
(OriginateResponse, the dialer dialplan's UserEvents, queue events, hangup) and emits
`DialAttemptChanged` for every step; the service stores them and schedules the retries.

How a call is recognised: the dialer originates with ``ChannelId`` set, so the uniqueid of the
customer's channel (the agent's channel in preview mode) is known before Asterisk creates it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from ...core import events as ev
from ...core.errors import InvalidInput
from ...core.text import Text, with_texts
from .compliance import BLOCTEL_MAX_AGE, Decision, Regime, regime_on
from .numbers import FrenchNumber, check_caller_id, try_parse_number
from .windows import AREA_INDEX, AREAS, WINDOWS, Area, is_open, next_opening

QUEUE_PREFIX = "camp-"
MODES = ("preview", "progressive", "predictive")


def queue_name(campaign_id: int) -> str:
    return f"{QUEUE_PREFIX}{campaign_id}"


def campaign_of_queue(queue: str) -> int | None:
    if queue.startswith(QUEUE_PREFIX) and queue[len(QUEUE_PREFIX) :].isdigit():
        return int(queue[len(QUEUE_PREFIX) :])
    return None


class Outcome(str, enum.Enum):
    DIALING = "dialing"
    ANSWERED = "answered"  # a person answered, waiting for an agent (or AMD running)
    CONNECTED = "connected"  # bridged to an agent
    COMPLETED = "completed"  # connected, then hung up
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    FAILED = "failed"
    MACHINE = "machine"  # answering machine (AMD)
    ABANDONED = "abandoned"  # answered, no agent free within 2 s: message played
    HANGUP = "hangup"  # answered, hung up before an agent took the call
    NOT_DIALED = "not_dialed"  # never reached the network (agent leg failed, originate refused)

    @property
    def final(self) -> bool:
        return self not in (Outcome.DIALING, Outcome.ANSWERED, Outcome.CONNECTED)


# OriginateResponse "Reason": Asterisk's AST_CONTROL_* code of the last state of the call. A
# PJSIP "486 Busy Here" comes back as 0 (failure) followed by a Hangup with cause 17: for 0 and 1
# the hangup cause tells (the tracker waits a moment for it).
ORIGINATE_REASONS = {3: Outcome.NO_ANSWER, 5: Outcome.BUSY, 8: Outcome.CONGESTION}
ORIGINATE_ANSWERED = 4
CAUSE_WAIT_SECONDS = 2.0
# Dial()'s DIALSTATUS (preview mode: the agent's channel dials the customer)
DIAL_STATUSES = {
    "ANSWER": Outcome.CONNECTED,
    "BUSY": Outcome.BUSY,
    "NOANSWER": Outcome.NO_ANSWER,
    "CANCEL": Outcome.NO_ANSWER,
    "CONGESTION": Outcome.CONGESTION,
    "CHANUNAVAIL": Outcome.CONGESTION,
    "DONTCALL": Outcome.FAILED,
    "TORTURE": Outcome.FAILED,
    "INVALIDARGS": Outcome.NOT_DIALED,
}
# Q.850 causes of a call that ended before an answer
HANGUP_CAUSES = {
    16: Outcome.NO_ANSWER,
    17: Outcome.BUSY,
    18: Outcome.NO_ANSWER,
    19: Outcome.NO_ANSWER,
    21: Outcome.NO_ANSWER,
    31: Outcome.NO_ANSWER,
    1: Outcome.FAILED,
    3: Outcome.FAILED,
    27: Outcome.CONGESTION,
    34: Outcome.CONGESTION,
    38: Outcome.CONGESTION,
    41: Outcome.CONGESTION,
    42: Outcome.CONGESTION,
}
# outcomes that did not reach the consumer: not counted by the frequency rules
NOT_SOLICITATIONS = frozenset({Outcome.NOT_DIALED.value})


# --- retries -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    busy: timedelta = timedelta(minutes=15)
    no_answer: timedelta = timedelta(minutes=120)
    machine: timedelta = timedelta(minutes=240)
    abandoned: timedelta = timedelta(minutes=60)
    congestion: timedelta = timedelta(minutes=5)
    max_attempts: int = 4

    def delay(self, outcome: Outcome) -> timedelta | None:
        """None: no retry (the contact was reached)."""
        return {
            Outcome.BUSY: self.busy,
            Outcome.NO_ANSWER: self.no_answer,
            Outcome.MACHINE: self.machine,
            Outcome.ABANDONED: self.abandoned,
            Outcome.HANGUP: self.abandoned,
            Outcome.CONGESTION: self.congestion,
            Outcome.FAILED: self.congestion,
            Outcome.NOT_DIALED: timedelta(0),
        }.get(outcome)


@dataclass(frozen=True)
class ContactStep:
    """What becomes of a contact after an attempt or a refused decision."""

    status: str  # pending | done | exhausted | blocked
    next_attempt_at: datetime | None = None
    blocked_rule: str = ""
    reason: str = ""


def after_attempt(policy: RetryPolicy, outcome: Outcome, attempts: int, ended_at: datetime) -> ContactStep:
    """`attempts`: attempts made so far, this one included (a not-dialed one is not counted)."""
    if outcome in (Outcome.CONNECTED, Outcome.COMPLETED):
        return ContactStep("done", reason="reached")
    delay = policy.delay(outcome)
    if delay is None:
        return ContactStep("done", reason=outcome.value)
    if outcome is not Outcome.NOT_DIALED and attempts >= policy.max_attempts:
        return ContactStep("exhausted", reason=f"{attempts} attempts")
    return ContactStep("pending", next_attempt_at=ended_at + delay, reason=f"retry after {outcome.value}")


# rules whose failure ends the dialing of the contact until its data changes (a consent is
# recorded, the number leaves the do-not-call list, a new Bloctel list says otherwise...)
BLOCKING_RULES = ("number.invalid", "timezone.known", "dnc.company_list", "consent.required", "bloctel.opposed")


def after_refusal(decision: Decision, area: Area | None, now: datetime) -> ContactStep:
    """A decision forbade the call: block the contact, or try again when it may be allowed."""
    failed = [r.rule for r in decision.failed]
    for rule in BLOCKING_RULES:
        if rule in failed:
            return ContactStep("blocked", blocked_rule=rule, reason=rule)
    if any(rule.startswith("hours.") for rule in failed) and area is not None:
        again = next_opening(area, now) or now + timedelta(days=1)
        if any(not rule.startswith("hours.") for rule in failed):
            again = max(again, now + timedelta(days=1))
        return ContactStep("pending", next_attempt_at=again, reason=",".join(failed))
    if any(rule.startswith("frequency.") for rule in failed):
        return ContactStep("pending", next_attempt_at=now + timedelta(days=1), reason=",".join(failed))
    # bloctel.list_stale, caller_id.npv: the campaign's problem; check again later
    return ContactStep("pending", next_attempt_at=now + timedelta(hours=1), reason=",".join(failed))


# --- caller IDs --------------------------------------------------------------------------------
OVERSEAS_NPV = {
    "GP": "9475",
    "BL": "9475",
    "MF": "9475",
    "GP*": "9475",
    "GF": "9476",
    "MQ": "9477",
    "RE": ("9478", "9479"),
    "YT": ("9478", "9479"),
    "RE|YT": ("9478", "9479"),
}


def check_caller_id_pool(numbers: Iterable[str]) -> list[str]:
    """The pool in national form; InvalidInput names the first number that is not an NPV."""
    pool: list[str] = []
    for index, text in enumerate(numbers):
        check = check_caller_id(str(text), automated=True)
        if not check.allowed:
            raise InvalidInput(check.explanation, field=f"caller_ids[{index}]", value=text)
        national = try_parse_number(str(text)).national  # type: ignore[union-attr]
        if national not in pool:
            pool.append(national)
    return pool


def choose_caller_id(pool: list[str], area: str, counter: int) -> str | None:
    """A caller ID of the pool for a contact of `area` (round robin, overseas numbers prefer
    their territory's NPV range)."""
    if not pool:
        return None
    prefixes = OVERSEAS_NPV.get(area)
    if prefixes:
        local = [n for n in pool if n[1:].startswith(prefixes)]
        if local:
            return local[counter % len(local)]
    metro = [n for n in pool if not n[1:].startswith("947")]
    candidates = metro or pool
    return candidates[counter % len(candidates)]


# --- dial strings ----------------------------------------------------------------------------
def dial_channel(template: str, number: FrenchNumber | str) -> str:
    """``PJSIP/customers/<template>`` with {number} (national), {e164} or {digits} (E.164
    without '+') filled in."""
    if not template:
        raise InvalidInput(
            "outbound.dial_uri is not set: the dialer does not know where to send calls", field="outbound.dial_uri"
        )
    parsed = number if isinstance(number, FrenchNumber) else try_parse_number(number)
    if parsed is None:
        raise InvalidInput("not a French number", field="number", value=str(number))
    try:
        target = template.format(number=parsed.national, e164=parsed.e164, digits=parsed.e164[1:])
    except (KeyError, IndexError, ValueError):
        raise InvalidInput(
            "outbound.dial_uri may only use {number}, {e164} and {digits}", field="outbound.dial_uri", value=template
        ) from None
    return target if target.startswith(("PJSIP/", "Local/")) else f"PJSIP/customers/{target}"


def dialplan_value(text: str, limit: int = 80) -> str:
    """A value safe inside AMI variables and UserEvent arguments (no , | ; or control chars)."""
    cleaned = "".join(ch if ch.isprintable() and ch not in ",|;\"'\\$[]{}()" else " " for ch in str(text))
    return " ".join(cleaned.split())[:limit]


# --- calling windows -------------------------------------------------------------------------
def window_change(area: Area, at: datetime) -> datetime | None:
    """The next moment the area opens (if closed) or closes (if open)."""
    at = at.astimezone(UTC)
    if not is_open(area, at):
        return next_opening(area, at)
    ends = []
    for zone in area.zones:
        local = at.astimezone(zone.tzinfo)
        t = local.time().replace(tzinfo=None)
        for start, end in WINDOWS:
            if start <= t < end:
                ends.append(datetime.combine(local.date(), end, zone.tzinfo).astimezone(UTC))
    return min(ends) if ends else None


def open_areas(codes: Iterable[str], at: datetime) -> set[str]:
    return {code for code in codes if code in AREA_INDEX and is_open(AREAS[AREA_INDEX[code]], at)}


def next_window_change(codes: Iterable[str], at: datetime) -> datetime | None:
    changes = [window_change(AREAS[AREA_INDEX[c]], at) for c in codes if c in AREA_INDEX]
    changes = [c for c in changes if c is not None]
    return min(changes) if changes else None


# --- what blocks a whole campaign ----------------------------------------------------------------
@dataclass(frozen=True)
class Blocker:
    rule: str
    explanation: str  # a Text

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, **with_texts({"explanation": self.explanation})}


def campaign_blockers(
    at: datetime,
    *,
    caller_ids: list[str],
    mode: str,
    dial_configured: bool,
    bloctel_dates: Iterable[datetime | None],
    all_contract: bool = False,
) -> list[Blocker]:
    """Campaign-level reasons not to dial at all (the per-call engine checks the rest)."""
    out: list[Blocker] = []
    if not dial_configured:
        out.append(Blocker("dialer.not_configured", Text("outbound.dial_uri is not set: no trunk to dial through")))
    if mode != "preview" and not caller_ids:
        out.append(
            Blocker(
                "caller_id.npv",
                Text("the caller ID pool is empty: an automated dialer must present an NPV number (ARCEP 2022-1583)"),
            )
        )
    for number in caller_ids:
        check = check_caller_id(number, automated=mode != "preview")
        if not check.allowed:
            out.append(Blocker("caller_id.npv", check.explanation))
    today = at.astimezone(UTC).date()
    if regime_on(today) is Regime.BLOCTEL and not all_contract:
        dates = [d for d in bloctel_dates if d is not None]
        latest = max(dates) if dates else None
        if latest is None:
            out.append(
                Blocker(
                    "bloctel.list_stale",
                    Text("no Bloctel list nor scrub on record: scrub the file before calling (30 days at most)"),
                )
            )
        elif at - latest > BLOCTEL_MAX_AGE:
            out.append(
                Blocker(
                    "bloctel.list_stale",
                    Text(
                        "the newest Bloctel list is of %(day)s, %(days)s days ago: re-scrub before calling",
                        day=f"{latest:%Y-%m-%d}",
                        days=(at - latest).days,
                    ),
                )
            )
    return out


# --- live attempts ----------------------------------------------------------------------------
@dataclass(slots=True)
class DialAttemptChanged(ev.DomainEvent):
    """A dial attempt moved on; `final` once its outcome is known for good."""

    topic: ClassVar[str] = "dial_attempt_changed"
    attempt_id: int = 0
    campaign_id: int = 0
    contact_id: int = 0
    mode: str = ""
    number: str = ""
    uniqueid: str = ""
    outcome: str = ""
    final: bool = False
    started_at: datetime | None = None
    answered_at: datetime | None = None
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    agent: str = ""
    amd_result: str = ""
    hangup_cause: int | None = None
    talk_seconds: int | None = None
    human: bool = False  # a person answered (AMD said so, or no AMD)


@dataclass
class LiveAttempt:
    attempt_id: int
    campaign_id: int
    contact_id: int
    mode: str
    number: str
    action_id: str
    uniqueid: str
    started_at: datetime
    amd: bool = False
    outcome: Outcome = Outcome.DIALING
    answered_at: datetime | None = None
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    agent: str = ""
    agent_ringing: bool = False
    amd_result: str = ""
    hangup_cause: int | None = None
    talk_seconds: int | None = None
    originate_done: bool = False
    failed_at: float | None = None  # monotonic time of a failed Originate awaiting the cause
    hung_up: bool = False
    human: bool = False

    def event(self, final: bool) -> DialAttemptChanged:
        return DialAttemptChanged(
            attempt_id=self.attempt_id,
            campaign_id=self.campaign_id,
            contact_id=self.contact_id,
            mode=self.mode,
            number=self.number,
            uniqueid=self.uniqueid,
            outcome=self.outcome.value,
            final=final,
            started_at=self.started_at,
            answered_at=self.answered_at,
            connected_at=self.connected_at,
            ended_at=self.ended_at,
            agent=self.agent,
            amd_result=self.amd_result,
            hangup_cause=self.hangup_cause,
            talk_seconds=self.talk_seconds,
            human=self.human,
        )


class AttemptTracker:
    """Live attempts, from the events of their calls. `now` comes from the caller's clock."""

    def __init__(self, clock, monotonic: Callable[[], float] | None = None) -> None:
        self.clock = clock
        self._monotonic = monotonic or (lambda: 0.0)
        self.live: dict[int, LiveAttempt] = {}
        self._by_action: dict[str, int] = {}
        self._by_uniqueid: dict[str, int] = {}

    def expect(self, attempt: LiveAttempt) -> None:
        """Called before the Originate is sent."""
        self.live[attempt.attempt_id] = attempt
        self._by_action[attempt.action_id] = attempt.attempt_id
        self._by_uniqueid[attempt.uniqueid] = attempt.attempt_id

    def forget(self, attempt_id: int) -> LiveAttempt | None:
        attempt = self.live.pop(attempt_id, None)
        if attempt is not None:
            self._by_action.pop(attempt.action_id, None)
            self._by_uniqueid.pop(attempt.uniqueid, None)
        return attempt

    def in_flight(self, campaign_id: int) -> int:
        """Calls dialing, or answered and not yet offered to an agent (preview excluded)."""
        return sum(
            1
            for a in self.live.values()
            if a.campaign_id == campaign_id
            and a.mode != "preview"
            and (a.outcome is Outcome.DIALING or (a.outcome is Outcome.ANSWERED and not a.agent_ringing))
        )

    def dialing(self, campaign_id: int) -> int:
        return sum(
            1
            for a in self.live.values()
            if a.campaign_id == campaign_id and a.mode != "preview" and a.outcome is Outcome.DIALING
        )

    def _find(self, uniqueid: str = "", action_id: str = "", attempt: str = "") -> LiveAttempt | None:
        attempt_id = (self._by_uniqueid.get(uniqueid) if uniqueid else None) or (
            self._by_action.get(action_id) if action_id else None
        )
        if attempt_id is None and attempt.isdigit():
            attempt_id = int(attempt)
        return self.live.get(attempt_id) if attempt_id is not None else None

    def _finish(self, a: LiveAttempt, outcome: Outcome | None = None) -> list[ev.Event]:
        if outcome is not None:
            a.outcome = outcome
        if a.outcome is Outcome.CONNECTED:
            a.outcome = Outcome.COMPLETED
        elif a.outcome is Outcome.ANSWERED:
            a.outcome = Outcome.HANGUP
        elif a.outcome is Outcome.DIALING:
            a.outcome = HANGUP_CAUSES.get(
                a.hangup_cause or 0, Outcome.FAILED if a.failed_at is not None else Outcome.NO_ANSWER
            )
        a.ended_at = a.ended_at or self.clock.now()
        self.forget(a.attempt_id)
        return [a.event(final=True)]

    # --- events ------------------------------------------------------------------------------
    def apply(self, event: ev.Event) -> list[ev.Event]:
        handler = self._handlers.get(type(event))
        return handler(self, event) if handler else []

    def _originate(self, e: ev.OriginateResponded) -> list[ev.Event]:
        a = self._find(uniqueid=e.uniqueid, action_id=e.action_id)
        if a is None:
            return []
        a.originate_done = True
        if e.success and e.reason == ORIGINATE_ANSWERED:
            if a.mode == "preview":
                return []  # the agent answered; the customer is being dialed
            if a.outcome is Outcome.DIALING:
                a.outcome = Outcome.ANSWERED
                a.answered_at = self.clock.now()
                a.human = not a.amd
                return [a.event(final=False)]
            return []
        if a.mode == "preview":
            return self._finish(a, Outcome.NOT_DIALED)
        if e.reason in ORIGINATE_REASONS:
            return self._finish(a, ORIGINATE_REASONS[e.reason])
        if a.hung_up:
            return self._finish(a)  # by the hangup cause
        a.failed_at = self._monotonic()  # the Hangup with its cause should follow
        return []

    def _dialer(self, e: ev.DialerReported) -> list[ev.Event]:
        a = self._find(uniqueid=e.uniqueid, attempt=e.attempt)
        if a is None:
            return []
        if e.stage == "amd":
            a.amd_result = e.result[:16]
            if e.result == "MACHINE":
                a.outcome = Outcome.MACHINE
            else:
                a.human = True
            return [a.event(final=False)]
        if e.stage == "abandoned" and a.outcome is Outcome.ANSWERED:
            a.outcome = Outcome.ABANDONED
            return [a.event(final=False)]
        if e.stage == "dialresult":  # preview: the customer's leg
            outcome = DIAL_STATUSES.get(e.result, Outcome.FAILED)
            if a.outcome is Outcome.CONNECTED:
                return []  # Dial() returning after the call: the hangup ends it
            if outcome is Outcome.CONNECTED:
                now = self.clock.now()
                a.outcome, a.answered_at, a.connected_at, a.human = outcome, now, now, True
                return [a.event(final=False)]
            a.outcome = outcome
            return [] if not a.hung_up else self._finish(a)
        return []

    def _agent_called(self, e: ev.AgentCalled) -> list[ev.Event]:
        a = self._find(uniqueid=e.uniqueid)
        if a is None:
            return []
        a.agent_ringing = True
        a.agent = e.member_name or e.interface
        return []

    def _ring_no_answer(self, e: ev.AgentRingNoAnswer) -> list[ev.Event]:
        a = self._find(uniqueid=e.uniqueid)
        if a is not None and a.outcome is Outcome.ANSWERED:
            a.agent_ringing = False
        return []

    def _connected(self, e: ev.AgentConnected) -> list[ev.Event]:
        a = self._find(uniqueid=e.uniqueid)
        if a is None:
            return []
        a.outcome = Outcome.CONNECTED
        a.connected_at = self.clock.now()
        a.agent = e.member_name or e.interface
        a.human = True
        return [a.event(final=False)]

    def _completed(self, e: ev.AgentCompleted) -> list[ev.Event]:
        a = self._find(uniqueid=e.uniqueid)
        if a is not None:
            a.talk_seconds = e.talk_time
        return []

    def _hungup(self, e: ev.ChannelHungup) -> list[ev.Event]:
        a = self._find(uniqueid=e.uniqueid)
        if a is None:
            return []
        a.hung_up = True
        a.hangup_cause = e.cause
        a.ended_at = self.clock.now()
        if a.outcome is Outcome.DIALING and not a.originate_done:
            return []  # the OriginateResponse tells why (busy, no answer...)
        if a.mode == "preview" and a.outcome is Outcome.DIALING:
            return self._finish(a, Outcome.NO_ANSWER)
        return self._finish(a)

    def settle(self) -> list[ev.Event]:
        """Failed Originates whose Hangup never came (no channel was created): failed."""
        now = self._monotonic()
        out: list[ev.Event] = []
        for a in list(self.live.values()):
            if a.failed_at is not None and now - a.failed_at >= CAUSE_WAIT_SECONDS:
                out += self._finish(a)
        return out

    def expire(self, older_than: datetime) -> list[ev.Event]:
        """Attempts whose end never came (events lost during an AMI outage): closed by what is
        known."""
        out: list[ev.Event] = []
        for a in list(self.live.values()):
            if a.started_at < older_than and (a.hung_up or a.outcome is Outcome.DIALING):
                out += self._finish(a)
        return out

    def reconcile(self, snapshot: ev.PbxSnapshot) -> list[ev.Event]:
        """After a resync: attempts whose channel Asterisk no longer has are over."""
        alive = {c.uniqueid for c in snapshot.channels}
        out: list[ev.Event] = []
        for a in list(self.live.values()):
            if a.uniqueid not in alive and (a.originate_done or a.hung_up):
                out += self._finish(a)
        return out

    _handlers: ClassVar[dict[type, Any]] = {}


AttemptTracker._handlers = {
    ev.OriginateResponded: AttemptTracker._originate,
    ev.DialerReported: AttemptTracker._dialer,
    ev.AgentCalled: AttemptTracker._agent_called,
    ev.AgentRingNoAnswer: AttemptTracker._ring_no_answer,
    ev.AgentConnected: AttemptTracker._connected,
    ev.AgentCompleted: AttemptTracker._completed,
    ev.ChannelHungup: AttemptTracker._hungup,
    ev.PbxSnapshot: AttemptTracker.reconcile,
}


__all__ = [
    "AttemptTracker",
    "Blocker",
    "ContactStep",
    "DialAttemptChanged",
    "LiveAttempt",
    "Outcome",
    "RetryPolicy",
    "after_attempt",
    "after_refusal",
    "campaign_blockers",
    "check_caller_id_pool",
    "choose_caller_id",
    "dial_channel",
    "dialplan_value",
    "next_window_change",
    "open_areas",
    "queue_name",
    "window_change",
]
