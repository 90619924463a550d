"""Import files of the outbound capability: contact lists, consent ledgers, lists of numbers.

Pure: bytes in, checked rows and line-numbered rejections out (no I/O, no clock: the caller
passes "now" where a date is checked). The service stores only what a preview accepted, in one
transaction, so a file is imported whole or not at all.

Contact lists (`parse_contacts`): CSV with a header line, separated by ``;``, ``,`` or tabs
(sniffed on the header), in the encoding the operator declares (UTF-8 by default; a file that is
not in that encoding is refused with the numbers of the lines that are not). The number may be
written in any common French or E.164 way (see numbers.py); name (or first and last name),
postcode (or an address holding one), a contract flag, and any other column kept as a custom
field. Each contact gets its area and time zone from its postcode when known, else from its
number. Lines are rejected, each with its line number in the file and why: no or bad number,
duplicate of an earlier line or of a contact already in the campaign, bad postcode, wrong number
of fields, a quote never closed...

Problems with the file as a whole (empty, binary, wrong encoding, no number column, duplicate
columns) raise `InvalidInput` with ``line`` (and ``lines``) in its details.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ...core.csvtext import sniff_delimiter
from ...core.errors import InvalidInput
from ...core.text import Text
from .numbers import FrenchNumber, NumberKind, parse_number
from .windows import area_for_postcode, resolve_area

ENCODINGS = {"utf-8": "utf-8", "windows-1252": "cp1252", "iso-8859-1": "latin-1", "utf-16": "utf-16"}
MAX_NAME = 200
MAX_FIELD_VALUE = 1000
MAX_CUSTOM_FIELDS = 50
MAX_LINES_LISTED = 20  # line numbers listed in a whole-file error
PROGRESS_EVERY = 2000  # lines between two progress reports
_FUTURE_SLACK = timedelta(minutes=5)  # a consent dated a little ahead (clock skew) is accepted

Progress = Callable[[int, int], None]  # (lines done, total lines)


def header_key(text: str) -> str:
    """``Numéro_de-Téléphone`` -> ``numero de telephone``: accents, case, punctuation ignored."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def _aliases(table: Mapping[str, Iterable[str]]) -> dict[str, str]:
    out = {}
    for name, aliases in table.items():
        for alias in (name, *aliases):
            out[header_key(alias)] = name
    return out


CONTACT_COLUMNS = _aliases(
    {
        "number": (
            "numero",
            "numéro",
            "telephone",
            "téléphone",
            "tel",
            "tél",
            "phone",
            "phone number",
            "mobile",
            "portable",
            "gsm",
            "msisdn",
            "numero de telephone",
            "n de telephone",
            "num tel",
            "numero tel",
            "telephone mobile",
            "tel mobile",
            "e164",
        ),
        "name": ("nom complet", "full name", "contact", "nom et prenom", "raison sociale"),
        "first_name": ("prenom", "prénom", "first name", "firstname", "given name"),
        "last_name": ("nom", "nom de famille", "last name", "lastname", "surname", "family name"),
        "postcode": ("code postal", "cp", "postal code", "zip", "zip code", "zipcode", "code_postal"),
        "address": ("adresse", "adresse postale", "address", "adresse complete"),
        "contract": ("contrat", "contrat en cours", "current contract", "client sous contrat"),
    }
)
NUMBER_COLUMN_NAMES = ("numéro", "téléphone", "tel", "mobile", "portable", "phone", "number")

_TRUE = {"1", "oui", "o", "yes", "y", "true", "vrai", "x"}
_FALSE = {"", "0", "non", "n", "no", "false", "faux"}
_POSTCODE_IN_TEXT = re.compile(r"(?<!\d)(\d{5}|\d{2} \d{3})(?!\d)")


# --- results -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rejection:
    """Why one line (or a range of physical lines) of a file is not imported."""

    line: int
    reason: str
    column: str = ""
    value: str = ""
    last_line: int | None = None  # a record spanning several physical lines

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"line": self.line, "reason": self.reason}
        if self.column:
            out["column"] = self.column
        if self.value:
            out["value"] = self.value[:100]
        if self.last_line and self.last_line != self.line:
            out["last_line"] = self.last_line
        return out


