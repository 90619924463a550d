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


# a cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets
# (OWASP "CSV injection"); full-width forms too, which some spreadsheets fold to ASCII
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def neutralise_cell(value: object) -> str:
    """`value` as a CSV cell a spreadsheet shows as text: one that would start a formula gets a
    leading apostrophe (the OWASP advice; the apostrophe is hidden by spreadsheets). Numbers
    written by the program (ids, a negative amount) are passed as int/float and left alone."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
