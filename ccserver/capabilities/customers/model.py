"""Customers, pure rules: phone-number normalization, field validation, CSV import parsing.

No I/O here: the service stores what this module validates.

Phone numbers are stored in E.164 (``+33612345678``), the one form every writing of a number
reduces to, so the screen-pop finds a caller whatever way the number was typed or presented.
French overseas numbers share the 10-digit national plan (``0692 12 34 56`` is a Réunion mobile):
written nationally they are moved to their own country code (+262, +590, +594, +596), as the
caller ID of an international call would show them.

CSV import: `parse_customer_csv` reads the bytes of a spreadsheet export (UTF-8 with or without
BOM, Windows-1252 or Latin-1; ``;``, ``,`` or tab separated; French or English headers), and
returns an `ImportPreview`: the good rows, normalized, and every rejected line as
(line number in the file, field, why). A problem with the whole file (nothing usable, no phone
nor customer number column) raises `InvalidInput` instead.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from ...core.csvtext import sniff_delimiter
from ...core.errors import InvalidInput
from ...core.text import Text, with_texts

# --- phone numbers -------------------------------------------------------------------------

MAX_NUMBER_LENGTH = 40
# separators people and spreadsheets put in numbers (incl. no-break spaces)
_NUMBER_CHARS = re.compile(r"[0-9+ .\-/()\t\u00a0\u202f]*")
# Overseas prefixes of the French 10-digit plan -> their country calling code (ARCEP plan).
_OVERSEAS_CC = {
    "262": 262,
    "263": 262,
    "692": 262,
    "693": 262,  # La Réunion
    "269": 262,
    "639": 262,  # Mayotte
    "590": 590,
    "690": 590,
    "691": 590,  # Guadeloupe, St-Barthélemy, St-Martin
    "594": 594,
    "694": 594,  # Guyane
    "596": 596,
    "696": 596,
    "697": 596,  # Martinique
    "9475": 590,
    "9476": 594,
    "9477": 596,
    "9478": 262,
    "9479": 262,  # overseas NPV ranges
}
# regions shown in French national format ("06 12 34 56 78", "0692 12 34 56")
_FRENCH_PLAN_REGIONS = frozenset({"FR", "RE", "YT", "GP", "BL", "MF", "GF", "MQ"})

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: Text("does not start with a known country code"),
    NumberParseException.NOT_A_NUMBER: Text("is not a phone number"),
    NumberParseException.TOO_SHORT_AFTER_IDD: Text("is too short after the international prefix"),
    NumberParseException.TOO_SHORT_NSN: Text("is too short to be a phone number"),
    NumberParseException.TOO_LONG: Text("is too long to be a phone number"),
}
_POSSIBLE_REASONS = {
    ValidationResult.TOO_SHORT: Text("is too short"),
    ValidationResult.TOO_LONG: Text("is too long"),
    ValidationResult.INVALID_LENGTH: Text("has the wrong number of digits"),
    ValidationResult.INVALID_COUNTRY_CODE: Text("does not start with a known country code"),
}


def _number_error(raw: str, why: str, field: str) -> InvalidInput:
    return InvalidInput(
        Text("%(number)r %(why)s", number=raw, why=why), field=field, value=raw[: MAX_NUMBER_LENGTH + 10], reason=why
    )


def _rehome_overseas(number: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber:
    """+33 692... (a Réunion mobile written in the national plan) -> +262 692..."""
    if number.country_code != 33:
        return number
    nsn = str(number.national_number)
    if len(nsn) != 9:
        return number
    cc = _OVERSEAS_CC.get(nsn[:3]) or _OVERSEAS_CC.get(nsn[:4])
    if cc is None:
        return number
    return phonenumbers.parse(f"+{cc}{nsn}")


def normalize_number(raw: str, default_region: str = "FR", *, field: str = "phone") -> str:
    """The E.164 form of a phone number written any usual way (``06 12 34 56 78``,
    ``+33 (0)6 12...``, ``0033 6...``, ``612345678`` from a spreadsheet that dropped the 0,
    ``0692 12 34 56``). Raises `InvalidInput` with ``field`` and a ``reason`` saying why the
    text is not a phone number in use."""
    if not isinstance(raw, str):
        raise InvalidInput(Text("a phone number is required"), field=field, reason="missing")
    text = raw.strip()
    if not text:
        raise InvalidInput(Text("a phone number is required"), field=field, reason="empty")
    if len(text) > MAX_NUMBER_LENGTH:
        raise _number_error(text[:MAX_NUMBER_LENGTH] + "…", Text("is too long to be a phone number"), field)
    if not _NUMBER_CHARS.fullmatch(text):
        bad = "".join(sorted({ch for ch in text if not _NUMBER_CHARS.fullmatch(ch)}))
        raise _number_error(
            text, Text("contains characters that are not part of a phone number (%(chars)s)", chars=bad), field
        )
    if "+" in text[1:]:
        raise _number_error(text, Text("has a '+' that is not at the start"), field)
    digits = re.sub(r"\D", "", text)
    if not digits:
        raise _number_error(text, Text("has no digits"), field)
    try:
        number = phonenumbers.parse(text, default_region)
    except NumberParseException as exc:
        raise _number_error(text, _PARSE_REASONS.get(exc.error_type, Text("is not a phone number")), field) from None
    number = _rehome_overseas(number)
    possible = phonenumbers.is_possible_number_with_reason(number)
    region = phonenumbers.region_code_for_country_code(number.country_code)
    if possible not in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        why = _POSSIBLE_REASONS.get(possible, Text("is not a possible phone number"))
        raise _number_error(
            text,
            Text("%(why)s for a number in %(region)s (+%(cc)s)", why=why, region=region, cc=number.country_code),
            field,
        )
    if not phonenumbers.is_valid_number(number):
        raise _number_error(
            text,
            Text(
                "is not a number in use in %(region)s (no such range in the +%(cc)s plan)",
                region=region,
                cc=number.country_code,
            ),
            field,
        )
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def display_number(e164: str) -> str:
    """How an agent reads a stored number: French plan nationally (``06 12 34 56 78``), others
    internationally (``+44 20 7946 0958``)."""
    try:
        number = phonenumbers.parse(e164)
    except NumberParseException:
        return e164
    region = phonenumbers.region_code_for_number(number)
    fmt = PhoneNumberFormat.NATIONAL if region in _FRENCH_PLAN_REGIONS else PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, fmt)


# --- customer fields -----------------------------------------------------------------------

CUSTOMER_NUMBER_LENGTH = 8
FIELD_LIMITS = {"first_name": 100, "last_name": 100, "company": 200, "email": 254, "notes": 5000}
PHONE_LABEL_LIMIT = 32
_EMAIL = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]{2,}")
# metropolitan departments 01..95 (Corsica 20), overseas 971..978, Monaco 980, 984..988
_POSTCODE = re.compile(r"(?:0[1-9]|[1-8]\d|9[0-5])\d{3}|97[1-8]\d{2}|98[04-8]\d{2}")
TICKET_STATUSES = ("open", "pending", "closed")
DIRECTIONS = ("inbound", "outbound")


# the fields as the messages name them
_FIELD_WORDS = {
    "first_name": Text("first name"),
    "last_name": Text("last name"),
    "company": Text("company"),
    "email": Text("email"),
    "notes": Text("notes"),
}


def clean_customer_number(raw: Any, *, field: str = "customer_number") -> str | None:
    """None for an empty value, else the 8 digits; spaces are dropped (``1234 5678``)."""
    if raw is None:
        return None
    text = re.sub(r"[\s\u00a0\u202f]", "", str(raw))
    if not text:
        return None
    if not text.isdigit() or not text.isascii():
        raise InvalidInput(
            Text("customer number %(number)r must be %(length)s digits", number=text, length=CUSTOMER_NUMBER_LENGTH),
            field=field,
            value=text[:40],
            reason="not digits",
        )
    if len(text) != CUSTOMER_NUMBER_LENGTH:
        message = (
            Text(
                "customer number %(number)r has %(count)s digits, not %(length)s "
                "(did a spreadsheet drop its leading zeros?)",
                number=text,
                count=len(text),
                length=CUSTOMER_NUMBER_LENGTH,
            )
            if len(text) < CUSTOMER_NUMBER_LENGTH
            else Text(
                "customer number %(number)r has %(count)s digits, not %(length)s",
                number=text,
                count=len(text),
                length=CUSTOMER_NUMBER_LENGTH,
            )
        )
        raise InvalidInput(
            message,
            field=field,
            value=text[:40],
            reason="wrong length",
        )
    return text


def clean_email(raw: Any, *, field: str = "email") -> str:
    text = str(raw or "").strip()
    if not text:
        return ""
    if len(text) > FIELD_LIMITS["email"] or not _EMAIL.fullmatch(text):
        raise InvalidInput(
            Text("%(value)r is not an email address (name@domain.tld)", value=text[:80]),
            field=field,
            value=text[:80],
            reason="bad email",
        )
    return text


def clean_postcode(raw: Any, *, field: str = "postcode") -> str:
    text = str(raw or "").strip()
    if not text:
        return ""
    if not text.isascii() or not _POSTCODE.fullmatch(text):
        if text.isdigit() and len(text) == 4:
            why = Text("has 4 digits, not 5 (did a spreadsheet drop its leading zero?)")
        elif text.isdigit() and len(text) == 5:
            why = Text("is not a French postcode (department 01-95, 971-978 or 98x)")
        else:
            why = Text("is not a postcode: 5 digits expected")
        raise InvalidInput(
            Text("postcode %(value)r %(why)s", value=text[:20], why=why), field=field, value=text[:20], reason=why
        )
    return text


def clean_text(raw: Any, field: str, *, multiline: bool = False) -> str:
    """Strip; single-line fields also get their inner whitespace collapsed. Length-checked."""
    text = str(raw or "")
    text = text.strip() if multiline else " ".join(text.split())
    if multiline:
        text = text.replace("\r\n", "\n")
    limit = FIELD_LIMITS[field]
    if len(text) > limit:
        raise InvalidInput(
            Text("%(field)s is longer than %(limit)s characters", field=_FIELD_WORDS.get(field, field), limit=limit),
            field=field,
            reason="too long",
        )
    return text


def clean_label(raw: Any, *, field: str = "label") -> str:
    text = " ".join(str(raw or "").split())
    if len(text) > PHONE_LABEL_LIMIT:
        raise InvalidInput(Text("a phone label has at most %(limit)s characters", limit=PHONE_LABEL_LIMIT), field=field)
    return text


IDENTITY_FIELDS = ("customer_number", "first_name", "last_name", "company", "email", "postcode", "notes")


def clean_identity(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate the identity fields present in `fields` (others are left out). Raises
    `InvalidInput` naming the first bad field; unknown fields are refused."""
    unknown = set(fields) - set(IDENTITY_FIELDS)
    if unknown:
        raise InvalidInput(
            Text("unknown customer fields: %(value)s", value=", ".join(sorted(unknown))), field=sorted(unknown)[0]
        )
    cleaned: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "customer_number":
            cleaned[name] = clean_customer_number(value)
        elif name == "email":
            cleaned[name] = clean_email(value)
        elif name == "postcode":
            cleaned[name] = clean_postcode(value)
        else:
            cleaned[name] = clean_text(value, name, multiline=name == "notes")
    return cleaned


