"""Calling windows: every boundary minute, both DST changes, every 2026-2027 holiday, each
overseas zone, postcode and number to area, vectorized == scalar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pytest

from ccserver.capabilities.outbound.numbers import parse_number
from ccserver.capabilities.outbound.windows import (
    AREA_INDEX,
    AREAS,
    UNKNOWN_AREA,
    area_codes_for,
    area_for_number,
    area_for_postcode,
    check_area,
    easter_sunday,
    holidays_of,
    is_open,
    next_opening,
    open_mask,
    open_table,
)
from ccserver.core.errors import InvalidInput

UTC = UTC


def local(area_code: str, day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """The UTC instant of a local wall-clock time in the area's (first) time zone."""
    tz = ZoneInfo(AREAS[AREA_INDEX[area_code]].zones[0].tz)
    return datetime.combine(day, time(hh, mm, ss), tz).astimezone(UTC)


def area(code: str):
    return AREAS[AREA_INDEX[code]]


SINGLE_ZONE_AREAS = [a.code for a in AREAS if len(a.zones) == 1]
TUESDAY = date(2026, 3, 3)  # a working day everywhere

BOUNDARIES = [
    ((9, 59, 59), False),
    ((10, 0, 0), True),
    ((10, 0, 1), True),
    ((12, 59, 0), True),
    ((12, 59, 59), True),
    ((13, 0, 0), False),
    ((13, 30, 0), False),
    ((13, 59, 59), False),
    ((14, 0, 0), True),
    ((19, 59, 0), True),
    ((19, 59, 59), True),
    ((20, 0, 0), False),
    ((8, 0, 0), False),
    ((21, 0, 0), False),
    ((0, 0, 0), False),
]


@pytest.mark.parametrize("code", SINGLE_ZONE_AREAS)
@pytest.mark.parametrize("hms,expected", BOUNDARIES)
def test_every_boundary_minute_in_every_zone(code, hms, expected):
    at = local(code, TUESDAY, *hms)
    assert is_open(area(code), at) is expected
    [check] = check_area(area(code), at)
    assert check.local_time.time() == time(*hms)


@pytest.mark.parametrize("code", SINGLE_ZONE_AREAS)
@pytest.mark.parametrize("day", [date(2026, 3, 7), date(2026, 3, 8), date(2027, 1, 9), date(2027, 1, 10)])
def test_weekends_are_closed_everywhere(code, day):
    assert not is_open(area(code), local(code, day, 11))


# --- DST -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "before,after",
    [
        (date(2026, 3, 27), date(2026, 3, 30)),  # CET -> CEST on Sunday 29 March 2026
        (date(2027, 3, 26), date(2027, 3, 30)),  # Sunday 28 March 2027 (29: Easter Monday)
    ],
)
def test_spring_dst_change_moves_the_window_one_hour_earlier_in_utc(before, after):
    paris = area("FR-METRO")
    # 08:30 UTC: 09:30 CET on the Friday (closed), 10:30 CEST on the Monday (open)
    assert not is_open(paris, datetime.combine(before, time(8, 30), UTC))
    assert is_open(paris, datetime.combine(after, time(8, 30), UTC))
    # 18:30 UTC: 19:30 CET (open), 20:30 CEST (closed)
    assert is_open(paris, datetime.combine(before, time(18, 30), UTC))
    assert not is_open(paris, datetime.combine(after, time(18, 30), UTC))
    assert check_area(paris, datetime.combine(after, time(8, 30), UTC))[0].local_time.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    "before,after",
    [
        (date(2026, 10, 23), date(2026, 10, 26)),  # CEST -> CET on Sunday 25 October 2026
        (date(2027, 10, 29), date(2027, 11, 2)),  # Sunday 31 October 2027 (1 Nov is a holiday)
    ],
)
def test_autumn_dst_change_moves_the_window_one_hour_later_in_utc(before, after):
    paris = area("FR-METRO")
    assert is_open(paris, datetime.combine(before, time(8, 30), UTC))  # 10:30 CEST
    assert not is_open(paris, datetime.combine(after, time(8, 30), UTC))  # 09:30 CET
    assert not is_open(paris, datetime.combine(before, time(18, 30), UTC))  # 20:30 CEST
    assert is_open(paris, datetime.combine(after, time(18, 30), UTC))  # 19:30 CET


