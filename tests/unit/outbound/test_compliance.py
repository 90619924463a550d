"""The compliance engine: every rule reported; 4-in-30 and 60-day edges; both regimes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from ccserver.capabilities.outbound.compliance import (
    CONSENT_REGIME_START,
    Attempt,
    Basis,
    CallRequest,
    OppositionFacts,
    Regime,
    Status,
    decide,
    parse_history,
    parse_instant,
    regime_on,
)
from ccserver.core.errors import InvalidInput

UTC = UTC
PARIS = ZoneInfo("Europe/Paris")
REUNION = ZoneInfo("Indian/Reunion")
ALL_RULES = [
    "number.invalid",
    "timezone.known",
    "hours.weekday",
    "hours.holiday",
    "hours.window",
    "frequency.4_in_30_days",
    "frequency.60_days_after_refusal",
    "consent.required",
    "bloctel.opposed",
    "bloctel.list_stale",
    "dnc.company_list",
    "caller_id.npv",
]


def paris(d: date, hh: int = 11, mm: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm), PARIS).astimezone(UTC)


def clean_bloctel(at: datetime) -> OppositionFacts:
    return OppositionFacts(bloctel_listed=False, bloctel_scrubbed_at=at - timedelta(days=3))


def check(
    at: datetime,
    history=(),
    *,
    number="06 12 34 56 78",
    postcode="75001",
    basis=Basis.CONSENT,
    facts=None,
    outside=False,
    caller_id=None,
):
    facts = facts if facts is not None else clean_bloctel(at)
    return decide(
        CallRequest(number=number, postcode=postcode, basis=basis, outside_hours_consent=outside, caller_id=caller_id),
        history,
        facts,
        at,
    )


TUESDAY = date(2026, 9, 15)


def test_a_plain_allowed_call_reports_every_rule():
    d = check(paris(TUESDAY))
    assert d.allowed
    assert [r.rule for r in d.reasons] == ALL_RULES
    assert all(r.explanation and r.source for r in d.reasons)
    assert d.timezone == "Europe/Paris"
    assert d.local_time.isoformat() == "2026-09-15T11:00:00+02:00"
    assert d.regime is Regime.CONSENT
    record = d.as_dict()
    json.dumps(record)
    assert record["failed"] == [] and record["local_time"] == "2026-09-15T11:00:00+02:00"


def test_every_failing_rule_is_reported_not_only_the_first():
    at = paris(date(2026, 9, 19), 22)  # Saturday 22:00
    history = [Attempt(paris(date(2026, 9, 1 + i), 11)) for i in range(4)]
    history.append(Attempt(paris(date(2026, 9, 10)), refused=True))
    d = check(at, history, basis=Basis.NONE, facts=OppositionFacts(company_dnc=True), caller_id="0612345678")
    assert not d.allowed
    assert {r.rule for r in d.failed} == {
        "hours.weekday",
        "hours.window",
        "frequency.4_in_30_days",
        "frequency.60_days_after_refusal",
        "consent.required",
        "dnc.company_list",
        "caller_id.npv",
    }
    assert [r.rule for r in d.reasons] == ALL_RULES


# --- 4 in 30 days ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "days_before,expected",
    [
        ([1, 2, 3], True),  # this call would be the 4th
        ([1, 2, 3, 29], False),  # D-29 is inside the 30 calendar days
        ([1, 2, 3, 30], True),  # D-30 is outside
        ([0, 0, 0, 0], False),  # four already today
        ([0, 0, 0], True),
        ([29, 29, 29, 29], False),
        ([30, 30, 30, 30, 31, 45], True),
        ([5, 10, 15, 20, 25, 28], False),
    ],
)
def test_four_attempts_in_thirty_calendar_days(days_before, expected):
    at = paris(TUESDAY, 15)
    history = [Attempt(paris(TUESDAY - timedelta(days=n), 10, 30)) for n in days_before]
    outcome = check(at, history).reason("frequency.4_in_30_days")
    assert outcome.passed is expected


def test_the_window_is_in_calendar_days_not_in_hours():
    at = paris(TUESDAY, 10, 0)
    # three recent ones, plus one at 23:55 local on D-30: outside although < 30*24 h away
    history = [Attempt(paris(TUESDAY - timedelta(days=n), 11)) for n in (1, 2, 3)]
    late = Attempt(paris(TUESDAY - timedelta(days=30), 23, 55))
    assert check(at, history + [late]).reason("frequency.4_in_30_days").passed
    # and one at 00:05 local on D-29: inside although almost 29 days away
    early = Attempt(paris(TUESDAY - timedelta(days=29), 0, 5))
    assert not check(at, history + [early]).reason("frequency.4_in_30_days").passed


def test_calendar_days_are_the_consumers_own():
    # Réunion (UTC+4): 21:00 UTC on D-30 is already D-29 01:00 local, inside the period
    at = datetime.combine(TUESDAY, time(7, 0), UTC)  # 11:00 in Réunion
    history = [Attempt(at - timedelta(days=n)) for n in (1, 2, 3)]
    edge = Attempt(datetime.combine(TUESDAY - timedelta(days=30), time(21, 0), UTC))
    in_reunion = check(at, history + [edge], postcode="97400")
    in_paris = check(at, history + [edge], postcode="75001")
    assert not in_reunion.reason("frequency.4_in_30_days").passed
    assert in_paris.reason("frequency.4_in_30_days").passed


def test_the_day_it_becomes_possible_again_is_explained():
    history = [Attempt(paris(TUESDAY - timedelta(days=n))) for n in (2, 5, 9, 20)]
    outcome = check(paris(TUESDAY), history).reason("frequency.4_in_30_days")
    assert outcome.status is Status.FAILED
    assert str(TUESDAY - timedelta(days=20) + timedelta(days=30)) in outcome.explanation
    # and it is indeed possible that day
    again = TUESDAY + timedelta(days=10)
    assert check(paris(again), history).reason("frequency.4_in_30_days").passed
    assert not check(paris(again - timedelta(days=1)), history).reason("frequency.4_in_30_days").passed


def test_future_attempts_do_not_count():
    at = paris(TUESDAY)
    history = [Attempt(at + timedelta(hours=1)) for _ in range(5)]
    assert check(at, history).reason("frequency.4_in_30_days").passed


def test_the_limit_holds_for_contract_calls_too():
    at = paris(TUESDAY)
    history = [Attempt(at - timedelta(days=n)) for n in (1, 2, 3, 4)]
    d = check(at, history, basis=Basis.CONTRACT)
    assert not d.allowed and [r.rule for r in d.failed] == ["frequency.4_in_30_days"]


# --- 60 days after a refusal ----------------------------------------------------------------------
REFUSAL = date(2026, 9, 2)  # Wednesday


@pytest.mark.parametrize(
    "days_after,hh,mm,expected",
    [
        (0, 16, 0, False),
        (1, 11, 0, False),
        (30, 11, 0, False),
        (59, 11, 0, False),
        (60, 0, 0, False),
        (60, 19, 59, False),
        (60, 23, 59, False),
        (61, 0, 0, True),
        (61, 11, 0, True),
        (90, 11, 0, True),
    ],
)
def test_sixty_full_calendar_days_after_a_refusal(days_after, hh, mm, expected):
    history = [Attempt(paris(REFUSAL, 15), refused=True)]
    at = paris(REFUSAL + timedelta(days=days_after), hh, mm)
    outcome = check(at, history, outside=True).reason("frequency.60_days_after_refusal")
    assert outcome.passed is expected


def test_the_latest_refusal_counts_and_its_end_is_explained():
    history = [Attempt(paris(date(2026, 6, 1)), refused=True), Attempt(paris(date(2026, 8, 3)), refused=True)]
    outcome = check(paris(TUESDAY), history).reason("frequency.60_days_after_refusal")
    assert outcome.status is Status.FAILED
    assert "2026-10-03" in outcome.explanation  # 3 August + 61 days


def test_refusal_days_are_counted_in_the_consumers_time_zone():
    # refusal at 21:30 UTC on 2 Sept is already 3 Sept in Réunion: the quiet period ends later
    history = [Attempt(datetime(2026, 9, 2, 21, 30, tzinfo=UTC), refused=True)]
    at = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)  # 2 Nov = 2 Sept + 61 days
    assert check(at, history, postcode="75001", outside=True).reason("frequency.60_days_after_refusal").passed
    assert not check(at, history, postcode="97400", outside=True).reason("frequency.60_days_after_refusal").passed


# --- regimes --------------------------------------------------------------------------------------
def test_regime_changes_on_11_august_2026():
    assert CONSENT_REGIME_START == date(2026, 8, 11)
    assert regime_on(date(2026, 8, 10)) is Regime.BLOCTEL
    assert regime_on(date(2026, 8, 11)) is Regime.CONSENT
    assert regime_on(date(2023, 3, 1)) is Regime.BLOCTEL


LAST_BLOCTEL_DAY = date(2026, 8, 10)  # Monday
FIRST_CONSENT_DAY = date(2026, 8, 11)  # Tuesday


@pytest.mark.parametrize(
    "day,basis,listed,allowed,failed",
    [
        (LAST_BLOCTEL_DAY, Basis.NONE, False, True, []),
        (LAST_BLOCTEL_DAY, Basis.NONE, True, False, ["bloctel.opposed"]),
        (LAST_BLOCTEL_DAY, Basis.CONSENT, True, False, ["bloctel.opposed"]),
        (LAST_BLOCTEL_DAY, Basis.CONTRACT, True, True, []),
        (FIRST_CONSENT_DAY, Basis.NONE, False, False, ["consent.required"]),
        (FIRST_CONSENT_DAY, Basis.NONE, True, False, ["consent.required"]),
        (FIRST_CONSENT_DAY, Basis.CONSENT, True, True, []),
        (FIRST_CONSENT_DAY, Basis.CONTRACT, False, True, []),
        (date(2027, 2, 2), Basis.NONE, None, False, ["consent.required"]),
        (date(2025, 2, 4), Basis.NONE, False, True, []),
    ],
)
def test_both_regimes(day, basis, listed, allowed, failed):
    at = paris(day)
    facts = OppositionFacts(bloctel_listed=listed, bloctel_scrubbed_at=at - timedelta(days=1))
    d = check(at, basis=basis, facts=facts)
    assert d.allowed is allowed
    assert [r.rule for r in d.failed] == failed
    assert d.regime is regime_on(day)


def test_bloctel_rules_do_not_apply_in_the_consent_regime():
    d = check(paris(FIRST_CONSENT_DAY), facts=OppositionFacts())
    assert d.reason("bloctel.opposed").status is Status.NOT_APPLICABLE
    assert d.reason("bloctel.list_stale").status is Status.NOT_APPLICABLE
    assert d.reason("consent.required").status is Status.PASSED


def test_consent_rule_does_not_apply_in_the_bloctel_regime():
    d = check(paris(LAST_BLOCTEL_DAY), basis=Basis.NONE)
    assert d.reason("consent.required").status is Status.NOT_APPLICABLE


def test_regime_follows_the_consumers_local_date():
    at = datetime(2026, 8, 10, 21, 30, tzinfo=UTC)  # 23:30 in Paris, 01:30 on 11 Aug in Réunion
    assert check(at, postcode="75001", outside=True).regime is Regime.BLOCTEL
    assert check(at, postcode="97400", outside=True).regime is Regime.CONSENT


@pytest.mark.parametrize(
    "age,passed",
    [
        (timedelta(days=0), True),
        (timedelta(days=29, hours=23), True),
        (timedelta(days=30), True),
        (timedelta(days=30, seconds=1), False),
        (timedelta(days=45), False),
    ],
)
def test_bloctel_list_older_than_30_days_blocks(age, passed):
    at = paris(LAST_BLOCTEL_DAY)
    facts = OppositionFacts(bloctel_listed=False, bloctel_scrubbed_at=at - age)
    d = check(at, basis=Basis.NONE, facts=facts)
    assert d.reason("bloctel.list_stale").passed is passed
    assert d.allowed is passed


def test_no_bloctel_scrub_blocks_and_an_unchecked_number_is_undetermined():
    d = check(paris(LAST_BLOCTEL_DAY), basis=Basis.NONE, facts=OppositionFacts())
    assert d.reason("bloctel.list_stale").status is Status.FAILED
    assert d.reason("bloctel.opposed").status is Status.UNDETERMINED
    assert not d.allowed


# --- company list, caller ID, hours consent ---------------------------------------------------
@pytest.mark.parametrize("day", [LAST_BLOCTEL_DAY, FIRST_CONSENT_DAY])
@pytest.mark.parametrize("basis", list(Basis))
def test_company_do_not_call_list_is_always_enforced(day, basis):
    at = paris(day)
    facts = OppositionFacts(company_dnc=True, bloctel_listed=False, bloctel_scrubbed_at=at - timedelta(days=1))
    d = check(at, basis=basis, facts=facts)
    assert not d.allowed
    assert d.reason("dnc.company_list").status is Status.FAILED


@pytest.mark.parametrize(
    "caller_id,status",
    [
        ("0948123456", Status.PASSED),
        ("01 62 12 34 56", Status.PASSED),
        ("0947812345", Status.PASSED),
        ("0612345678", Status.FAILED),
        ("0145454545", Status.FAILED),
        (None, Status.NOT_APPLICABLE),
    ],
)
def test_caller_id_rule(caller_id, status):
    assert check(paris(TUESDAY), caller_id=caller_id).reason("caller_id.npv").status is status


def test_manual_dialing_may_present_a_geographic_number_but_never_a_mobile():
    at = paris(TUESDAY)
    manual = CallRequest(
        number="0612345678", postcode="75001", basis=Basis.CONSENT, caller_id="0145454545", automated=False
    )
    assert decide(manual, (), clean_bloctel(at), at).allowed
    mobile = CallRequest(
        number="0612345678", postcode="75001", basis=Basis.CONSENT, caller_id="0712345678", automated=False
    )
    assert not decide(mobile, (), clean_bloctel(at), at).allowed


@pytest.mark.parametrize(
    "at,rule",
    [
        (paris(date(2026, 9, 19), 11), "hours.weekday"),  # Saturday
        (paris(date(2026, 11, 11), 11), "hours.holiday"),  # Wednesday, 11 November
        (paris(TUESDAY, 21), "hours.window"),
        (paris(TUESDAY, 13, 30), "hours.window"),
    ],
)
def test_outside_hours_consent_waives_the_hours_rules_only(at, rule):
    assert not check(at).allowed
    assert check(at).reason(rule).status is Status.FAILED
    d = check(at, outside=True)
    assert d.allowed
    assert d.reason(rule).status is Status.WAIVED
    history = [Attempt(at - timedelta(days=n)) for n in (1, 2, 3, 4)]
    assert not check(at, history, outside=True).allowed


@pytest.mark.parametrize(
    "number,postcode,local_day",
    [
        ("0690 12 34 56", None, date(2026, 5, 27)),  # Guadeloupe abolition day (Wednesday)
        ("0690 12 34 56", None, date(2026, 5, 28)),  # Saint-Martin's, unknown from the number
        ("0690 12 34 56", "97110", date(2026, 5, 27)),
        ("0696 12 34 56", None, date(2026, 5, 22)),  # Martinique (Friday)
        ("0694 12 34 56", None, date(2026, 6, 10)),  # Guyane (Wednesday)
        ("0692 12 34 56", None, date(2027, 12, 20)),  # Réunion (Monday)
        ("0639 01 23 45", None, date(2026, 4, 27)),  # Mayotte (Monday)
        ("06 12 34 56 78", "67000", date(2026, 12, 26) + timedelta(days=0)),
        ("06 12 34 56 78", "57000", date(2026, 4, 3)),  # Good Friday
        ("03 87 12 34 56", None, date(2026, 4, 3)),  # unknown department: Alsace-Moselle days too
    ],
)
def test_overseas_and_local_holidays_forbid_the_call(number, postcode, local_day):
    from ccserver.capabilities.outbound.numbers import parse_number
    from ccserver.capabilities.outbound.windows import resolve_area

    area, _ = resolve_area(parse_number(number), postcode)
    at = datetime.combine(local_day, time(11), ZoneInfo(area.zones[0].tz)).astimezone(UTC)
    d = check(at, number=number, postcode=postcode)
    assert d.reason("hours.holiday").status is Status.FAILED
    assert not d.allowed


def test_good_friday_is_a_working_day_in_paris():
    assert check(paris(date(2026, 4, 3)), postcode="75001").allowed


@pytest.mark.parametrize(
    "number,postcode,tz,local",
    [
        ("0692123456", None, "Indian/Reunion", "2026-09-15T11:00:00+04:00"),
        ("0639012345", None, "Indian/Mayotte", "2026-09-15T10:00:00+03:00"),
        ("0690123456", None, "America/Guadeloupe", "2026-09-15T03:00:00-04:00"),
        ("0696123456", None, "America/Martinique", "2026-09-15T03:00:00-04:00"),
        ("0694123456", None, "America/Cayenne", "2026-09-15T04:00:00-03:00"),
        ("0612345678", "97500", "America/Miquelon", "2026-09-15T05:00:00-02:00"),
        ("0612345678", "97133", "America/St_Barthelemy", "2026-09-15T03:00:00-04:00"),
        ("0612345678", "97150", "America/Marigot", "2026-09-15T03:00:00-04:00"),
        ("0612345678", None, "Europe/Paris", "2026-09-15T09:00:00+02:00"),
        ("0947812345", None, "Indian/Reunion|Indian/Mayotte", "2026-09-15T11:00:00+04:00"),
    ],
)
def test_each_overseas_zone_gives_the_consumers_local_time(number, postcode, tz, local):
    at = datetime(2026, 9, 15, 7, 0, tzinfo=UTC)
    d = check(at, number=number, postcode=postcode)
    assert d.timezone == tz
    assert d.local_time.isoformat() == local


def test_postcode_wins_over_the_number():
    at = datetime(2026, 9, 15, 7, 30, tzinfo=UTC)  # 09:30 Paris, 11:30 Réunion
    assert not check(at, number="0692123456", postcode="75001").allowed
    assert check(at, number="0612345678", postcode="97400").allowed


# --- bad or missing facts -------------------------------------------------------------------------
def test_invalid_number_fails_and_leaves_hours_undetermined():
    d = check(paris(TUESDAY), number="12", postcode=None)
    assert d.reason("number.invalid").status is Status.FAILED
    assert d.reason("timezone.known").status is Status.FAILED
    for rule in ("hours.weekday", "hours.holiday", "hours.window"):
        assert d.reason(rule).status is Status.UNDETERMINED
    assert not d.allowed and d.timezone is None and d.local_time is None
    assert [r.rule for r in d.reasons] == ALL_RULES


def test_special_08_numbers_are_not_consumer_lines():
    d = check(paris(TUESDAY), number="0812345678")
    assert d.reason("number.invalid").status is Status.FAILED


def test_postcode_outside_known_areas_forbids():
    d = check(paris(TUESDAY), postcode="98713")
    assert d.reason("timezone.known").status is Status.FAILED
    assert not d.allowed


def test_malformed_postcode_is_invalid_input():
    with pytest.raises(InvalidInput) as exc:
        check(paris(TUESDAY), postcode="75")
    assert exc.value.details["field"] == "postcode"


def test_naive_moment_is_invalid_input():
    with pytest.raises(InvalidInput) as exc:
        decide(CallRequest("0612345678"), (), OppositionFacts(), datetime(2026, 9, 15, 10))
    assert exc.value.details["field"] == "at"


def test_parse_history_names_the_bad_item():
    good = parse_history([{"at": "2026-09-01T10:00:00Z"}, {"at": "2026-09-02T10:00:00+02:00", "refused": True}])
    assert good[1].refused and good[1].at == datetime(2026, 9, 2, 8, 0, tzinfo=UTC)
    for bad, field in [
        ({"x": 1}, "history"),
        ([{"at": "nope"}], "history[0].at"),
        ([{"at": "2026-09-01T10:00Z"}, {"at": "2026-09-01T10:00Z", "refused": "yes"}], "history[1].refused"),
        ([{"at": 5}], "history[0].at"),
        (["x"], "history[0]"),
    ]:
        with pytest.raises(InvalidInput) as exc:
            parse_history(bad)
        assert exc.value.details["field"] == field


def test_parse_instant_takes_utc_when_no_offset_is_written():
    assert parse_instant("2026-09-15T10:00:00") == datetime(2026, 9, 15, 10, tzinfo=UTC)
    assert parse_instant("2026-09-15T12:00:00+02:00") == datetime(2026, 9, 15, 10, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        parse_instant("2026-09-15T10:00:00", assume_utc=False)