def clean_phones(phones: Iterable[Any], *, default_region: str = "FR") -> list[tuple[str, str]]:
    """[(e164, label)] from strings or ``{"number": ..., "label": ...}`` / (number, label) items;
    the field of an error is ``phones[i]``. The same number twice is kept once."""
    result: dict[str, str] = {}
    for index, item in enumerate(phones):
        name = f"phones[{index}]"
        if isinstance(item, dict):
            raw, label = item.get("number", item.get("e164")), item.get("label", "")
        elif isinstance(item, (tuple, list)):
            raw, label = (item[0], item[1]) if len(item) > 1 else (item[0] if item else None, "")
        else:
            raw, label = item, ""
        e164 = normalize_number(raw if isinstance(raw, str) else "", default_region, field=name)
        result.setdefault(e164, clean_label(label, field=name))
    return list(result.items())


def clean_ticket_status(status: Any) -> str:
    if status not in TICKET_STATUSES:
        raise InvalidInput(
            Text("a ticket status is one of %(value)s", value=", ".join(TICKET_STATUSES)),
            field="status",
            value=str(status)[:20],
        )
    return status


def clean_direction(direction: Any) -> str:
    if direction not in DIRECTIONS:
        raise InvalidInput(
            Text("direction is one of %(value)s", value=", ".join(DIRECTIONS)),
            field="direction",
            value=str(direction)[:20],
        )
    return direction


