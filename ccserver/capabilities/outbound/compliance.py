"""The compliance engine: may this professional canvass this consumer at this moment?

Pure: ``decide(request, history, facts, at)`` only reads its arguments (no clock, no I/O). It
evaluates every rule and reports each one — passed, failed, waived, not applicable or
undetermined — with a stable id, an explanation and its legal source, so a decision can be
audited later. A call is allowed only if no rule failed or stayed undetermined.

Rules (French law, consumers):

- ``number.invalid``: the number must be a French consumer-reachable number (not 08 services).
- ``timezone.known``: the consumer's area (time zone, holidays) must be known.
- ``hours.weekday`` / ``hours.holiday`` / ``hours.window``: C. consom. D223-9 al. 1 — Monday to
  Friday, not a public holiday, 10:00-13:00 and 14:00-20:00 local time; al. 2 — waived by the
  consumer's express prior consent to be called outside them.
- ``frequency.4_in_30_days``: D223-9 al. 3 — at most 4 solicitations, unanswered attempts
  included, in any period of 30 calendar days (so: fewer than 4 in the 29 days before the call
  day plus the call day, in the consumer's calendar).
- ``frequency.60_days_after_refusal``: D223-9 al. 3 — after a refusal during a call, no contact
  or attempt before 60 full calendar days have passed: the refusal day does not count (dies a
  quo), the call is allowed again from day R+61, local time.
- ``consent.required``: from 11 August 2026 (loi n° 2025-594 art. 13, C. consom. L223-1 new),
  prior consent, or a call within a current contract and related to its subject.
- ``bloctel.opposed`` / ``bloctel.list_stale``: until 10 August 2026 (C. consom. L223-1 old),
  no canvassing of a number registered on Bloctel except within a current contract; the file must
  have been scrubbed against Bloctel less than 30 days before the call.
- ``dnc.company_list``: the company's own do-not-call list, always enforced.
- ``caller_id.npv``: an automated calling system presents a numéro polyvalent vérifié, never a
  mobile number (ARCEP décision n° 2022-1583).

The regime (Bloctel or consent) is the one in force on the call's date in the consumer's time
zone (Europe/Paris when the area is unknown).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ...core.errors import InvalidInput
from ...core.text import Text, with_texts
from .numbers import KIND_WORDS, FrenchNumber, NumberKind, check_caller_id, try_parse_number
from .windows import Area, check_area, normalize_postcode, resolve_area

CONSENT_REGIME_START = date(2026, 8, 11)  # loi n° 2025-594 du 30 juin 2025, art. 13, III
MAX_ATTEMPTS = 4
ATTEMPT_PERIOD_DAYS = 30
REFUSAL_QUIET_DAYS = 60
BLOCTEL_MAX_AGE = timedelta(days=30)

SOURCE_HOURS = "C. consom. art. D223-9 al. 1-2 (décret n° 2022-1313); C. trav. L3133-1"
SOURCE_FREQ = "C. consom. art. D223-9 al. 3 (décret n° 2022-1313)"
SOURCE_CONSENT = "C. consom. art. L223-1 (loi n° 2025-594 art. 13, from 11 August 2026)"
SOURCE_BLOCTEL = "C. consom. art. L223-1 (version until 10 August 2026)"
SOURCE_DNC = "company do-not-call list (internal policy, consumer's objection)"
SOURCE_CALLER_ID = "ARCEP décision n° 2022-1583 (plan national de numérotation)"
SOURCE_NUMBER = "ARCEP plan national de numérotation"


# the words put in the explanations (translated with them)
_AREA_SOURCES = {"postcode": Text("postcode"), "number": Text("number")}


class Basis(str, enum.Enum):
    CONSENT = "consent"  # the consumer's prior consent to be canvassed is on record
    CONTRACT = "contract"  # call within a current contract and related to its subject
    NONE = "none"


class Regime(str, enum.Enum):
    BLOCTEL = "bloctel"  # opt-out (until 10 August 2026)
    CONSENT = "consent"  # opt-in (from 11 August 2026)


def regime_on(day: date) -> Regime:
    return Regime.CONSENT if day >= CONSENT_REGIME_START else Regime.BLOCTEL


class Status(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"  # the rule would fail but the consumer's consent lifts it
    NOT_APPLICABLE = "not_applicable"
    UNDETERMINED = "undetermined"  # the facts needed are missing: blocks like a failure


@dataclass(frozen=True)
class RuleOutcome:
    rule: str
    status: Status
    explanation: str  # a Text: the web layer shows it in the user's language
    source: str

    @property
    def passed(self) -> bool:
        return self.status in (Status.PASSED, Status.WAIVED, Status.NOT_APPLICABLE)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "passed": self.passed,
            "status": self.status.value,
            **with_texts({"explanation": self.explanation}),
            "source": self.source,
        }


@dataclass(frozen=True)
class Attempt:
    """A past solicitation or attempt by the same professional (all campaigns together)."""

    at: datetime
    refused: bool = False  # the consumer refused the canvassing during this call

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise InvalidInput("attempt times must be timezone-aware (UTC)", field="history.at", value=str(self.at))


@dataclass(frozen=True)
class CallRequest:
    number: str
    postcode: str | None = None
    basis: Basis = Basis.NONE
    outside_hours_consent: bool = False  # express prior consent to calls outside D223-9 hours
    caller_id: str | None = None
    automated: bool = True  # placed by an automated calling system (predictive dialer)


@dataclass(frozen=True)
class OppositionFacts:
    """What the opposition lists say about the number (looked up by the caller)."""

    company_dnc: bool = False
    bloctel_listed: bool | None = None  # None: not looked up
    bloctel_scrubbed_at: datetime | None = None  # when the list used was scrubbed/imported


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[RuleOutcome, ...]
    at: datetime
    timezone: str | None
    local_time: datetime | None
    regime: Regime
    number: FrenchNumber | None = None
    area: Area | None = None
    area_source: str = "unknown"
    basis: Basis = Basis.NONE

    @property
    def failed(self) -> list[RuleOutcome]:
        return [r for r in self.reasons if not r.passed]

    def reason(self, rule: str) -> RuleOutcome:
        for r in self.reasons:
            if r.rule == rule:
                return r
        raise KeyError(rule)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready record, also what the audit trail stores."""
        return {
            "allowed": self.allowed,
            "reasons": [r.as_dict() for r in self.reasons],
            "failed": [r.rule for r in self.failed],
            "timezone": self.timezone,
            "local_time": self.local_time.isoformat() if self.local_time else None,
            "at": self.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "regime": self.regime.value,
            "basis": self.basis.value,
            "number": None
            if self.number is None
            else {"national": self.number.national, "e164": self.number.e164, "kind": self.number.kind.value},
            "area": None
            if self.area is None
            else {"code": self.area.code, "label": self.area.label, "source": self.area_source},
        }


