"""What the CSV imports (customers, campaign contacts, consents) share about files as people
export them: which delimiter a header line uses. Pure text, no I/O."""

from __future__ import annotations

DELIMITERS = (";", ",", "\t")


def sniff_delimiter(header: str) -> str:
    """The delimiter of a header line; ";" on ties and when none appears (French Excel)."""
    counts = {d: _count_outside_quotes(header, d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _count_outside_quotes(line: str, char: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == char and not quoted:
            count += 1
    return count