@dataclass(frozen=True)
class ContactRow:
    line: int
    nsn: int
    number: str  # national writing, 0XXXXXXXXX
    name: str
    postcode: str
    area: str  # windows.AREAS code
    timezone: str
    area_source: str  # "postcode", "address" or "number"
    contract: bool
    fields: dict[str, str]

    def to_list(self) -> list[Any]:
        """Compact form kept between the preview and the commit (see `row_from_list`)."""
        return [
            self.line,
            self.nsn,
            self.number,
            self.name,
            self.postcode,
            self.area,
            self.timezone,
            self.area_source,
            self.contract,
            self.fields,
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "number": self.number,
            "name": self.name,
            "postcode": self.postcode,
            "area": self.area,
            "timezone": self.timezone,
            "area_source": self.area_source,
            "contract": self.contract,
            "fields": self.fields,
        }


def row_from_list(values: list[Any]) -> ContactRow:
    return ContactRow(*values)


@dataclass
class ContactPreview:
    filename: str
    encoding: str
    delimiter: str
    columns: dict[str, str]  # field -> header as written
    custom_columns: list[str]
    total_lines: int  # physical lines after the header
    blank_lines: int
    rows: list[ContactRow]
    rejections: list[Rejection]

    @property
    def rejected_lines(self) -> int:
        return len({r.line for r in self.rejections})

    def report(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "encoding": self.encoding,
            "delimiter": {"\t": "tab"}.get(self.delimiter, self.delimiter),
            "columns": self.columns,
            "custom_columns": self.custom_columns,
            "total_lines": self.total_lines,
            "blank_lines": self.blank_lines,
            "accepted": len(self.rows),
            "rejected": self.rejected_lines,
            "rejections": [r.to_dict() for r in self.rejections],
        }