@pytest.mark.parametrize("day", [date(2026, 3, 29), date(2026, 10, 25), date(2027, 3, 28), date(2027, 10, 31)])
def test_dst_sundays_are_closed_all_day(day):
    for hour in range(24):
        assert not is_open(area("FR-METRO"), datetime.combine(day, time(hour, 30), UTC))


@pytest.mark.parametrize("code,utc_hour", [("RE", 6), ("YT", 7), ("GP", 14), ("MQ", 14), ("GF", 13)])
def test_overseas_zones_have_no_dst(code, utc_hour):
    for day in (date(2026, 1, 6), date(2026, 7, 7)):
        assert is_open(area(code), datetime.combine(day, time(utc_hour, 0), UTC))
        assert not is_open(area(code), datetime.combine(day, time(utc_hour - 1, 59), UTC))


def test_miquelon_follows_north_american_dst():
    pm = area("PM")
    assert not is_open(pm, datetime(2026, 3, 6, 12, 0, tzinfo=UTC))  # 09:00 UTC-3
    assert is_open(pm, datetime(2026, 3, 9, 12, 0, tzinfo=UTC))  # 10:00 UTC-2


def test_reunion_or_mayotte_number_is_open_only_when_both_are_open():
    both = area("RE|YT")
    # 06:30 UTC: 10:30 in Réunion (UTC+4) but 09:30 in Mayotte (UTC+3)
    assert is_open(area("RE"), datetime(2026, 3, 3, 6, 30, tzinfo=UTC))
    assert not is_open(both, datetime(2026, 3, 3, 6, 30, tzinfo=UTC))
    assert is_open(both, datetime(2026, 3, 3, 7, 30, tzinfo=UTC))
    # 15:30 UTC: 19:30 in Mayotte but 19:30+1 = 20:30 in Réunion
    assert not is_open(both, datetime(2026, 3, 3, 16, 30, tzinfo=UTC))


# --- holidays ------------------------------------------------------------------------------------
NATIONAL = {
    2026: [
        "2026-01-01",
        "2026-04-06",
        "2026-05-01",
        "2026-05-08",
        "2026-05-14",
        "2026-05-25",
        "2026-07-14",
        "2026-08-15",
        "2026-11-01",
        "2026-11-11",
        "2026-12-25",
    ],
    2027: [
        "2027-01-01",
        "2027-03-29",
        "2027-05-01",
        "2027-05-06",
        "2027-05-08",
        "2027-05-17",
        "2027-07-14",
        "2027-08-15",
        "2027-11-01",
        "2027-11-11",
        "2027-12-25",
    ],
}
LOCAL = {
    "FR-METRO": [],
    "PM": [],
    "FR-AM": ["2026-04-03", "2026-12-26", "2027-03-26", "2027-12-26"],
    "FR-METRO*": ["2026-04-03", "2026-12-26", "2027-03-26", "2027-12-26"],
    "GP": ["2026-05-27", "2027-05-27"],
    "MQ": ["2026-05-22", "2027-05-22"],
    "GF": ["2026-06-10", "2027-06-10"],
    "RE": ["2026-12-20", "2027-12-20"],
    "YT": ["2026-04-27", "2027-04-27"],
    "BL": ["2026-10-09", "2027-10-09"],
    "MF": ["2026-05-28", "2027-05-28"],
    "GP*": ["2026-05-27", "2027-05-27", "2026-05-28", "2027-05-28", "2026-10-09", "2027-10-09"],
}
HOLIDAY_CASES = [(code, day) for code in LOCAL for day in NATIONAL[2026] + NATIONAL[2027] + LOCAL[code]]


@pytest.mark.parametrize("code,day", HOLIDAY_CASES)
def test_every_2026_2027_holiday_is_closed_all_day(code, day):
    d = date.fromisoformat(day)
    zone = area(code).zones[0]
    assert zone.holiday(d) is not None
    for hh in (10, 11, 12, 14, 17, 19):
        at = local(code, d, hh, 30)
        assert not is_open(area(code), at)
        assert check_area(area(code), at)[0].holiday


@pytest.mark.parametrize("code", list(LOCAL))
@pytest.mark.parametrize("year", [2026, 2027])
def test_holiday_lists_are_exactly_the_expected_ones(code, year):
    zone = area(code).zones[0]
    expected = {date.fromisoformat(d) for d in NATIONAL[year] + LOCAL[code] if d.startswith(str(year))}
    assert set(holidays_of(zone.calendars, year)) == expected