# --- CSV import ----------------------------------------------------------------------------

MAX_IMPORT_ROWS = 100_000
PHONE_FIELDS = {"phone": "", "mobile": "mobile"}  # CSV field -> label of the stored number

_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "customer_number": (
        "numero client",
        "num client",
        "n client",
        "no client",
        "nr client",
        "numero de client",
        "id client",
        "code client",
        "ref client",
        "reference client",
        "customer number",
        "customer id",
        "customer no",
        "client id",
        "account number",
    ),
    "phone": (
        "numero",
        "numero de telephone",
        "numero telephone",
        "telephone",
        "tel",
        "phone",
        "phone number",
        "fixe",
        "telephone fixe",
        "tel fixe",
    ),
    "mobile": (
        "mobile",
        "portable",
        "tel portable",
        "telephone portable",
        "tel mobile",
        "telephone mobile",
        "gsm",
        "cell",
        "cellphone",
        "cell phone",
        "mobile phone",
    ),
    "last_name": ("nom", "nom de famille", "last name", "lastname", "surname", "family name"),
    "first_name": ("prenom", "first name", "firstname", "given name"),
    "company": ("societe", "entreprise", "raison sociale", "company", "company name", "organisation", "organization"),
    "email": (
        "email",
        "e mail",
        "mail",
        "courriel",
        "adresse email",
        "adresse e mail",
        "adresse mail",
        "email address",
    ),
    "postcode": ("code postal", "cp", "postcode", "postal code", "zip", "zip code", "zipcode"),
    "notes": ("notes", "note", "commentaire", "commentaires", "remarques", "comments", "comment"),
}
EXPECTED_KEY_COLUMNS = ("téléphone", "numéro", "phone", "mobile", "numéro client", "customer_number")