# --- decoding ----------------------------------------------------------------------------------
def decode(data: bytes, encoding: str = "utf-8") -> tuple[str, str]:
    """(text, encoding used). Refuses, with line numbers, a file that is not in `encoding`."""
    if encoding not in ENCODINGS:
        raise InvalidInput(
            Text("unknown encoding, expected one of %(value)s", value=", ".join(ENCODINGS)),
            field="encoding",
            value=encoding,
        )
    if not data or not data.strip():
        raise InvalidInput("the file is empty", field="file", line=1)
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise InvalidInput(
            "this is a spreadsheet (Excel/ODS) file, not CSV text: save it as CSV and upload that", field="file", line=1
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise InvalidInput("the file starts as UTF-16 but is not", field="file", line=1) from None
    if encoding == "utf-16":
        raise InvalidInput("the file is not UTF-16 (no byte order mark)", field="encoding", line=1)
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise InvalidInput(
            Text("line %(line)s: binary data (NUL byte): this is not a text file", line=line), field="file", line=line
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data, encoding = data[3:], "utf-8"  # a BOM says UTF-8 whatever was chosen
    codec = ENCODINGS[encoding]
    lines = data.split(b"\n")
    bad: list[int] = []
    for number, raw in enumerate(lines, start=1):
        try:
            raw.decode(codec)
        except UnicodeDecodeError as exc:
            bad.append(number)
            if len(bad) == 1:
                first = (number, raw[exc.start : exc.start + 1].hex())
    if bad:
        hint = (
            "re-import it as windows-1252 (Excel on Windows) or iso-8859-1"
            if encoding == "utf-8"
            else "choose its real encoding"
        )
        shown = ", ".join(map(str, bad[:MAX_LINES_LISTED])) + (" ..." if len(bad) > MAX_LINES_LISTED else "")
        raise InvalidInput(
            Text(
                "line %(first)s: byte 0x%(first2)s is not %(encoding)s text (%(count)s line(s): %(shown)s); %(hint)s",
                first=first[0],
                first2=first[1],
                encoding=encoding,
                count=len(bad),
                shown=shown,
                hint=hint,
            ),
            field="encoding",
            line=first[0],
            lines=bad[:MAX_LINES_LISTED],
            encoding=encoding,
        )
    if encoding != "utf-8":
        # declared Windows-1252/Latin-1 but written in UTF-8: "é" would become "Ã©"
        suspicious = [
            n for n, raw in enumerate(lines, start=1) if re.search(rb"[\xc2-\xf4][\x80-\xbf]", raw) and _is_utf8(raw)
        ]
        if suspicious:
            raise InvalidInput(
                Text(
                    "line %(suspicious)s: the text is UTF-8, not %(encoding)s (accents would be garbled); re-import it as utf-8",
                    suspicious=suspicious[0],
                    encoding=encoding,
                ),
                field="encoding",
                line=suspicious[0],
                lines=suspicious[:MAX_LINES_LISTED],
                encoding=encoding,
            )
    return data.decode(codec), encoding


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


@dataclass
class _Record:
    line: int  # first physical line
    last_line: int
    cells: list[str] | None  # None: unreadable (see error)
    error: str = ""


def _records(text: str, delimiter: str, offset: int = 0) -> Iterable[_Record]:
    """CSV records with the (file) lines they span; a broken record is reported, not raised.
    `offset`: lines of the file before `text` (the header)."""
    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            end = reader.line_num
            message = str(exc)
            if "unexpected end of data" in message or end >= len(lines) and end > start:
                why = f"a quote opened on line {start + offset} is never closed"
            else:
                why = f"unreadable CSV ({message})"
            yield _Record(start + offset, max(start, end) + offset, None, why)
            start = end + 1
            continue
        end = reader.line_num
        yield _Record(start + offset, end + offset, cells)
        start = end + 1


def _header(text: str) -> tuple[int, str]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            return number, line
    raise InvalidInput("the file is empty", field="file", line=1)


# --- contacts ----------------------------------------------------------------------------------
def _map_contact_header(cells: list[str], line: int) -> tuple[dict[str, int], dict[str, str], list[tuple[int, str]]]:
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    custom: list[tuple[int, str]] = []
    seen: dict[str, str] = {}
    for index, cell in enumerate(cells):
        title = cell.strip()
        key = header_key(title)
        if not title:
            continue
        if key in seen:
            raise InvalidInput(
                Text("line %(line)s: column %(title)r appears twice", line=line, title=title),
                field="header",
                line=line,
                column=title,
            )
        seen[key] = title
        name = CONTACT_COLUMNS.get(key)
        if name is None:
            custom.append((index, title))
            continue
        positions[name] = index
        written[name] = title
    if "number" not in positions:
        raise InvalidInput(
            Text(
                "line %(line)s: no number column; the header must name one of %(value)s (found: %(value2)s)",
                line=line,
                value=", ".join(NUMBER_COLUMN_NAMES),
                value2=", ".join(c.strip() for c in cells if c.strip()) or "nothing",
            ),
            field="header",
            line=line,
            found=[c.strip() for c in cells],
        )
    if len(custom) > MAX_CUSTOM_FIELDS:
        raise InvalidInput(
            Text(
                "line %(line)s: %(count)s custom columns, at most %(MAX_CUSTOM_FIELDS)s",
                line=line,
                count=len(custom),
                MAX_CUSTOM_FIELDS=MAX_CUSTOM_FIELDS,
            ),
            field="header",
            line=line,
        )
    return positions, written, custom


def clean_postcode(raw: str) -> str:
    """A French postcode (5 digits; a spreadsheet's 4-digit '1000' is 01000); InvalidInput."""
    text = raw.strip().replace(" ", "").replace("\u00a0", "")
    if text.isdigit() and len(text) == 4:
        text = "0" + text
    if len(text) != 5 or not text.isdigit():
        raise InvalidInput(Text("postcode %(value)r is not 5 digits", value=raw.strip()), field="postcode")
    if area_for_postcode(text) is None:
        raise InvalidInput(
            Text(
                "postcode %(text)s is outside the areas whose calling rules are known (metropolitan France and the DROM)",
                text=text,
            ),
            field="postcode",
        )
    return text


def parse_contacts(
    data: bytes,
    filename: str = "",
    *,
    encoding: str = "utf-8",
    existing: Mapping[int, Any] | None = None,
    progress: Progress | None = None,
) -> ContactPreview:
    """Check a contact file. `existing`: nsn -> description of contacts already in the campaign
    (their lines are rejected as duplicates)."""
    text, used = decode(data, encoding)
    header_line, header_text = _header(text)
    delimiter = sniff_delimiter(header_text)
    body = "\n".join(text.splitlines()[header_line:])
    header_cells = next(csv.reader([header_text], delimiter=delimiter))
    positions, written, custom = _map_contact_header(header_cells, header_line)
    width = len(header_cells)
    existing = existing or {}
    total = len(text.splitlines()) - header_line
    rows: list[ContactRow] = []
    rejections: list[Rejection] = []
    first_line_of: dict[int, int] = {}
    blank = 0
    next_report = PROGRESS_EVERY
    for record in _records(body, delimiter, header_line):
        line, last = record.line, record.last_line
        if progress is not None and last - header_line >= next_report:
            progress(last - header_line, total)
            next_report = last - header_line + PROGRESS_EVERY
        if record.cells is None:
            rejections.append(Rejection(line, record.error, last_line=last))
            continue
        cells = record.cells
        if not any(c.strip() for c in cells):
            blank += 1
            continue
        if len(cells) > width and not any(c.strip() for c in cells[width:]):
            cells = cells[:width]  # trailing separators
        if len(cells) != width:
            why = f"{len(cells)} fields where the header has {width}" + (
                f" (a line broken across lines {line}-{last}?)" if last > line else ""
            )
            rejections.append(Rejection(line, why, last_line=last))
            continue
        row = _contact_row(cells, line, positions, written, custom, rejections)
        if row is None:
            continue
        if row.nsn in first_line_of:
            rejections.append(
                Rejection(
                    line, f"duplicate of line {first_line_of[row.nsn]} ({row.number})", written["number"], row.number
                )
            )
            continue
        if row.nsn in existing:
            rejections.append(
                Rejection(
                    line,
                    f"{row.number} is already in the campaign ({existing[row.nsn]})",
                    written["number"],
                    row.number,
                )
            )
            continue
        first_line_of[row.nsn] = line
        rows.append(row)
    if progress is not None:
        progress(total, total)
    return ContactPreview(
        filename=filename,
        encoding=used,
        delimiter=delimiter,
        columns=written,
        custom_columns=[title for _, title in custom],
        total_lines=total,
        blank_lines=blank,
        rows=rows,
        rejections=rejections,
    )


def _contact_row(
    cells: list[str],
    line: int,
    positions: dict[str, int],
    written: dict[str, str],
    custom: list[tuple[int, str]],
    rejections: list[Rejection],
) -> ContactRow | None:
    def value(name: str) -> str:
        index = positions.get(name)
        return cells[index].strip() if index is not None else ""

    raw_number = value("number")
    if not raw_number:
        rejections.append(Rejection(line, "no number", written["number"]))
        return None
    try:
        number: FrenchNumber = parse_number(raw_number, field="number")
    except InvalidInput as exc:
        rejections.append(Rejection(line, exc.message, written["number"], raw_number))
        return None
    if number.kind is NumberKind.SPECIAL:
        rejections.append(
            Rejection(
                line, f"{number.national} is an 08 service number, not a consumer's line", written["number"], raw_number
            )
        )
        return None
    name = value("name") or " ".join(p for p in (value("first_name"), value("last_name")) if p)
    if len(name) > MAX_NAME:
        rejections.append(
            Rejection(
                line, f"name longer than {MAX_NAME} characters", written.get("name", written.get("last_name", "")), name
            )
        )
        return None
    postcode, source = "", "number"
    if value("postcode"):
        try:
            postcode, source = clean_postcode(value("postcode")), "postcode"
        except InvalidInput as exc:
            rejections.append(Rejection(line, exc.message, written["postcode"], value("postcode")))
            return None
    elif value("address"):
        found = _POSTCODE_IN_TEXT.findall(value("address"))
        if found:
            try:
                postcode, source = clean_postcode(found[-1]), "address"
            except InvalidInput as exc:
                rejections.append(Rejection(line, exc.message, written["address"], value("address")))
                return None
    contract_text = value("contract").lower()
    if contract_text in _TRUE:
        contract = True
    elif contract_text in _FALSE:
        contract = False
    else:
        rejections.append(
            Rejection(line, "contract must be oui/non (yes/no, 1/0)", written["contract"], value("contract"))
        )
        return None
    fields = {}
    for index, title in custom:
        text = cells[index].strip()
        if len(text) > MAX_FIELD_VALUE:
            rejections.append(Rejection(line, f"value longer than {MAX_FIELD_VALUE} characters", title, text))
            return None
        if text:
            fields[title] = text
    area, area_source = resolve_area(number, postcode or None)
    if area is None:  # cannot happen: postcodes were checked, numbers always give an area
        rejections.append(Rejection(line, "the consumer's time zone cannot be known"))
        return None
    return ContactRow(
        line=line,
        nsn=number.nsn,
        number=number.national,
        name=name,
        postcode=postcode,
        area=area.code,
        timezone=area.timezone,
        area_source="address" if source == "address" else area_source,
        contract=contract,
        fields=fields,
    )


# --- consent ledger ------------------------------------------------------------------------------
CONSENT_COLUMNS = _aliases(
    {
        "number": (
            "numero",
            "numéro",
            "telephone",
            "téléphone",
            "tel",
            "phone",
            "mobile",
            "portable",
            "numero de telephone",
        ),
        "scope": ("portee", "portée", "objet", "type", "type de consentement", "perimetre"),
        "action": ("operation", "opération", "evenement", "événement", "statut", "status"),
        "at": ("date", "horodatage", "date du consentement", "quand", "when", "timestamp", "le"),
        "source": ("origine", "canal", "channel", "collecte", "moyen"),
        "proof_ref": ("preuve", "proof", "reference", "référence", "reference preuve", "ref"),
    }
)
SCOPES = {
    "canvassing": "canvassing",
    "demarchage": "canvassing",
    "prospection": "canvassing",
    "prospection telephonique": "canvassing",
    "demarchage telephonique": "canvassing",
    "outside hours": "outside_hours",
    "outside_hours": "outside_hours",
    "hors horaires": "outside_hours",
    "hors heures": "outside_hours",
    "hors horaires legaux": "outside_hours",
}
ACTIONS = {
    "grant": "grant",
    "consent": "grant",
    "consentement": "grant",
    "oui": "grant",
    "accord": "grant",
    "opt in": "grant",
    "revoke": "revoke",
    "revocation": "revoke",
    "retrait": "revoke",
    "non": "revoke",
    "opt out": "revoke",
    "refusal": "refusal",
    "refus": "refusal",
}


@dataclass(frozen=True)
class ConsentRow:
    line: int
    nsn: int
    number: str
    scope: str  # canvassing | outside_hours
    action: str  # grant | revoke | refusal
    at: datetime  # aware UTC
    source: str
    proof_ref: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "number": self.number,
            "scope": self.scope,
            "action": self.action,
            "at": self.at.isoformat(),
            "source": self.source,
            "proof_ref": self.proof_ref,
        }


def parse_moment(text: str, field: str = "at", tz: str = "Europe/Paris") -> datetime:
    """ISO-8601 (offset or Z; none: `tz`), or French ``JJ/MM/AAAA[ HH:MM[:SS]]`` in `tz`."""
    raw = str(text).strip()
    if not raw:
        raise InvalidInput("a date is required", field=field)
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2})[:h](\d{2})(?::(\d{2}))?)?", raw)
    try:
        if m:
            d, mo, y, hh, mm, ss = m.groups()
            value = datetime.combine(date(int(y), int(mo), int(d)), time(int(hh or 0), int(mm or 0), int(ss or 0)))
        else:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            Text("%(raw)r is not a date (AAAA-MM-JJ[THH:MM], JJ/MM/AAAA [HH:MM])", raw=raw), field=field, value=raw
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(UTC)