def decide(
    request: CallRequest,
    history: Iterable[Attempt] = (),
    facts: OppositionFacts = OppositionFacts(),
    at: datetime | None = None,
) -> Decision:
    """Evaluate every rule for a call to `request.number` at `at` (timezone-aware)."""
    if at is None:
        raise InvalidInput("the moment of the call is required", field="at")
    if at.tzinfo is None:
        raise InvalidInput("the moment must be timezone-aware (UTC)", field="at", value=str(at))
    at = at.astimezone(UTC)
    postcode = normalize_postcode(request.postcode) if request.postcode else None
    basis = Basis(request.basis)
    reasons: list[RuleOutcome] = []
    add = reasons.append

    number = try_parse_number(request.number)
    if number is None:
        add(
            RuleOutcome(
                "number.invalid",
                Status.FAILED,
                Text("%(number)r is not a number of the French 10-digit plan", number=request.number),
                SOURCE_NUMBER,
            )
        )
    elif number.kind is NumberKind.SPECIAL:
        add(
            RuleOutcome(
                "number.invalid",
                Status.FAILED,
                Text("%(number)s is an 08 service number, not a consumer's line", number=number.national),
                SOURCE_NUMBER,
            )
        )
    else:
        add(
            RuleOutcome(
                "number.invalid",
                Status.PASSED,
                Text(
                    "%(number)s (%(e164)s) is a valid %(kind)s number",
                    number=number.national,
                    e164=number.e164,
                    kind=KIND_WORDS[number.kind.value],
                ),
                SOURCE_NUMBER,
            )
        )

    area, area_source = resolve_area(number, postcode)
    if area is None:
        what = (
            Text(
                "consumer's time zone unknown: postcode %(postcode)s is outside the areas this engine knows",
                postcode=postcode,
            )
            if postcode
            else Text("consumer's time zone unknown: neither a valid number nor a postcode to place the consumer")
        )
        add(RuleOutcome("timezone.known", Status.FAILED, what, SOURCE_HOURS))
    else:
        add(
            RuleOutcome(
                "timezone.known",
                Status.PASSED,
                Text(
                    "%(area)s: %(timezone)s (from the %(source)s)",
                    area=area.label,
                    timezone=area.timezone,
                    source=_AREA_SOURCES.get(area_source, area_source),
                ),
                SOURCE_HOURS,
            )
        )

    tz = ZoneInfo(area.primary.tz) if area else ZoneInfo("Europe/Paris")
    local = at.astimezone(tz)
    today = local.date()
    regime = regime_on(today)

    # --- hours ---------------------------------------------------------------------------
    if area is None:
        for rule in ("hours.weekday", "hours.holiday", "hours.window"):
            add(
                RuleOutcome(
                    rule, Status.UNDETERMINED, Text("cannot be checked: consumer's time zone unknown"), SOURCE_HOURS
                )
            )
    else:
        checks = check_area(area, at)

        def outcome(rule: str, ok: bool, text: Text) -> RuleOutcome:
            if ok:
                return RuleOutcome(rule, Status.PASSED, text, SOURCE_HOURS)
            if request.outside_hours_consent:
                waived = Text(
                    "%(reason)s — waived: the consumer gave express prior consent to calls outside the "
                    "legal days and hours (D223-9 al. 2)",
                    reason=text,
                )
                return RuleOutcome(rule, Status.WAIVED, waived, SOURCE_HOURS)
            return RuleOutcome(rule, Status.FAILED, text, SOURCE_HOURS)

        days = ", ".join(f"{c.local_time:%Y-%m-%d %H:%M} ({c.tz})" for c in checks)
        weekday_ok = all(c.weekday_ok for c in checks)
        add(
            outcome(
                "hours.weekday",
                weekday_ok,
                Text("%(days)s: a weekday", days=days)
                if weekday_ok
                else Text("%(days)s: Saturday or Sunday: no canvassing", days=days),
            )
        )
        hols = [f"{c.holiday} ({c.tz})" for c in checks if c.holiday]
        add(
            outcome(
                "hours.holiday",
                not hols,
                Text("public holiday: %(holidays)s", holidays="; ".join(hols))
                if hols
                else Text("%(days)s: not a public holiday", days=days),
            )
        )
        hours_ok = all(c.hours_ok for c in checks)
        add(
            outcome(
                "hours.window",
                hours_ok,
                Text("%(days)s: within 10:00-13:00 / 14:00-20:00", days=days)
                if hours_ok
                else Text("%(days)s: outside 10:00-13:00 and 14:00-20:00", days=days),
            )
        )

    # --- frequency -----------------------------------------------------------------------
    past = [a for a in history if a.at.astimezone(UTC) <= at]
    add(_four_in_thirty(past, tz, today))
    add(_sixty_days(past, tz, today))

    # --- consent / Bloctel ---------------------------------------------------------------
    if regime is Regime.CONSENT:
        if basis is Basis.CONSENT:
            add(
                RuleOutcome(
                    "consent.required",
                    Status.PASSED,
                    Text(
                        "the consumer's prior consent to canvassing is on record (it must be "
                        "free, specific, informed, unambiguous, revocable and provable)"
                    ),
                    SOURCE_CONSENT,
                )
            )
        elif basis is Basis.CONTRACT:
            add(
                RuleOutcome(
                    "consent.required",
                    Status.NOT_APPLICABLE,
                    Text("exempt: call within a current contract and related to its subject"),
                    SOURCE_CONSENT,
                )
            )
        else:
            add(
                RuleOutcome(
                    "consent.required",
                    Status.FAILED,
                    Text(
                        "since %(start)s canvassing needs the consumer's prior "
                        "consent (or a current contract), and none is on record",
                        start=str(CONSENT_REGIME_START),
                    ),
                    SOURCE_CONSENT,
                )
            )
        for rule in ("bloctel.opposed", "bloctel.list_stale"):
            add(
                RuleOutcome(
                    rule,
                    Status.NOT_APPLICABLE,
                    Text("the Bloctel regime ended on %(day)s", day=str(CONSENT_REGIME_START - timedelta(days=1))),
                    SOURCE_BLOCTEL,
                )
            )
    else:
        add(
            RuleOutcome(
                "consent.required",
                Status.NOT_APPLICABLE,
                Text(
                    "prior consent is required only from %(start)s (Bloctel opposition regime on this date)",
                    start=str(CONSENT_REGIME_START),
                ),
                SOURCE_CONSENT,
            )
        )
        if basis is Basis.CONTRACT:
            for rule in ("bloctel.opposed", "bloctel.list_stale"):
                add(
                    RuleOutcome(
                        rule,
                        Status.NOT_APPLICABLE,
                        Text("exception: call within a current contract related to its subject"),
                        SOURCE_BLOCTEL,
                    )
                )
        else:
            add(_bloctel_opposed(facts))
            add(_bloctel_stale(facts, at))

    # --- company list, caller ID -----------------------------------------------------------
    if facts.company_dnc:
        add(
            RuleOutcome(
                "dnc.company_list",
                Status.FAILED,
                Text("the number is on the company's do-not-call list"),
                SOURCE_DNC,
            )
        )
    else:
        add(
            RuleOutcome(
                "dnc.company_list",
                Status.PASSED,
                Text("the number is not on the company's do-not-call list"),
                SOURCE_DNC,
            )
        )
    if request.caller_id is None:
        add(RuleOutcome("caller_id.npv", Status.NOT_APPLICABLE, Text("no caller ID given"), SOURCE_CALLER_ID))
    else:
        check = check_caller_id(request.caller_id, automated=request.automated)
        add(
            RuleOutcome(
                "caller_id.npv", Status.PASSED if check.allowed else Status.FAILED, check.explanation, SOURCE_CALLER_ID
            )
        )

    return Decision(
        allowed=all(r.passed for r in reasons),
        reasons=tuple(reasons),
        at=at,
        timezone=area.timezone if area else None,
        local_time=local if area else None,
        regime=regime,
        number=number,
        area=area,
        area_source=area_source,
        basis=basis,
    )


