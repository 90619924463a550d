"""French telephone numbers: normalization (one at a time and in bulk), kinds, caller-ID rules.

Pure: no I/O. Every number of the French national plan (metropolitan France and the overseas
departments, which share the 10-digit plan) is reduced to its *national significant number*
(NSN): the 9 digits after the trunk ``0``. ``06 12 34 56 78`` -> 612345678, ``+262 692 12 34 56``
(Réunion mobile) -> 692123456 (national form 0692123456). The NSN is the index of a number in
the French number space (0 .. 999,999,999), which the opposition bitmap uses.

Accepted writings (spaces, dots, dashes, slashes, parentheses anywhere):
``0612345678``, ``+33 6 12 34 56 78``, ``+33 (0)6 12 ...``, ``0033 6 ...``, ``33 6 ...``,
``612345678`` (a spreadsheet that dropped the leading 0), and the overseas international forms
``+262 / +590 / +594 / +596`` followed by the 9-digit NSN (with or without ``00``, ``(0)``).

Numbers outside the French 10-digit plan (for example Saint-Pierre-et-Miquelon's +508, or any
foreign number) are refused: this engine only knows the French rules.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ...core.errors import InvalidInput
from ...core.text import Text

NSN_SPACE = 10**9  # 9-digit national significant numbers: 0 .. 999,999,999

# --- prefixes of the national plan -------------------------------------------------------------
# Overseas prefixes inside the French 10-digit plan (ARCEP plan national de numérotation):
# key: national prefix without the trunk 0; value: territory code (see windows.AREAS).
OVERSEAS_PREFIXES: dict[str, str] = {
    "262": "RE",
    "263": "RE",
    "692": "RE",
    "693": "RE",  # La Réunion fixed / mobile
    "269": "YT",
    "639": "YT",  # Mayotte fixed / mobile
    "590": "GP*",
    "690": "GP*",
    "691": "GP*",  # Guadeloupe, St-Barth, St-Martin
    "594": "GF",
    "694": "GF",  # Guyane
    "596": "MQ",
    "696": "MQ",
    "697": "MQ",  # Martinique
    # overseas NPV ranges (décision ARCEP n° 2022-1583): 09475 Guadeloupe/St-Martin/St-Barth,
    # 09476 Guyane, 09477 Martinique, 09478 and 09479 La Réunion and Mayotte (shared)
    "9475": "GP*",
    "9476": "GF",
    "9477": "MQ",
    "9478": "RE|YT",
    "9479": "RE|YT",
}

# country calling code for the E.164 form, by territory of the prefix (None: +33)
_TERRITORY_CC = {"RE": "262", "YT": "262", "GP*": "590", "GF": "594", "MQ": "596"}

# Numéros polyvalents vérifiés (NPV), the only numbers an automated calling system may present
# as caller ID. Source: ARCEP décision n° 2022-1583 du 1er septembre 2022 modifiant le plan
# national de numérotation (annexe 1, § 2.3.7), as summarised by the press at its publication:
# metropolitan France 0162, 0163, 0270, 0271, 0377, 0378, 0424, 0425, 0568, 0569, 0948, 0949;
# overseas 09475 (Guadeloupe, St-Martin, St-Barthélemy), 09476 (Guyane), 09477 (Martinique),
# 09478 and 09479 (La Réunion, Mayotte). Stored without the trunk 0.
NPV_PREFIXES: tuple[str, ...] = (
    "162",
    "163",
    "270",
    "271",
    "377",
    "378",
    "424",
    "425",
    "568",
    "569",
    "948",
    "949",
    "9475",
    "9476",
    "9477",
    "9478",
    "9479",
)
# Mobile numbers (06, 07 and the overseas mobiles 0639, 069x, which are 06 numbers) are
# reserved to interpersonal communications since décision 2022-1583: never a caller ID.
MOBILE_FIRST_DIGITS = ("6", "7")

# international calling codes that lead into the French 10-digit plan
_COUNTRY_CODES = ("33", "262", "590", "594", "596")


class NumberKind(str, enum.Enum):
    GEOGRAPHIC = "geographic"  # 01..05
    MOBILE = "mobile"  # 06, 07
    NPV = "npv"  # numéro polyvalent vérifié (0162..., 0948..., 0947x...)
    POLYVALENT = "polyvalent"  # other 09 numbers (VoIP boxes...)
    SPECIAL = "special"  # 08: service numbers, not a consumer's line


@dataclass(frozen=True)
class FrenchNumber:
    nsn: int  # index in the French number space: national number without its trunk 0

    @property
    def national(self) -> str:
        return f"0{self.nsn:09d}"

    @property
    def digits(self) -> str:
        return f"{self.nsn:09d}"

    @property
    def kind(self) -> NumberKind:
        return kind_of(self.nsn)

    @property
    def territory(self) -> str | None:
        """Overseas territory code from the prefix, None for metropolitan France."""
        return territory_of(self.nsn)

    @property
    def e164(self) -> str:
        cc = _TERRITORY_CC.get(self.territory or "", "33")
        if self.digits.startswith("9"):  # 09 numbers (overseas NPV included) are +33
            cc = "33"
        return f"+{cc}{self.digits}"

    def __str__(self) -> str:
        return self.national


def kind_of(nsn: int) -> NumberKind:
    d = f"{nsn:09d}"
    if d.startswith(NPV_PREFIXES):
        return NumberKind.NPV
    first = d[0]
    if first in MOBILE_FIRST_DIGITS:
        return NumberKind.MOBILE
    if first == "8":
        return NumberKind.SPECIAL
    if first == "9":
        return NumberKind.POLYVALENT
    return NumberKind.GEOGRAPHIC


def territory_of(nsn: int) -> str | None:
    d = f"{nsn:09d}"
    return OVERSEAS_PREFIXES.get(d[:4]) or OVERSEAS_PREFIXES.get(d[:3])


# --- one number --------------------------------------------------------------------------------
_SEPARATORS = frozenset(" .-()/+\t\r\u00a0")


def parse_number(text: str, field: str = "number") -> FrenchNumber:
    """Normalize one number written in any common French way; InvalidInput names the field."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("a telephone number is required", field=field, value=text)
    digits = []
    for ch in text:
        if "0" <= ch <= "9":
            digits.append(ch)
        elif ch not in _SEPARATORS:
            raise InvalidInput(Text("unexpected character %(ch)r in telephone number", ch=ch), field=field, value=text)
    nsn = _interpret("".join(digits), plus="+" in text)
    if nsn is None:
        raise InvalidInput(
            "not a number of the French 10-digit plan (0X XX XX XX XX, +33..., +262/+590/+594/+596...)",
            field=field,
            value=text,
        )
    return FrenchNumber(nsn)