def consent_entry(
    number: str,
    scope: str,
    action: str,
    at: datetime | str,
    *,
    now: datetime,
    source: str = "",
    proof_ref: str = "",
    line: int = 0,
) -> ConsentRow:
    """One checked consent ledger entry (the API and the file import share these rules)."""
    parsed = parse_number(number, field="number")
    scope_key = SCOPES.get(header_key(scope or "canvassing"))
    if scope_key is None:
        raise InvalidInput(
            "scope must be canvassing (démarchage) or outside_hours (hors horaires)", field="scope", value=scope
        )
    action_key = ACTIONS.get(header_key(action or "grant"))
    if action_key is None:
        raise InvalidInput("action must be grant, revoke or refusal", field="action", value=action)
    moment = at if isinstance(at, datetime) else parse_moment(at, "at")
    if moment.tzinfo is None:
        raise InvalidInput("the date must be timezone-aware", field="at", value=str(at))
    if moment > now.astimezone(UTC).replace(microsecond=0) + _FUTURE_SLACK:
        raise InvalidInput(
            Text("%(moment)s UTC is in the future", moment=f"{moment:%Y-%m-%d %H:%M}"), field="at", value=str(at)
        )
    source = (source or "").strip()
    proof_ref = (proof_ref or "").strip()
    if len(source) > 64:
        raise InvalidInput("source: at most 64 characters", field="source")
    if len(proof_ref) > 255:
        raise InvalidInput("proof reference: at most 255 characters", field="proof_ref")
    if action_key == "grant" and not (source or proof_ref):
        raise InvalidInput("a consent needs how it was collected: a source or a proof reference", field="source")
    return ConsentRow(
        line=line,
        nsn=parsed.nsn,
        number=parsed.national,
        scope=scope_key,
        action=action_key,
        at=moment.astimezone(UTC),
        source=source,
        proof_ref=proof_ref,
    )


