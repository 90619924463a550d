"""core.untrusted: what a caller chooses (caller-ID, DTMF) becomes one line of harmless text."""

from __future__ import annotations

import pytest

from ccserver.core.untrusted import (
    CALLER_NAME_MAX,
    CALLER_NUMBER_MAX,
    caller_name,
    caller_number,
    clean_text,
    dtmf_digit,
    for_log,
)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Alice\r\nEvent: Fake", "Alice Event: Fake"),
        ("a\rb", "a b"),
        ("a\nb", "a b"),
        ("a\r\n\r\nb", "a b"),
        ("a\tb", "a b"),
        ("a\x00b", "ab"),
        ("a\x07\x08\x1bb", "ab"),
        ("a\x7fb", "ab"),
        ("a\x80\x9fb", "ab"),
        ("a\x85b", "a b"),  # NEL is a line break for some readers
        ("a\u2028b\u2029c", "a b c"),
        ("\u202eevil\u202c", "evil"),
        ("a\u200e\u200f\u061c\u2066\u2067\u2068\u2069\u202a\u202b\u202d\ufeffb", "ab"),
        ("  padded  ", "padded"),
        ('Hélène O\'Brien "Dupont" <script>&amp;', 'Hélène O\'Brien "Dupont" <script>&amp;'),
        ("李小龙 👩‍💻", "李小龙 👩‍💻"),  # ZWJ inside an emoji is kept
    ],
)
def test_clean_text_removes_controls_and_keeps_the_rest(raw, expected):
    assert clean_text(raw) == expected


def test_invalid_utf8_becomes_replacement_characters():
    assert clean_text(b"ab\xff\xfecd") == "ab\ufffd\ufffdcd"
    assert clean_text("a\udcffb") == "a\ufffdb"  # what surrogateescape leaves for a bad byte


def test_long_values_are_capped():
    name = caller_name("N" * 10 * 1024)
    assert name == "N" * CALLER_NAME_MAX
    assert caller_number("0" * 10 * 1024) == "0" * CALLER_NUMBER_MAX
    assert len(clean_text("x" * 100_000, 256)) == 256
    # the cap counts characters once controls are gone
    assert caller_name("a\x00" * 40 + "tail") == "a" * 40 + "tail"


def test_none_and_non_strings():
    assert clean_text(None) == ""
    assert caller_number(612) == "612"
    assert caller_name(b"Bob\r\n") == "Bob"


@pytest.mark.parametrize(
    "digit, expected",
    [
        ("5", "5"),
        ("*", "*"),
        ("#", "#"),
        ("A", "A"),
        ("D", "D"),
        ("", ""),
        ("55", ""),
        ("\r", ""),
        ("x", ""),
        (None, ""),
        (5, ""),
        ("٣", ""),
    ],
)
def test_dtmf_digit_accepts_only_keys(digit, expected):
    assert dtmf_digit(digit) == expected


def test_for_log_quotes_line_breaks():
    line = for_log("Bob\r\n2026-01-01 INFO forged")
    assert "\r" not in line and "\n" not in line and "\\r\\n" in line
    assert for_log("x" * 1000, 10).endswith("...")


def test_ami_names_are_unescaped_then_cleaned():
    from ccserver.core.untrusted import ami_unescape

    assert ami_unescape("O\\'Brien") == "O'Brien"
    assert ami_unescape('Q\\\\\\"uote') == 'Q\\"uote'
    assert caller_name(ami_unescape("Evil\\r\\nEvent: Fake")) == "Evil Event: Fake"
    assert ami_unescape("plain") == "plain" and ami_unescape(None) == ""
    assert ami_unescape("trailing\\") == "trailing\\"