def _nsn_or_minus_one(text: str) -> int:
    number = try_parse_number(text)
    return number.nsn if number else -1


def try_parse_number(text: str) -> FrenchNumber | None:
    try:
        return parse_number(text)
    except InvalidInput:
        return None


def _interpret(digits: str, plus: bool = False) -> int | None:
    """Digits only -> NSN or None. Mirrors `_interpret_many` (the bulk path) exactly."""
    international = plus
    if len(digits) >= 2 and digits.startswith("00"):
        digits = digits[2:]  # international access prefix
        international = True
    nd = len(digits)
    if not international and nd == 10 and digits[0] == "0" and digits[1] != "0":
        return int(digits[1:])
    if not international and nd == 9 and digits[0] != "0":
        return int(digits)  # a spreadsheet dropped the trunk 0
    for cc in _COUNTRY_CODES:
        if digits.startswith(cc):
            rest = digits[len(cc) :]
            if len(rest) == 10 and rest[0] == "0":  # +33 (0)6 ...
                rest = rest[1:]
            if len(rest) == 9 and rest[0] != "0":
                if cc != "33" and _TERRITORY_CC.get(territory_of(int(rest)) or "") != cc:
                    return None  # +262 followed by a metropolitan number, etc.
                return int(rest)
    return None


# --- many numbers at once ----------------------------------------------------------------------
# byte classes: 0 forbidden, 1 digit, 2 separator, 3 end of line, 4 '+'
_CLASS = np.zeros(256, dtype=np.uint8)
_CLASS[ord("0") : ord("9") + 1] = 1
for _c in " .-()/\t\r":
    _CLASS[ord(_c)] = 2