def parse_consents(
    data: bytes, *, now: datetime, encoding: str = "utf-8", default_source: str = "import"
) -> tuple[list[ConsentRow], list[Rejection]]:
    """A consent ledger file: number, scope, action, date, source, proof reference."""
    text, _ = decode(data, encoding)
    header_line, header_text = _header(text)
    delimiter = sniff_delimiter(header_text)
    header_cells = next(csv.reader([header_text], delimiter=delimiter))
    positions: dict[str, int] = {}
    for index, cell in enumerate(header_cells):
        name = CONSENT_COLUMNS.get(header_key(cell))
        if name is not None:
            if name in positions:
                raise InvalidInput(
                    Text("line %(header_line)s: two columns mean %(name)s", header_line=header_line, name=name),
                    field="header",
                    line=header_line,
                )
            positions[name] = index
    missing = [n for n in ("number", "at") if n not in positions]
    if missing:
        raise InvalidInput(
            Text(
                "line %(header_line)s: no %(value)s column (expected: numéro, portée, opération, date, source, preuve)",
                header_line=header_line,
                value=" nor ".join(missing),
            ),
            field="header",
            line=header_line,
        )
    body = "\n".join(text.splitlines()[header_line:])
    rows: list[ConsentRow] = []
    rejections: list[Rejection] = []
    width = len(header_cells)
    for record in _records(body, delimiter, header_line):
        line, last = record.line, record.last_line
        if record.cells is None:
            rejections.append(Rejection(line, record.error, last_line=last))
            continue
        cells = record.cells
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > width and not any(c.strip() for c in cells[width:]):
            cells = cells[:width]
        if len(cells) != width:
            rejections.append(Rejection(line, f"{len(cells)} fields where the header has {width}", last_line=last))
            continue

        def value(name: str, cells: list[str] = cells) -> str:
            index = positions.get(name)
            return cells[index].strip() if index is not None else ""

        try:
            rows.append(
                consent_entry(
                    value("number"),
                    value("scope"),
                    value("action"),
                    value("at"),
                    now=now,
                    source=value("source") or default_source,
                    proof_ref=value("proof_ref"),
                    line=line,
                )
            )
        except InvalidInput as exc:
            column = (
                header_cells[positions[exc.details["field"]]].strip() if exc.details.get("field") in positions else ""
            )
            rejections.append(Rejection(line, exc.message, column, str(exc.details.get("value", ""))))
    return rows, rejections