def _four_in_thirty(past: Sequence[Attempt], tz: ZoneInfo, today: date) -> RuleOutcome:
    start = today - timedelta(days=ATTEMPT_PERIOD_DAYS - 1)
    days = sorted(a.at.astimezone(tz).date() for a in past)
    recent = [d for d in days if start <= d <= today]
    if len(recent) >= MAX_ATTEMPTS:
        # the call day is free again once the (n-3)-th most recent attempt leaves the window
        pivot = recent[len(recent) - MAX_ATTEMPTS]
        again = pivot + timedelta(days=ATTEMPT_PERIOD_DAYS)
        return RuleOutcome(
            "frequency.4_in_30_days",
            Status.FAILED,
            Text(
                "%(count)s attempts from %(start)s to %(today)s (30 calendar days): a 5th is "
                "forbidden; possible again from %(again)s",
                count=len(recent),
                start=str(start),
                today=str(today),
                again=str(again),
            ),
            SOURCE_FREQ,
        )
    return RuleOutcome(
        "frequency.4_in_30_days",
        Status.PASSED,
        Text(
            "%(count)s attempt(s) from %(start)s to %(today)s (30 calendar days), at most "
            "%(max)s allowed: this would be attempt %(next)s",
            count=len(recent),
            start=str(start),
            today=str(today),
            max=MAX_ATTEMPTS,
            next=len(recent) + 1,
        ),
        SOURCE_FREQ,
    )


