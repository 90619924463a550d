"""Calling windows: the consumer's area, its time zone, its public holidays, open or closed.

Pure: no I/O. Code de la consommation art. D223-9 (décret n° 2022-1313, in force 1 March 2023):
canvassing calls only Monday to Friday, 10:00-13:00 and 14:00-20:00 in the consumer's time
zone, never on the public holidays of Code du travail art. L3133-1. We also treat as holidays
the local ones: Good Friday and 26 December in Moselle, Bas-Rhin and Haut-Rhin (Code du travail
L3134-13, local law), and the commemoration of the abolition of slavery of each overseas
territory (loi n° 83-550 du 30 juin 1983, décret n° 83-1003 du 23 novembre 1983 as amended):
Guadeloupe 27 May, Martinique 22 May, Guyane 10 June, La Réunion 20 December, Mayotte 27 April,
Saint-Barthélemy 9 October, Saint-Martin 28 May.

Windows are half-open: 10:00 <= t < 13:00 and 14:00 <= t < 20:00 (a call is not started at
13:00:00 or 20:00:00).

An *area* is where a consumer lives as far as these rules go: one or more (time zone, holiday
calendar) zones. It comes from the postcode when known, else from the number's prefix. When the
number alone cannot tell which calendar applies, the area carries the union of the possible
holidays (a metropolitan number may belong to someone in Alsace-Moselle; 0590/0690 covers
Guadeloupe, Saint-Barthélemy and Saint-Martin), or several zones that must all be open (09478
and 09479 are shared by La Réunion and Mayotte). Unknown means closed.

The vectorized API (`area_codes_for`, `open_table`, `open_mask`) answers "open now?" once per
area and reuses it for every contact: a million contacts in a few milliseconds.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from ...core.errors import InvalidInput
from .numbers import FrenchNumber

WINDOWS: tuple[tuple[time, time], ...] = ((time(10, 0), time(13, 0)), (time(14, 0), time(20, 0)))
WORKING_WEEKDAYS = frozenset(range(5))  # Monday=0 .. Friday=4


# --- holidays ----------------------------------------------------------------------------------
def easter_sunday(year: int) -> date:
    """Gregorian Easter (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ll = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ll) // 451
    month, day = divmod(h + ll - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _national(year: int) -> dict[date, str]:
    """Code du travail art. L3133-1: the eleven public holidays."""
    easter = easter_sunday(year)
    return {
        date(year, 1, 1): "1er janvier",
        easter + timedelta(days=1): "lundi de Pâques",
        date(year, 5, 1): "1er mai",
        date(year, 5, 8): "8 mai 1945",
        easter + timedelta(days=39): "Ascension",
        easter + timedelta(days=50): "lundi de Pentecôte",
        date(year, 7, 14): "14 juillet",
        date(year, 8, 15): "Assomption",
        date(year, 11, 1): "Toussaint",
        date(year, 11, 11): "11 novembre",
        date(year, 12, 25): "jour de Noël",
    }


def _alsace_moselle(year: int) -> dict[date, str]:
    """Code du travail art. L3134-13 (Moselle, Bas-Rhin, Haut-Rhin)."""
    return {
        easter_sunday(year) - timedelta(days=2): "Vendredi saint (Alsace-Moselle)",
        date(year, 12, 26): "Saint-Étienne, 26 décembre (Alsace-Moselle)",
    }


def _abolition(month: int, day: int, where: str):
    def calendar(year: int) -> dict[date, str]:
        return {date(year, month, day): f"abolition de l'esclavage ({where})"}

    return calendar


CALENDARS = {
    "national": _national,
    "alsace-moselle": _alsace_moselle,
    "abolition-GP": _abolition(5, 27, "Guadeloupe"),
    "abolition-MQ": _abolition(5, 22, "Martinique"),
    "abolition-GF": _abolition(6, 10, "Guyane"),
    "abolition-RE": _abolition(12, 20, "La Réunion"),
    "abolition-YT": _abolition(4, 27, "Mayotte"),
    "abolition-BL": _abolition(10, 9, "Saint-Barthélemy"),
    "abolition-MF": _abolition(5, 28, "Saint-Martin"),
}


@functools.lru_cache(maxsize=4096)
def holidays_of(calendars: tuple[str, ...], year: int) -> dict[date, str]:
    days: dict[date, str] = {}
    for name in calendars:
        for day, label in CALENDARS[name](year).items():
            days[day] = f"{days[day]} / {label}" if day in days else label
    return days


# --- areas -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Zone:
    tz: str
    calendars: tuple[str, ...]

    @property
    def tzinfo(self) -> ZoneInfo:
        return _zoneinfo(self.tz)

    def holiday(self, day: date) -> str | None:
        return holidays_of(self.calendars, day.year).get(day)


@dataclass(frozen=True)
class Area:
    code: str
    label: str
    zones: tuple[Zone, ...]

    @property
    def timezone(self) -> str:
        return "|".join(z.tz for z in self.zones)

    @property
    def primary(self) -> Zone:
        return self.zones[0]


_N = ("national",)
AREAS: tuple[Area, ...] = (
    Area("FR-METRO", "metropolitan France", (Zone("Europe/Paris", _N),)),
    Area("FR-AM", "Alsace-Moselle (57, 67, 68)", (Zone("Europe/Paris", _N + ("alsace-moselle",)),)),
    Area(
        "FR-METRO*",
        "metropolitan France, department unknown (Alsace-Moselle days included)",
        (Zone("Europe/Paris", _N + ("alsace-moselle",)),),
    ),
    Area("GP", "Guadeloupe (971)", (Zone("America/Guadeloupe", _N + ("abolition-GP",)),)),
    Area("MQ", "Martinique (972)", (Zone("America/Martinique", _N + ("abolition-MQ",)),)),
    Area("GF", "Guyane (973)", (Zone("America/Cayenne", _N + ("abolition-GF",)),)),
    Area("RE", "La Réunion (974)", (Zone("Indian/Reunion", _N + ("abolition-RE",)),)),
    Area("PM", "Saint-Pierre-et-Miquelon (975)", (Zone("America/Miquelon", _N),)),
    Area("YT", "Mayotte (976)", (Zone("Indian/Mayotte", _N + ("abolition-YT",)),)),
    Area("BL", "Saint-Barthélemy (97133, 977)", (Zone("America/St_Barthelemy", _N + ("abolition-BL",)),)),
    Area("MF", "Saint-Martin (97150, 978)", (Zone("America/Marigot", _N + ("abolition-MF",)),)),
    Area(
        "GP*",
        "Guadeloupe, Saint-Barthélemy or Saint-Martin (from the number)",
        (Zone("America/Guadeloupe", _N + ("abolition-GP", "abolition-BL", "abolition-MF")),),
    ),
    Area(
        "RE|YT",
        "La Réunion or Mayotte (from the number): open only when open in both",
        (Zone("Indian/Reunion", _N + ("abolition-RE",)), Zone("Indian/Mayotte", _N + ("abolition-YT",))),
    ),
)
AREA_INDEX: dict[str, int] = {a.code: i for i, a in enumerate(AREAS)}
UNKNOWN_AREA = 255  # area code of contacts whose area is unknown: never open
_TERRITORY_AREA = {"RE": "RE", "YT": "YT", "GP*": "GP*", "GF": "GF", "MQ": "MQ", "RE|YT": "RE|YT", None: "FR-METRO*"}


@functools.lru_cache(maxsize=64)
def _zoneinfo(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def normalize_postcode(postcode: str, field: str = "postcode") -> str:
    text = str(postcode).strip().replace(" ", "")
    if len(text) != 5 or not text.isdigit():
        raise InvalidInput("a French postcode has 5 digits", field=field, value=postcode)
    return text


def area_for_postcode(postcode: str) -> Area | None:
    """Area of a postcode; None when outside the areas this engine knows (98xxx...)."""
    pc = normalize_postcode(postcode)
    code = _postcode_area_code(int(pc))
    return None if code == UNKNOWN_AREA else AREAS[code]


def area_for_number(number: FrenchNumber) -> Area:
    return AREAS[AREA_INDEX[_TERRITORY_AREA[number.territory]]]


def resolve_area(number: FrenchNumber | None, postcode: str | None) -> tuple[Area | None, str]:
    """(area, source) with source 'postcode', 'number' or 'unknown'."""
    if postcode:
        area = area_for_postcode(postcode)
        return (area, "postcode") if area else (None, "unknown")
    if number is not None:
        return area_for_number(number), "number"
    return None, "unknown"


def _postcode_area_code(pc: int) -> int:
    if pc == 97133:
        return AREA_INDEX["BL"]
    if pc == 97150:
        return AREA_INDEX["MF"]
    return int(_POSTCODE_LUT[pc // 100]) if 0 <= pc < 100000 else UNKNOWN_AREA


def _build_postcode_lut() -> np.ndarray:
    lut = np.full(1000, UNKNOWN_AREA, dtype=np.uint8)
    for p3 in range(1000):
        dept = p3 // 10
        if 1 <= dept <= 95:
            lut[p3] = AREA_INDEX["FR-AM" if dept in (57, 67, 68) else "FR-METRO"]
    overseas = {971: "GP", 972: "MQ", 973: "GF", 974: "RE", 975: "PM", 976: "YT", 977: "BL", 978: "MF"}
    for p3, code in overseas.items():
        lut[p3] = AREA_INDEX[code]
    return lut


def _build_number_lut() -> np.ndarray:
    from .numbers import OVERSEAS_PREFIXES

    lut = np.full(10000, AREA_INDEX["FR-METRO*"], dtype=np.uint8)
    lut[:1000] = UNKNOWN_AREA  # not a 9-digit NSN
    for prefix, territory in OVERSEAS_PREFIXES.items():
        code = AREA_INDEX[_TERRITORY_AREA[territory]]
        if len(prefix) == 3:
            lut[int(prefix) * 10 : int(prefix) * 10 + 10] = code
    for prefix, territory in OVERSEAS_PREFIXES.items():
        if len(prefix) == 4:  # the longer prefix wins
            lut[int(prefix)] = AREA_INDEX[_TERRITORY_AREA[territory]]
    return lut


_POSTCODE_LUT = _build_postcode_lut()
_NUMBER_LUT = _build_number_lut()


def area_codes_for(nsns: np.ndarray, postcodes: np.ndarray | None = None) -> np.ndarray:
    """Area code (uint8, index into AREAS, 255 unknown) of each contact.

    nsns: int64 NSNs (-1 invalid); postcodes: int postcodes, -1 where unknown.
    """
    nsns = np.asarray(nsns, dtype=np.int64)
    ok = (nsns >= 10**8) & (nsns < 10**9)
    codes = np.full(nsns.size, UNKNOWN_AREA, dtype=np.uint8)
    codes[ok] = _NUMBER_LUT[nsns[ok] // 10**5]
    if postcodes is not None:
        pcs = np.asarray(postcodes, dtype=np.int64)
        known = (pcs >= 0) & (pcs < 100000)
        by_pc = np.full(pcs.size, UNKNOWN_AREA, dtype=np.uint8)
        by_pc[known] = _POSTCODE_LUT[pcs[known] // 100]
        by_pc[pcs == 97133] = AREA_INDEX["BL"]
        by_pc[pcs == 97150] = AREA_INDEX["MF"]
        has_pc = pcs >= 0  # a postcode we cannot place means unknown, not "use the number"
        codes[has_pc] = by_pc[has_pc]
    return codes


# --- open or closed ----------------------------------------------------------------------------
@dataclass(frozen=True)
class WindowCheck:
    tz: str
    local_time: datetime
    weekday_ok: bool
    holiday: str | None
    hours_ok: bool

    @property
    def open(self) -> bool:
        return self.weekday_ok and self.holiday is None and self.hours_ok


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise InvalidInput("the moment must be timezone-aware (UTC)", field="at", value=str(at))
    return at.astimezone(UTC)


def check_zone(zone: Zone, at: datetime) -> WindowCheck:
    local = _utc(at).astimezone(zone.tzinfo)
    t = local.time().replace(tzinfo=None)
    return WindowCheck(
        tz=zone.tz,
        local_time=local,
        weekday_ok=local.weekday() in WORKING_WEEKDAYS,
        holiday=zone.holiday(local.date()),
        hours_ok=any(start <= t < end for start, end in WINDOWS),
    )


def check_area(area: Area, at: datetime) -> list[WindowCheck]:
    return [check_zone(zone, at) for zone in area.zones]


def is_open(area: Area | None, at: datetime) -> bool:
    return area is not None and all(c.open for c in check_area(area, at))


def open_table(at: datetime) -> np.ndarray:
    """For each area code 0..255: open at `at`? (255, unknown, is always closed)."""
    table = np.zeros(256, dtype=bool)
    for i, area in enumerate(AREAS):
        table[i] = is_open(area, at)
    return table


def open_mask(
    area_codes: np.ndarray,
    at: datetime,
    outside_hours_consent: np.ndarray | None = None,
    table: np.ndarray | None = None,
) -> np.ndarray:
    """Vectorized calling-window decision for many contacts at one moment.

    Consent to be called outside the legal days and hours (D223-9 al. 2) opens the window of
    any contact whose area is known.
    """
    if table is None:
        table = open_table(at)
    mask = table[area_codes]
    if outside_hours_consent is not None:
        mask |= outside_hours_consent & (area_codes != UNKNOWN_AREA)
    return mask


def next_opening(area: Area, at: datetime, horizon_days: int = 30) -> datetime | None:
    """The first moment >= at when the area is open (None within the horizon)."""
    if is_open(area, at):
        return _utc(at)
    start = _utc(at)
    candidates: list[datetime] = []
    for zone in area.zones:
        local_day = start.astimezone(zone.tzinfo).date()
        for n in range(horizon_days + 1):
            day = local_day + timedelta(days=n)
            for opening, _ in WINDOWS:
                moment = datetime.combine(day, opening, zone.tzinfo).astimezone(UTC)
                if moment > start:
                    candidates.append(moment)
    for moment in sorted(candidates):
        if is_open(area, moment):
            return moment
    return None


def area_codes_of(areas: Sequence[Area | None]) -> np.ndarray:
    return np.array([UNKNOWN_AREA if a is None else AREA_INDEX[a.code] for a in areas], dtype=np.uint8)