@pytest.mark.parametrize(
    "code,day",
    [
        ("FR-METRO", "2026-04-03"),
        ("FR-METRO", "2026-12-26"),
        ("MQ", "2026-05-27"),
        ("GP", "2026-05-22"),
        ("RE", "2026-04-27"),
        ("YT", "2026-12-22"),
        ("GF", "2026-05-27"),
        ("PM", "2026-05-27"),
        ("FR-AM", "2027-05-27"),
        ("BL", "2027-05-27"),
    ],
)
def test_other_territories_local_days_are_working_days(code, day):
    d = date.fromisoformat(day)
    if d.weekday() < 5:
        assert is_open(area(code), local(code, d, 11))


# the holidays package lists a few customary days that are not public holidays in law (no
# L3133-1, L3134-13 or décret 83-1003 basis); everything else must agree
CUSTOMARY = {"Mi-Careme", "Good Friday", "Victor Schoelcher Day"}
PACKAGE_SUBDIV = {
    "FR-METRO": None,
    "FR-AM": "57",
    "GP": "971",
    "MQ": "972",
    "GF": "973",
    "RE": "974",
    "YT": "976",
    "BL": "BL",
    "MF": "MF",
    "PM": "PM",
}


@pytest.mark.parametrize("code,subdiv", list(PACKAGE_SUBDIV.items()))
@pytest.mark.parametrize("year", range(2023, 2031))
def test_holidays_agree_with_the_holidays_package(code, subdiv, year):
    pkg = holidays.France(subdiv=subdiv, years=year, language="en_US")
    ours = set(holidays_of(area(code).zones[0].calendars, year))
    theirs = set(pkg)
    assert ours <= theirs
    extra = {pkg[d] for d in theirs - ours}
    assert extra <= CUSTOMARY, extra


@pytest.mark.parametrize("subdiv", ["57", "6AE"])
def test_alsace_and_moselle_match_the_package_exactly(subdiv):
    for year in (2026, 2027):
        assert set(holidays.France(subdiv=subdiv, years=year)) == set(
            holidays_of(area("FR-AM").zones[0].calendars, year)
        )


@pytest.mark.parametrize(
    "year,expected",
    [(2024, "2024-03-31"), (2025, "2025-04-20"), (2026, "2026-04-05"), (2027, "2027-03-28"), (2038, "2038-04-25")],
)
def test_easter(year, expected):
    assert easter_sunday(year) == date.fromisoformat(expected)


# --- areas ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "postcode,code,tz",
    [
        ("75001", "FR-METRO", "Europe/Paris"),
        ("20000", "FR-METRO", "Europe/Paris"),
        ("13001", "FR-METRO", "Europe/Paris"),
        ("01000", "FR-METRO", "Europe/Paris"),
        ("95000", "FR-METRO", "Europe/Paris"),
        ("57000", "FR-AM", "Europe/Paris"),
        ("67000", "FR-AM", "Europe/Paris"),
        ("68100", "FR-AM", "Europe/Paris"),
        ("97110", "GP", "America/Guadeloupe"),
        ("97133", "BL", "America/St_Barthelemy"),
        ("97150", "MF", "America/Marigot"),
        ("97200", "MQ", "America/Martinique"),
        ("97300", "GF", "America/Cayenne"),
        ("97400", "RE", "Indian/Reunion"),
        ("97500", "PM", "America/Miquelon"),
        ("97600", "YT", "Indian/Mayotte"),
        ("97700", "BL", "America/St_Barthelemy"),
        ("97800", "MF", "America/Marigot"),
        (" 75 001 ", "FR-METRO", "Europe/Paris"),
    ],
)
def test_postcode_gives_area_and_time_zone(postcode, code, tz):
    a = area_for_postcode(postcode)
    assert a.code == code
    assert a.timezone == tz


@pytest.mark.parametrize("postcode", ["98000", "98713", "98800", "96000", "00100", "99999"])
def test_postcodes_outside_known_areas_give_no_area(postcode):
    assert area_for_postcode(postcode) is None


@pytest.mark.parametrize("postcode", ["7500", "750011", "ABCDE", "2A000", ""])
def test_malformed_postcodes_are_refused(postcode):
    with pytest.raises(InvalidInput) as exc:
        area_for_postcode(postcode)
    assert exc.value.details["field"] == "postcode"