def _sixty_days(past: Sequence[Attempt], tz: ZoneInfo, today: date) -> RuleOutcome:
    refusals = [a.at.astimezone(tz).date() for a in past if a.refused]
    if not refusals:
        return RuleOutcome("frequency.60_days_after_refusal", Status.PASSED, Text("no refusal on record"), SOURCE_FREQ)
    last = max(refusals)
    again = last + timedelta(days=REFUSAL_QUIET_DAYS + 1)
    if today < again:
        return RuleOutcome(
            "frequency.60_days_after_refusal",
            Status.FAILED,
            Text(
                "the consumer refused on %(day)s: no contact or attempt before 60 full calendar "
                "days have passed, i.e. before %(again)s",
                day=str(last),
                again=str(again),
            ),
            SOURCE_FREQ,
        )
    return RuleOutcome(
        "frequency.60_days_after_refusal",
        Status.PASSED,
        Text(
            "last refusal on %(day)s: 60 full calendar days passed (allowed from %(again)s)",
            day=str(last),
            again=str(again),
        ),
        SOURCE_FREQ,
    )


def _bloctel_opposed(facts: OppositionFacts) -> RuleOutcome:
    if facts.bloctel_listed is None:
        return RuleOutcome(
            "bloctel.opposed",
            Status.UNDETERMINED,
            Text("the number was not checked against a Bloctel list"),
            SOURCE_BLOCTEL,
        )
    if facts.bloctel_listed:
        return RuleOutcome(
            "bloctel.opposed",
            Status.FAILED,
            Text("the consumer is registered on Bloctel and there is no current contract"),
            SOURCE_BLOCTEL,
        )
    return RuleOutcome(
        "bloctel.opposed", Status.PASSED, Text("not registered on the Bloctel list used"), SOURCE_BLOCTEL
    )