# --- lists of numbers (company do-not-call list, Bloctel scrub files) ----------------------------
def parse_number_list(data: bytes, *, encoding: str = "utf-8") -> tuple[list[tuple[int, int, str]], list[Rejection]]:
    """One number a line (a CSV whose first column is the number also works; a header line
    without digits is skipped). Returns ([(line, nsn, national)], rejections)."""
    text, _ = decode(data, encoding)
    numbers: list[tuple[int, int, str]] = []
    rejections: list[Rejection] = []
    seen_header = False
    for line, raw in enumerate(text.splitlines(), start=1):
        cell = re.split(r"[;,\t]", raw, maxsplit=1)[0].strip().strip('"')
        if not cell:
            continue
        if not seen_header and not any(ch.isdigit() for ch in cell):
            seen_header = True
            continue
        seen_header = True
        try:
            number = parse_number(cell)
        except InvalidInput as exc:
            rejections.append(Rejection(line, exc.message, value=cell))
            continue
        numbers.append((line, number.nsn, number.national))
    return numbers, rejections


__all__ = [
    "ContactPreview",
    "ContactRow",
    "ConsentRow",
    "Rejection",
    "consent_entry",
    "clean_postcode",
    "decode",
    "header_key",
    "parse_consents",
    "parse_contacts",
    "parse_moment",
    "parse_number_list",
    "row_from_list",
    "ENCODINGS",
]
