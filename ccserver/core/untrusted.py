"""Text that comes from callers: one normalization, applied where it enters (the AMI/ARI edge).

A caller chooses their caller-ID name and number (SIP From header, a trunk, an IVR answer) and the
DTMF they press. Those values then reach the database, pages, logs, UserEvents and dialplan
variables. Here they are made harmless *as text*: control characters that forge log lines or AMI
headers (CR, LF, NUL, the other C0 and C1 controls), Unicode line/paragraph separators and the
bidirectional overrides that make a name display as something else (U+202E...) are removed or
turned into a space, invalid UTF-8 becomes U+FFFD, and the length is capped (a 10 KiB name would
otherwise be stored and shown as is). Quotes, ``<`` and ``&`` are kept: they are legitimate in a
name and are escaped on output (jinja2 autoescape, ``textContent`` in the pages).

Pure functions, no I/O.
"""

from __future__ import annotations

import re
from typing import Any

CALLER_NAME_MAX = 80
CALLER_NUMBER_MAX = 40
FIELD_MAX = 256  # any other value from the PBX that pages or logs may show (call data, ...)
DTMF_DIGITS = frozenset("0123456789*#")
ARI_DTMF_DIGITS = DTMF_DIGITS | frozenset("ABCD")  # RFC 4733 events 12-15 (some phones send them)

# Whitespace-like controls become one space (words stay apart); every other control goes.
_TO_SPACE = re.compile("[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029]+")
# C0 (but the ones above), DEL, C1, bidi embeddings/overrides/isolates and marks, BOM, and lone
# surrogates (what `surrogateescape` decoding leaves for invalid bytes) handled separately.
_REMOVE = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: Any, max_length: int = FIELD_MAX) -> str:
    """`value` as one line of displayable text, at most `max_length` characters.

    None gives ""; bytes are decoded as UTF-8 with invalid sequences replaced by U+FFFD; other
    non-strings are converted with `str`. Leading/trailing spaces are stripped."""
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).decode("utf-8", errors="replace")
    elif isinstance(value, str):
        text = value
    else:
        text = str(value)
    if len(text) > 4 * max_length + 64:
        text = text[: 4 * max_length + 64]  # never scan megabytes to keep 80 characters
    text = _SURROGATE.sub("\ufffd", text)
    text = _REMOVE.sub("", text)
    text = _TO_SPACE.sub(" ", text).strip()
    return text[:max_length].rstrip()


_C_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}
_C_ESCAPE = re.compile(r"\\(.)", re.S)


def ami_unescape(value: Any) -> str:
    """A caller-ID name as AMI writes it (C-escaped: ``O\\'Brien``, ``a\\r\\n``) back to text.

    Feed the result to `caller_name`: the line breaks it restores are removed there."""
    if not isinstance(value, str) or "\\" not in value:
        return "" if value is None else str(value)
    return _C_ESCAPE.sub(lambda m: _C_ESCAPES.get(m.group(1), m.group(0)), value)


def caller_name(value: Any) -> str:
    """A caller-ID name, as stored and shown (at most 80 characters)."""
    return clean_text(value, CALLER_NAME_MAX)


def caller_number(value: Any) -> str:
    """A caller-ID number, as stored and shown (at most 40 characters)."""
    return clean_text(value, CALLER_NUMBER_MAX)


def dtmf_digit(value: Any) -> str:
    """One DTMF key as ARI reports it: 0-9, *, #, A-D; anything else gives ""."""
    return value if isinstance(value, str) and len(value) == 1 and value in ARI_DTMF_DIGITS else ""


def for_log(value: Any, max_length: int = 200) -> str:
    """A caller-supplied value for a log line: printable, quoted, short (``%s`` of this is safe)."""
    text = value if isinstance(value, str) else str(value)
    shown = repr(text[:max_length])
    return shown + ("..." if len(text) > max_length else "")