@pytest.mark.parametrize(
    "number,code",
    [
        ("0145454545", "FR-METRO*"),
        ("0612345678", "FR-METRO*"),
        ("0388123456", "FR-METRO*"),
        ("0262123456", "RE"),
        ("0692123456", "RE"),
        ("0693123456", "RE"),
        ("0269601234", "YT"),
        ("0639012345", "YT"),
        ("0590271234", "GP*"),
        ("0690123456", "GP*"),
        ("0596123456", "MQ"),
        ("0696123456", "MQ"),
        ("0594123456", "GF"),
        ("0694123456", "GF"),
        ("0947512345", "GP*"),
        ("0947612345", "GF"),
        ("0947712345", "MQ"),
        ("0947812345", "RE|YT"),
        ("0947912345", "RE|YT"),
        ("0948123456", "FR-METRO*"),
    ],
)
def test_number_gives_area_when_no_postcode(number, code):
    assert area_for_number(parse_number(number)).code == code


def test_vectorized_area_codes_agree_with_the_scalar_ones():
    rng = np.random.default_rng(4)
    prefixes = [1, 3, 6, 7, 9, 262, 263, 269, 639, 590, 690, 594, 694, 596, 696, 692, 693]
    nsns = []
    for p in prefixes:
        span = 10**8 if p < 10 else 10**6
        nsns += (p * span + rng.integers(0, span, 20)).tolist()
    nsns += [947512345, 947812345, 947912345, -1]
    pcs = [-1] * len(nsns)
    codes = area_codes_for(np.array(nsns), np.array(pcs))
    for nsn, c in zip(nsns, codes.tolist()):
        if nsn < 0:
            assert c == UNKNOWN_AREA
        else:
            assert AREAS[c].code == area_for_number(parse_number(f"0{nsn:09d}")).code
    postcodes = ["75001", "57000", "97133", "97150", "97110", "97400", "98713", "97600"]
    codes = area_codes_for(np.full(len(postcodes), 612345678), np.array([int(p) for p in postcodes]))
    for pc, c in zip(postcodes, codes.tolist()):
        expected = area_for_postcode(pc)
        assert (c == UNKNOWN_AREA) if expected is None else AREAS[c].code == expected.code


def test_vectorized_open_mask_agrees_with_is_open_over_a_week():
    codes = np.array(list(range(len(AREAS))) + [UNKNOWN_AREA], dtype=np.uint8)
    consent = np.zeros(codes.size, dtype=bool)
    consent[0] = True
    start = datetime(2026, 12, 18, 0, 7, tzinfo=UTC)  # around Christmas, 20 and 26 December
    for step in range(0, 14 * 24 * 60, 37):
        at = start + timedelta(minutes=step)
        mask = open_mask(codes, at, consent)
        table = open_table(at)
        for i, c in enumerate(codes.tolist()):
            scalar = c != UNKNOWN_AREA and is_open(AREAS[c], at)
            assert bool(table[c]) == scalar
            assert bool(mask[i]) == (scalar or (bool(consent[i]) and c != UNKNOWN_AREA))


def test_outside_hours_consent_never_opens_an_unknown_area():
    codes = np.array([UNKNOWN_AREA], dtype=np.uint8)
    assert not open_mask(codes, datetime(2026, 3, 3, 10, tzinfo=UTC), np.array([True]))[0]


@pytest.mark.parametrize(
    "code,at,expected",
    [
        ("FR-METRO", datetime(2026, 3, 6, 19, 0, tzinfo=UTC), datetime(2026, 3, 9, 9, 0, tzinfo=UTC)),
        ("FR-METRO", datetime(2026, 3, 3, 12, 15, tzinfo=UTC), datetime(2026, 3, 3, 13, 0, tzinfo=UTC)),
        ("FR-AM", datetime(2026, 4, 2, 19, 0, tzinfo=UTC), datetime(2026, 4, 7, 8, 0, tzinfo=UTC)),
        ("FR-METRO", datetime(2026, 4, 2, 19, 0, tzinfo=UTC), datetime(2026, 4, 3, 8, 0, tzinfo=UTC)),
        ("RE", datetime(2026, 12, 18, 17, 0, tzinfo=UTC), datetime(2026, 12, 21, 6, 0, tzinfo=UTC)),
        ("RE|YT", datetime(2026, 3, 3, 5, 0, tzinfo=UTC), datetime(2026, 3, 3, 7, 0, tzinfo=UTC)),
    ],
)
def test_next_opening(code, at, expected):
    assert next_opening(area(code), at) == expected


def test_naive_moments_are_refused():
    with pytest.raises(InvalidInput):
        is_open(area("FR-METRO"), datetime(2026, 3, 3, 10))