_CLASS[ord("\n")] = 3
_CLASS[ord("+")] = 4
_POW10 = 10 ** np.arange(19, dtype=np.int64)

# NSN prefix (4 digits, 0..9999) -> country code accepted for it (0: +33 only); used to check
# "+262 692..." style numbers in bulk the same way `_interpret` does
_CC_OF_PREFIX4 = np.zeros(10000, dtype=np.int16)
for _p4 in range(1000, 10000):
    _t = OVERSEAS_PREFIXES.get(str(_p4)) or OVERSEAS_PREFIXES.get(str(_p4)[:3])
    _cc = _TERRITORY_CC.get(_t or "")
    _CC_OF_PREFIX4[_p4] = int(_cc) if _cc else 0


def normalize_many(numbers: Sequence[str] | Iterable[str]) -> np.ndarray:
    """NSN (int64) for each number, -1 where a number is not a valid French number.

    The bulk twin of `parse_number` (same rules), vectorized with numpy: a million numbers in
    about a tenth of a second.
    """
    if not isinstance(numbers, (list, tuple)):
        numbers = list(numbers)
    if not numbers:
        return np.empty(0, dtype=np.int64)
    # newlines inside a value would shift every later number: refuse them up front
    data = "\n".join(numbers)
    if "\u00a0" in data:  # no-break spaces (spreadsheets): a separator, as in parse_number
        data = data.replace("\u00a0", " ")
    if data.count("\n") != len(numbers) - 1:
        return np.array([-1 if "\n" in n else _nsn_or_minus_one(n) for n in numbers], dtype=np.int64)
    return parse_lines(data.encode("utf-8", errors="replace") + b"\n")


def parse_lines(data: bytes | bytearray | memoryview | np.ndarray, chunk_bytes: int = 1 << 20) -> np.ndarray:
    """NSN (int64) for each line of a text buffer ('\\n'-separated), -1 where invalid.

    A last line without its '\\n' counts as a line; an empty buffer has no line.
    """
    buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    if buf.size == 0:
        return np.empty(0, dtype=np.int64)
    if buf[-1] != 10:
        buf = np.concatenate([buf, np.array([10], dtype=np.uint8)])
    out = []
    start = 0
    n = buf.size
    while start < n:
        end = min(start + chunk_bytes, n)
        if end < n:
            cut = np.flatnonzero(buf[start:end] == 10)
            if cut.size == 0:  # one giant line: take until its end
                nxt = np.flatnonzero(buf[end:] == 10)
                end = end + int(nxt[0]) + 1
            else:
                end = start + int(cut[-1]) + 1
        out.append(_parse_chunk(buf[start:end]))
        start = end
    return np.concatenate(out) if len(out) > 1 else out[0]


def _parse_chunk(buf: np.ndarray) -> np.ndarray:
    """buf ends with '\\n'. Fast path for fixed-width digit-only lines, general path otherwise."""
    ends = np.flatnonzero(buf == 10)
    nlines = ends.size
    width = int(ends[0]) + 1
    if width >= 2 and buf.size == nlines * width and width - 1 <= 18 and bool((buf[width - 1 :: width] == 10).all()):
        rows = buf.reshape(nlines, width)[:, : width - 1]
        d = rows - np.uint8(48)
        if bool((d < 10).all()):
            value = d[:, 0].astype(np.int64)
            for j in range(1, width - 1):
                value *= 10
                value += d[:, j]
            ndig = np.full(nlines, width - 1, dtype=np.int64)
            return _interpret_many(value, ndig)
    return _parse_general(buf, ends)