def _bloctel_stale(facts: OppositionFacts, at: datetime) -> RuleOutcome:
    when = facts.bloctel_scrubbed_at
    if when is None:
        return RuleOutcome(
            "bloctel.list_stale",
            Status.FAILED,
            Text("no Bloctel scrub on record: the file must be scrubbed before the campaign"),
            SOURCE_BLOCTEL,
        )
    if when.tzinfo is None:
        raise InvalidInput("the scrub date must be timezone-aware", field="bloctel_scrubbed_at", value=str(when))
    age = at - when.astimezone(UTC)
    if age > BLOCTEL_MAX_AGE:
        return RuleOutcome(
            "bloctel.list_stale",
            Status.FAILED,
            Text(
                "the Bloctel list was scrubbed %(days)s days ago (%(day)s): more than 30 days, re-scrub before calling",
                days=age.days,
                day=f"{when:%Y-%m-%d}",
            ),
            SOURCE_BLOCTEL,
        )
    return RuleOutcome(
        "bloctel.list_stale",
        Status.PASSED,
        Text("Bloctel list scrubbed on %(when)s UTC, within 30 days", when=f"{when:%Y-%m-%d %H:%M}"),
        SOURCE_BLOCTEL,
    )


def parse_history(items: Any, field_name: str = "history") -> list[Attempt]:
    """`[{"at": "ISO-8601", "refused": false}, ...]` -> attempts; InvalidInput names the item."""
    if not isinstance(items, list):
        raise InvalidInput("history must be a JSON list of attempts", field=field_name)
    attempts = []
    for i, item in enumerate(items):
        where = f"{field_name}[{i}]"
        if not isinstance(item, dict) or "at" not in item:
            raise InvalidInput('each attempt is an object {"at": "ISO-8601-UTC", "refused": bool}', field=where)
        at = parse_instant(item["at"], f"{where}.at")
        refused = item.get("refused", False)
        if not isinstance(refused, bool):
            raise InvalidInput("refused must be true or false", field=f"{where}.refused", value=refused)
        attempts.append(Attempt(at=at, refused=refused))
    return attempts


def parse_instant(text: Any, field_name: str = "at", assume_utc: bool = True) -> datetime:
    """ISO-8601 -> aware UTC datetime; InvalidInput otherwise.

    Without an offset the value is taken as UTC (the documented format is ISO-8601 UTC), unless
    `assume_utc` is False.
    """
    if not isinstance(text, str):
        raise InvalidInput("expected an ISO-8601 date-time string", field=field_name, value=text)
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("not an ISO-8601 date-time", field=field_name, value=text) from None
    if value.tzinfo is None:
        if not assume_utc:
            raise InvalidInput("the date-time needs a UTC offset or Z", field=field_name, value=text)
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


__all__ = [
    "Attempt",
    "Basis",
    "CallRequest",
    "Decision",
    "OppositionFacts",
    "Regime",
    "RuleOutcome",
    "Status",
    "decide",
    "parse_history",
    "parse_instant",
    "regime_on",
    "CONSENT_REGIME_START",
]
