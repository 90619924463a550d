"""The person a GDPR erasure is about, and the pure rules to find and redact them.

A person is known by their phone numbers (every writing a number takes in the database, in
Asterisk's CDR CSV, queue_log and logs, in call files and voicemail envelopes) and their name.
What the law makes us keep (a do-not-call entry, a consent or a refusal, a compliance decision)
keeps only a keyed hash of the number: HMAC-SHA256 with the server's erasure key over the
number's canonical writing, so nobody without the key can test a number against it, and the
opposition check can still recognise the number when it comes back.

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ...core.errors import InvalidInput
from ..customers.model import normalize_number
from ..outbound.numbers import try_parse_number

REDACTED = "[effacé]"
HASH_PREFIX = "hmac-sha256:"  # how an erased number is shown where a number used to be


def canonical(e164: str) -> str:
    """The writing a number is hashed in: the French national form (0 + NSN) for numbers of the
    French 10-digit plan, whatever the writing or the overseas country code; E.164 otherwise."""
    number = try_parse_number(e164)
    if number is not None:
        return f"0{number.nsn:09d}"
    return e164


def canonical_nsn(nsn: int) -> str:
    return f"0{nsn:09d}"


def keyed_hash(key: bytes, canonical_number: str) -> str:
    """HMAC-SHA256 (hex) of a canonical number with the erasure key."""
    if not key:
        raise ValueError("the erasure key is empty")
    return hmac.new(key, canonical_number.encode("ascii"), hashlib.sha256).hexdigest()


def number_forms(e164: str) -> set[str]:
    """Every writing of one number that may appear in text: +33612345678, 33612345678,
    0033612345678, 0612345678, 612345678 (the NSN), and spaced/dotted national writings."""
    forms = {e164}
    digits = e164.lstrip("+")
    forms |= {digits, "00" + digits}
    number = try_parse_number(e164)
    if number is not None:
        nsn = f"{number.nsn:09d}"
        national = "0" + nsn
        pairs = [national[i : i + 2] for i in range(0, 10, 2)]
        forms |= {
            nsn,
            national,
            " ".join(pairs),
            ".".join(pairs),
            "-".join(pairs),
            "+33" + nsn,
            "33" + nsn,
            "0033" + nsn,
            "+33 " + nsn[0] + " " + " ".join(nsn[i : i + 2] for i in range(1, 9, 2)),
        }
    return {f for f in forms if len(f.replace(" ", "").replace(".", "").replace("-", "")) >= 6}


@dataclass(frozen=True)
class Person:
    """Whom an erasure is about: a customer file and/or numbers (E.164), and names."""

    customer_id: int | None
    numbers: tuple[str, ...]  # E.164
    names: tuple[str, ...] = ()  # full names (and e-mail addresses) of the customer file / contacts
    forms: tuple[str, ...] = field(default=())  # every textual writing, longest first

    @classmethod
    def of(cls, customer_id: int | None, numbers: Iterable[str], names: Iterable[str] = ()) -> Person:
        e164 = tuple(sorted({n for n in numbers if n}))
        forms: set[str] = set()
        for n in e164:
            forms |= number_forms(n)
        clean_names = tuple(sorted({n.strip() for n in names if full_name_ok(n) or _EMAIL.fullmatch(n.strip() or "-")}))
        return cls(customer_id, e164, clean_names, tuple(sorted(forms, key=lambda f: (-len(f), f))))

    @property
    def nsns(self) -> tuple[int, ...]:
        found = (try_parse_number(n) for n in self.numbers)
        return tuple(sorted({n.nsn for n in found if n is not None}))

    @property
    def digit_forms(self) -> tuple[str, ...]:
        """The forms made of digits (and a leading +) only: what SQL LIKE searches for."""
        return tuple(f for f in self.forms if re.fullmatch(r"\+?\d+", f))

    @property
    def needles(self) -> tuple[str, ...]:
        """What text is searched for: every number writing, then the names (and their JSON
        ASCII-escaped writings, as `json.dumps` stores them)."""
        out = list(self.forms)
        for name in self.names:
            out.append(name)
            escaped = json.dumps(name)[1:-1]
            if escaped != name:
                out.append(escaped)
        return tuple(out)

    def mentioned_in(self, text: str) -> bool:
        if not text:
            return False
        low = text.lower()
        return any(n.lower() in low for n in self.needles)

    def redact(self, text: str) -> str:
        """`text` with every writing of the numbers and the names replaced by REDACTED."""
        if not text:
            return text
        for needle in self.needles:
            text = re.sub(re.escape(needle), REDACTED, text, flags=re.IGNORECASE)
        return text

    def redact_json(self, value: Any) -> Any:
        """A JSON value with every string redacted and every integer equal to one of the
        numbers' NSN replaced by None."""
        nsns = set(self.nsns)
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return None if value in nsns else value
        if isinstance(value, list):
            return [self.redact_json(v) for v in value]
        if isinstance(value, dict):
            return {self.redact(k) if isinstance(k, str) else k: self.redact_json(v) for k, v in value.items()}
        return value

    def redact_json_text(self, text: str | None) -> str | None:
        if not text:
            return text
        try:
            value = json.loads(text)
        except ValueError:
            return self.redact(text)
        return json.dumps(self.redact_json(value), sort_keys=True)

    def mentions_row(self, cells: Iterable[Any]) -> bool:
        nsns = set(self.nsns)
        for cell in cells:
            if isinstance(cell, bool):
                continue
            if isinstance(cell, int) and cell in nsns:
                return True
            if isinstance(cell, str) and self.mentioned_in(cell):
                return True
            if isinstance(cell, (list, dict)) and self.mentions_row(cell.values() if isinstance(cell, dict) else cell):
                return True
        return False


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def full_name_ok(name: str | None) -> bool:
    """A name is searched for only when it is a full name (two words, 5 characters or more):
    a lone 'Martin' would redact other people."""
    if not name:
        return False
    words = name.split()
    return len(words) >= 2 and len(name.strip()) >= 5


def parse_person_number(raw: str, field: str = "number") -> str:
    """A number given to erase, in any French or international writing -> E.164."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput("a phone number is required", field=field)
    return normalize_number(raw.strip(), field=field)


# --- text files: Asterisk's CDR CSV, queue_log, logs, call files ------------------------------------
def keep_line(line: str, person: Person, ids: Iterable[str] = ()) -> bool:
    """False for a line that names the person (a number writing, a name) or one of their
    calls (uniqueid/linkedid, as CDR CSV and queue_log carry them)."""
    if person.mentioned_in(line):
        return False
    return not any(re.search(rf"(?<![\w.]){re.escape(i)}(?![\w.])", line) for i in ids if i)


def filter_lines(text: str, person: Person, ids: Iterable[str] = ()) -> tuple[str, int]:
    """`text` without the lines about the person; and how many went."""
    ids = [i for i in ids if i]
    kept, dropped = [], 0
    for line in text.splitlines(keepends=True):
        if keep_line(line, person, ids):
            kept.append(line)
        else:
            dropped += 1
    return "".join(kept), dropped