def _parse_general(buf: np.ndarray, ends: np.ndarray) -> np.ndarray:
    nlines = ends.size
    cls = _CLASS[buf]
    dpos = np.flatnonzero(cls == 1)
    # digits before each line end -> digit count of each line
    cum = np.searchsorted(dpos, ends)
    ndig = np.diff(cum, prepend=0).astype(np.int64)
    first = cum - ndig
    value = np.zeros(nlines, dtype=np.int64)
    digits = buf[dpos] - np.uint8(48)
    for k in np.unique(ndig):
        if k == 0 or k > 18:
            continue
        rows = np.flatnonzero(ndig == k)
        base = first[rows]
        v = digits[base].astype(np.int64)
        for j in range(1, int(k)):
            v *= 10
            v += digits[base + j]
        value[rows] = v
    plus = np.zeros(nlines, dtype=bool)
    plus_pos = np.flatnonzero(cls == 4)
    if plus_pos.size:
        plus[np.searchsorted(ends, plus_pos)] = True
    nsn = _interpret_many(value, ndig, plus)
    bad_pos = np.flatnonzero(cls == 0)
    if bad_pos.size:
        nsn[np.searchsorted(ends, bad_pos)] = -1
    nsn[ndig > 18] = -1
    return nsn


def _interpret_many(value: np.ndarray, ndig: np.ndarray, plus: np.ndarray | None = None) -> np.ndarray:
    """Vectorized `_interpret` on (digits as integer, digit count, '+' written) triples."""
    ndig = ndig.copy()
    # international access prefix "00": value unchanged, two fewer digits
    ndig_safe = np.clip(ndig, 2, 18)
    intl = (ndig >= 2) & (value < _POW10[ndig_safe - 2])
    ndig[intl] -= 2
    out = np.full(value.size, -1, dtype=np.int64)
    lo, hi = 10**8, 10**9
    # national: 0 + 9 digits (value then has 9 significant digits)
    national_ok = ~intl if plus is None else ~(intl | plus)  # "+" / "00": a country code follows
    nat = national_ok & (ndig == 10) & (value >= lo) & (value < hi)
    out[nat] = value[nat]
    # trunk 0 dropped by a spreadsheet
    bare = national_ok & (ndig == 9) & (value >= lo)
    out[bare] = value[bare]
    todo = (out < 0) & ~nat & ~bare
    for cc in _COUNTRY_CODES:
        k = len(cc)
        ccv = int(cc)
        for rest_len in (9, 10):  # 10: "(0)" trunk kept after the country code
            total = k + rest_len
            sel = todo & (ndig == total)
            if not sel.any():
                continue
            v = value[sel]
            rest = v % _POW10[rest_len]
            ok = (v // _POW10[rest_len] == ccv) & (rest >= lo) & (rest < hi)
            if ccv != 33:
                ok &= _CC_OF_PREFIX4[rest // 10**5] == ccv
            idx = np.flatnonzero(sel)[ok]
            out[idx] = rest[ok]
            todo[idx] = False
    return out


# --- caller ID ---------------------------------------------------------------------------------
# the kinds as the explanations name them (translated with them)
KIND_WORDS = {
    "geographic": Text("geographic"),
    "mobile": Text("mobile"),
    "npv": Text("npv"),
    "polyvalent": Text("polyvalent"),
    "special": Text("special"),
}


@dataclass(frozen=True)
class CallerIdCheck:
    allowed: bool
    explanation: str  # a Text


def check_caller_id(text: str, automated: bool = True) -> CallerIdCheck:
    """Whether a number may be presented as caller ID by this (automated) dialer."""
    number = try_parse_number(text)
    if number is None:
        return CallerIdCheck(False, Text("caller ID %(number)r is not a French number", number=text))
    kind = number.kind
    if kind is NumberKind.MOBILE:
        return CallerIdCheck(
            False,
            Text(
                "caller ID %(number)s is a mobile number (06/07): "
                "reserved to interpersonal communications (ARCEP 2022-1583)",
                number=number.national,
            ),
        )
    if automated and kind is not NumberKind.NPV:
        return CallerIdCheck(
            False,
            Text(
                "caller ID %(number)s is not in an NPV range: an "
                "automated calling system must present a numéro polyvalent vérifié "
                "(ARCEP 2022-1583)",
                number=number.national,
            ),
        )
    return CallerIdCheck(
        True,
        Text(
            "caller ID %(number)s is a %(kind)s number (NPV range)", number=number.national, kind=KIND_WORDS[kind.value]
        )
        if kind is NumberKind.NPV
        else Text("caller ID %(number)s is a %(kind)s number", number=number.national, kind=KIND_WORDS[kind.value]),
    )