def header_key(text: str) -> str:
    """``Numéro_Client`` -> ``numero client``: accents, case and punctuation do not matter."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


_ALIAS_TO_FIELD = {header_key(alias): name for name, aliases in _HEADER_ALIASES.items() for alias in aliases}
_ALIAS_TO_FIELD.update({header_key(name): name for name in _HEADER_ALIASES})


@dataclass(frozen=True)
class CustomerRow:
    """A good line of an import file, normalized."""

    line: int
    customer_number: str | None
    phones: tuple[tuple[str, str], ...]  # (e164, label)
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    email: str = ""
    postcode: str = ""
    notes: str = ""

    def identity(self) -> dict[str, Any]:
        return {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": self.company,
            "email": self.email,
            "postcode": self.postcode,
            "notes": self.notes,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "customer_number": self.customer_number,
            "phones": [{"e164": e, "label": label} for e, label in self.phones],
            **self.identity(),
        }


@dataclass(frozen=True)
class Rejection:
    """Why one line (or one field of it) is not imported."""

    line: int
    field: str  # a customer field (phone, email, postcode...) or "line" for the whole line
    reason: str  # a Text (shown in the reader's language)
    column: str = ""  # the header as written in the file
    value: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "field": self.field,
            "column": self.column,
            "value": self.value,
            **with_texts({"reason": self.reason}),
        }


@dataclass(frozen=True)
class ImportPreview:
    filename: str
    encoding: str  # "utf-8", "utf-8 (BOM)", "windows-1252", "iso-8859-1", "utf-16"
    delimiter: str
    header_line: int
    columns: dict[str, str]  # field -> header as written
    ignored_columns: tuple[str, ...]
    data_lines: int  # non-blank lines after the header
    rows: tuple[CustomerRow, ...]
    rejected: tuple[Rejection, ...]
    blank_lines: int = 0

    @property
    def rejected_lines(self) -> list[int]:
        return sorted({r.line for r in self.rejected})

    @property
    def good_count(self) -> int:
        return len(self.rows)

    @property
    def rejected_count(self) -> int:
        return len(self.rejected_lines)

    def reject(self, rejections: Iterable[Rejection]) -> ImportPreview:
        """This preview with more rejected lines (found against the database); their rows leave
        the good ones."""
        extra = tuple(rejections)
        if not extra:
            return self
        lines = {r.line for r in extra}
        return replace(
            self,
            rows=tuple(r for r in self.rows if r.line not in lines),
            rejected=tuple(sorted(self.rejected + extra, key=lambda r: (r.line, r.field))),
        )

    def to_dict(self, *, sample: int = 10) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "encoding": self.encoding,
            "delimiter": {"\t": "tab"}.get(self.delimiter, self.delimiter),
            "header_line": self.header_line,
            "columns": self.columns,
            "ignored_columns": list(self.ignored_columns),
            "data_lines": self.data_lines,
            "blank_lines": self.blank_lines,
            "good": self.good_count,
            "rejected_lines": self.rejected_count,
            "rejected": [r.to_dict() for r in self.rejected],
            "sample": [r.to_dict() for r in self.rows[:sample]],
        }


def decode_csv(data: bytes) -> tuple[str, str]:
    """(text, encoding name). UTF-8 (with or without BOM) first; a file that is not valid UTF-8
    is a Windows-1252 export (Excel on Windows), else Latin-1. UTF-16 only with its BOM."""
    if data.startswith(b"PK\x03\x04"):
        raise InvalidInput(
            Text(
                "this is an Excel or zip file, not a CSV: save it as « CSV (séparateur: point-virgule) » and upload that"
            ),
            field="file",
            reason="not a csv",
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise InvalidInput(Text("the file starts like UTF-16 but is not"), field="file") from None
    if b"\x00" in data[:65536]:
        raise InvalidInput(Text("this is a binary file, not a CSV text file"), field="file", reason="binary")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data.decode("utf-8-sig"), "utf-8 (BOM)"
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                Text("the file announces UTF-8 (BOM) but byte %(byte)s is not UTF-8", byte=exc.start), field="file"
            ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "iso-8859-1"


def _map_header(cells: list[str], line: int) -> tuple[dict[str, int], dict[str, str], list[str]]:
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    ignored: list[str] = []
    for index, cell in enumerate(cells):
        title = cell.strip()
        name = _ALIAS_TO_FIELD.get(header_key(title))
        if name is None:
            if title:
                ignored.append(title)
            continue
        if name in positions:
            raise InvalidInput(
                Text(
                    "columns %(first)r and %(second)r both mean %(field)s: keep one",
                    first=written[name],
                    second=title,
                    field=name,
                ),
                field="header",
                line=line,
                column=title,
            )
        positions[name] = index
        written[name] = title
    if not ({"phone", "mobile", "customer_number"} & set(positions)):
        raise InvalidInput(
            Text(
                "the file has no phone column and no customer number column: its header (line "
                "%(line)s) must name one of %(expected)s (found: %(found)s)",
                line=line,
                expected=", ".join(EXPECTED_KEY_COLUMNS),
                found=", ".join(c.strip() for c in cells if c.strip()) or Text("nothing"),
            ),
            field="header",
            line=line,
            expected=list(EXPECTED_KEY_COLUMNS),
            found=[c.strip() for c in cells],
        )
    return positions, written, ignored


def parse_customer_csv(data: bytes, filename: str = "", *, default_region: str = "FR") -> ImportPreview:
    """Parse and check an import file. Good rows come back normalized; every rejected line is
    reported once per bad field with its line number in the file (blank lines count). Raises
    `InvalidInput` (``field="file"`` or ``"header"``) when the file as a whole is unusable."""
    if not data or not data.strip():
        raise InvalidInput("the file is empty", field="file", reason="empty")
    text, encoding = decode_csv(data)
    lines = text.splitlines()
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None:
        raise InvalidInput("the file is empty", field="file", reason="empty")
    delimiter = sniff_delimiter(lines[header_index])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    header_line = 0
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    ignored: list[str] = []
    rows: list[CustomerRow] = []
    rejected: list[Rejection] = []
    seen_numbers: dict[str, int] = {}
    seen_phones: dict[str, int] = {}
    data_lines = blank = 0
    previous_end = 0
    try:
        for cells in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not cells or not any(c.strip() for c in cells):
                if header is not None:
                    blank += 1
                continue
            if header is None:
                header, header_line = cells, line
                positions, written, ignored = _map_header(cells, line)
                continue
            data_lines += 1
            if data_lines > MAX_IMPORT_ROWS:
                raise InvalidInput(
                    Text("the file has more than %(max)s lines: split it", max=MAX_IMPORT_ROWS), field="file", line=line
                )
            row, problems = _check_row(
                cells, header, positions, written, line, previous_end, seen_numbers, seen_phones, default_region
            )
            if problems:
                rejected.extend(problems)
            else:
                assert row is not None
                rows.append(row)
                if row.customer_number:
                    seen_numbers[row.customer_number] = line
                for e164, _label in row.phones:
                    seen_phones[e164] = line
    except csv.Error as exc:
        raise InvalidInput(
            Text("line %(line)s cannot be read as CSV: %(error)s", line=reader.line_num, error=str(exc)),
            field="file",
            line=reader.line_num,
        ) from None
    if header is None:
        raise InvalidInput("the file is empty", field="file", reason="empty")
    return ImportPreview(
        filename=filename,
        encoding=encoding,
        delimiter=delimiter,
        header_line=header_line,
        columns=written,
        ignored_columns=tuple(ignored),
        data_lines=data_lines,
        rows=tuple(rows),
        rejected=tuple(rejected),
        blank_lines=blank,
    )


def _check_row(
    cells: list[str],
    header: list[str],
    positions: dict[str, int],
    written: dict[str, str],
    line: int,
    end_line: int,
    seen_numbers: dict[str, int],
    seen_phones: dict[str, int],
    default_region: str,
) -> tuple[CustomerRow | None, list[Rejection]]:
    # trailing empty cells (a spreadsheet's extra separators) are harmless
    while len(cells) > len(header) and not cells[-1].strip():
        cells = cells[:-1]
    if len(cells) != len(header):
        why = (
            Text(
                "has %(count)s columns, the header has %(expected)s "
                "(a quote is probably not closed: this line runs to line %(end)s)",
                count=len(cells),
                expected=len(header),
                end=end_line,
            )
            if end_line > line
            else Text("has %(count)s columns, the header has %(expected)s", count=len(cells), expected=len(header))
        )
        return None, [Rejection(line, "line", why, value=_preview(cells))]
    problems: list[Rejection] = []

    def value(name: str) -> str:
        return cells[positions[name]] if name in positions else ""

    def problem(name: str, reason: str) -> None:
        problems.append(Rejection(line, name, reason, column=written.get(name, ""), value=value(name)[:80]))

    cleaned: dict[str, Any] = {}
    for name in ("first_name", "last_name", "company", "notes"):
        try:
            cleaned[name] = clean_text(value(name), name, multiline=name == "notes")
        except InvalidInput as exc:
            problem(name, exc.message)
    try:
        cleaned["email"] = clean_email(value("email"))
    except InvalidInput as exc:
        problem("email", exc.message)
    try:
        cleaned["postcode"] = clean_postcode(value("postcode"))
    except InvalidInput as exc:
        problem("postcode", exc.message)
    customer_number = None
    try:
        customer_number = clean_customer_number(value("customer_number"))
    except InvalidInput as exc:
        problem("customer_number", exc.message)
    else:
        if customer_number and customer_number in seen_numbers:
            problem(
                "customer_number",
                Text(
                    "customer number %(number)s is already on line %(line)s (duplicate in the file)",
                    number=customer_number,
                    line=seen_numbers[customer_number],
                ),
            )
    phones: dict[str, str] = {}
    for name, label in PHONE_FIELDS.items():
        raw = value(name).strip()
        if not raw:
            continue
        try:
            e164 = normalize_number(raw, default_region, field=name)
        except InvalidInput as exc:
            problem(name, exc.message)
            continue
        if e164 in seen_phones:
            problem(
                name,
                Text(
                    "%(number)r (%(e164)s) is already on line %(line)s (duplicate in the file)",
                    number=raw,
                    e164=e164,
                    line=seen_phones[e164],
                ),
            )
            continue
        phones.setdefault(e164, label)
    if (
        not phones
        and customer_number is None
        and not any(p.field in ("phone", "mobile", "customer_number") for p in problems)
    ):
        problems.append(
            Rejection(
                line,
                "phone" if "phone" in positions or "mobile" in positions else "customer_number",
                Text("no phone number and no customer number: nothing identifies this customer"),
            )
        )
    if problems:
        return None, problems
    return CustomerRow(line=line, customer_number=customer_number, phones=tuple(phones.items()), **cleaned), []


def _preview(cells: list[str]) -> str:
    text = " | ".join(c.strip() for c in cells)
    return text if len(text) <= 80 else text[:79] + "…"


# --- the customer file (what the screen-pop and the pages show) ----------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class Phone:
    e164: str
    label: str = ""

    @property
    def display(self) -> str:
        return display_number(self.e164)

    def to_dict(self) -> dict[str, Any]:
        return {"e164": self.e164, "label": self.label, "display": self.display}


@dataclass(frozen=True)
class CallInfo:
    """The call an interaction was about, as the platform recorded it (table ``calls``)."""

    uniqueid: str
    caller_number: str | None
    queue: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None

    @property
    def talk_seconds(self) -> int | None:
        if self.answered_at is None or self.ended_at is None:
            return None
        return max(0, round((self.ended_at - self.answered_at).total_seconds()))

    @property
    def wait_seconds(self) -> int | None:
        end = self.answered_at or self.ended_at
        return None if end is None else max(0, round((end - self.started_at).total_seconds()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "uniqueid": self.uniqueid,
            "caller_number": self.caller_number,
            "queue": self.queue,
            "started_at": _iso(self.started_at),
            "answered_at": _iso(self.answered_at),
            "ended_at": _iso(self.ended_at),
            "outcome": self.outcome,
            "wait_seconds": self.wait_seconds,
            "talk_seconds": self.talk_seconds,
        }


@dataclass(frozen=True)
class InteractionView:
    id: int
    customer_id: int
    at: datetime
    direction: str
    agent: str
    queue: str
    disposition: str
    notes: str
    call_uniqueid: str | None
    call: CallInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "at": _iso(self.at),
            "direction": self.direction,
            "agent": self.agent,
            "queue": self.queue,
            "disposition": self.disposition,
            "notes": self.notes,
            "call_uniqueid": self.call_uniqueid,
            "call": self.call.to_dict() if self.call else None,
        }


@dataclass(frozen=True)
class TicketView:
    id: int
    customer_id: int
    call_uniqueid: str | None
    subject: str
    status: str
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    notes: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "call_uniqueid": self.call_uniqueid,
            "subject": self.subject,
            "status": self.status,
            "opened_at": _iso(self.opened_at),
            "updated_at": _iso(self.updated_at),
            "closed_at": _iso(self.closed_at),
            "notes": self.notes,
        }


@dataclass(frozen=True)
class CustomerFile:
    """Everything an agent sees when a customer calls: identity, numbers, the last interactions
    (newest first, with their call) and the tickets not closed yet (newest first)."""

    id: int
    customer_number: str | None
    first_name: str
    last_name: str
    company: str
    email: str
    postcode: str
    notes: str
    created_at: datetime
    updated_at: datetime
    phones: tuple[Phone, ...] = ()
    interactions: tuple[InteractionView, ...] = ()
    open_tickets: tuple[TicketView, ...] = ()
    matched_by: str | None = None  # "phone" | "customer_number" when found by a lookup
    matched_value: str | None = None

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return (
            name or self.company or (f"client {self.customer_number}" if self.customer_number else f"client #{self.id}")
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_number": self.customer_number,
            "display_name": self.display_name,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": self.company,
            "email": self.email,
            "postcode": self.postcode,
            "notes": self.notes,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "phones": [p.to_dict() for p in self.phones],
            "interactions": [i.to_dict() for i in self.interactions],
            "open_tickets": [t.to_dict() for t in self.open_tickets],
            "matched_by": self.matched_by,
            "matched_value": self.matched_value,
        }


@dataclass(frozen=True)
class CustomerSummary:
    """A line of the customer list."""

    id: int
    customer_number: str | None
    first_name: str
    last_name: str
    company: str
    email: str
    postcode: str
    updated_at: datetime
    phones: tuple[Phone, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_number": self.customer_number,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": self.company,
            "email": self.email,
            "postcode": self.postcode,
            "updated_at": _iso(self.updated_at),
            "phones": [p.to_dict() for p in self.phones],
        }


@dataclass(frozen=True)
class ImportReport:
    filename: str
    data_lines: int
    imported: int  # created + updated
    created: int
    updated: int
    phones_added: int
    rejected_lines: int  # not imported (the preview's rejected lines)
    confirm_partial: bool
    duration_seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.imported / self.duration_seconds if self.duration_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "data_lines": self.data_lines,
            "imported": self.imported,
            "created": self.created,
            "updated": self.updated,
            "phones_added": self.phones_added,
            "rejected_lines": self.rejected_lines,
            "confirm_partial": self.confirm_partial,
            "duration_seconds": round(self.duration_seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
        }
