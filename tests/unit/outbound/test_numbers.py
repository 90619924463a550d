"""French number normalization, one by one and in bulk, and the caller-ID rules."""

from __future__ import annotations

import numpy as np
import phonenumbers
import pytest

from ccserver.capabilities.outbound.numbers import (
    NPV_PREFIXES,
    NumberKind,
    check_caller_id,
    normalize_many,
    parse_lines,
    parse_number,
    try_parse_number,
)
from ccserver.core.errors import InvalidInput

WRITINGS = [
    "0612345678",
    "06 12 34 56 78",
    "06.12.34.56.78",
    "06-12-34-56-78",
    "06/12/34/56/78",
    "+33 6 12 34 56 78",
    "+33612345678",
    "+33 (0)6 12 34 56 78",
    "0033 6 12 34 56 78",
    "0033612345678",
    "33 6 12 34 56 78",
    "33612345678",
    "612345678",
    " 06 12 34 56 78 ",
    "(06) 12 34 56 78",
    "+33 0 6 12 34 56 78",
]


@pytest.mark.parametrize("text", WRITINGS)
def test_common_french_writings_normalize_to_the_same_number(text):
    number = parse_number(text)
    assert number.nsn == 612345678
    assert number.national == "0612345678"
    assert number.e164 == "+33612345678"
    assert number.kind is NumberKind.MOBILE


@pytest.mark.parametrize(
    "text,national,e164,territory",
    [
        ("0262 12 34 56", "0262123456", "+262262123456", "RE"),
        ("0692 12 34 56", "0692123456", "+262692123456", "RE"),
        ("0693 12 34 56", "0693123456", "+262693123456", "RE"),
        ("+262 692 12 34 56", "0692123456", "+262692123456", "RE"),
        ("00262 692 12 34 56", "0692123456", "+262692123456", "RE"),
        ("0269 60 12 34", "0269601234", "+262269601234", "YT"),
        ("0639 01 23 45", "0639012345", "+262639012345", "YT"),
        ("+262 639 01 23 45", "0639012345", "+262639012345", "YT"),
        ("0590 27 12 34", "0590271234", "+590590271234", "GP*"),
        ("0690 12 34 56", "0690123456", "+590690123456", "GP*"),
        ("+590 (0)690 12 34 56", "0690123456", "+590690123456", "GP*"),
        ("0596 12 34 56", "0596123456", "+596596123456", "MQ"),
        ("0696 12 34 56", "0696123456", "+596696123456", "MQ"),
        ("0594 12 34 56", "0594123456", "+594594123456", "GF"),
        ("0694 12 34 56", "0694123456", "+594694123456", "GF"),
        ("01 45 45 45 45", "0145454545", "+33145454545", None),
    ],
)
def test_overseas_prefixes_keep_their_territory(text, national, e164, territory):
    number = parse_number(text)
    assert number.national == national
    assert number.e164 == e164
    assert number.territory == territory


@pytest.mark.parametrize(
    "e164",
    [
        "+262692123456",
        "+262262123456",
        "+262269601234",
        "+590690123456",
        "+596696123456",
        "+594694123456",
        "+33612345678",
        "+33145454545",
    ],
)
def test_e164_agrees_with_phonenumbers(e164):
    parsed = phonenumbers.parse(e164)
    assert phonenumbers.is_valid_number(parsed)
    ours = parse_number(e164)
    assert ours.e164 == e164
    assert ours.nsn == parsed.national_number


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "06 12 34 56 7",
        "06 12 34 56 789",
        "0012345678",
        "+44 20 7946 0958",
        "+508 41 23 45",
        "+262 6 12 34 56 78",
        "+590 1 45 45 45 45",
        "tel 0612345678",
        "06 12 34 56 78\n06 12 34 56 79",
    ],
)
def test_invalid_numbers_are_refused_naming_the_field(text):
    with pytest.raises(InvalidInput) as exc:
        parse_number(text, field="contact.number")
    assert exc.value.details["field"] == "contact.number"
    assert try_parse_number(text) is None


@pytest.mark.parametrize(
    "text,kind",
    [
        ("0145454545", NumberKind.GEOGRAPHIC),
        ("0612345678", NumberKind.MOBILE),
        ("0712345678", NumberKind.MOBILE),
        ("0692123456", NumberKind.MOBILE),
        ("0639012345", NumberKind.MOBILE),
        ("0812345678", NumberKind.SPECIAL),
        ("0970123456", NumberKind.POLYVALENT),
        ("0162123456", NumberKind.NPV),
        ("0948123456", NumberKind.NPV),
        ("0947512345", NumberKind.NPV),
    ],
)
def test_kinds(text, kind):
    assert parse_number(text).kind is kind


def _writings(nsn: int) -> list[str]:
    x = f"{nsn:09d}"
    return [
        f"0{x}",
        f"0{x[0]} {x[1:3]} {x[3:5]} {x[5:7]} {x[7:]}",
        f"+33 {x}",
        f"0033{x}",
        f"33{x}",
        f"0{x[0]}.{x[1:3]}.{x[3:5]}.{x[5:7]}.{x[7:]}",
        x,
        f"+33 (0){x}",
    ]


def test_bulk_normalization_agrees_with_the_scalar_one():
    rng = np.random.default_rng(11)
    texts = []
    for nsn in rng.integers(100_000_000, 1_000_000_000, 300).tolist():
        texts += _writings(nsn)
    texts += [
        "",
        "abc",
        "0692123456",
        "+262692123456",
        "+262612345678",
        "+508412345",
        "06 12 34 56 7",
        "0012345678",
        "+612345678",
        "06 12 34 56 78 90 12 34 56 78 90",
        "+590 (0)690 12 34 56",
        "00262 692 12 34 56",
        "é0612345678",
        "06\u00a012\u00a034\u00a056\u00a078",
        "06\t12 34 56 78\r",
    ]
    bulk = normalize_many(texts)
    scalar = [(n.nsn if (n := try_parse_number(t)) else -1) for t in texts]
    assert bulk.tolist() == scalar


def test_bulk_fixed_width_fast_path_and_general_path_agree():
    rng = np.random.default_rng(12)
    nsns = rng.integers(100_000_000, 1_000_000_000, 5000)
    fixed = [f"0{n:09d}" for n in nsns.tolist()]
    spaced = [f"0{n:09d} " for n in nsns.tolist()]
    assert (normalize_many(fixed) == nsns).all()
    assert (normalize_many(spaced) == nsns).all()


def test_parse_lines_handles_chunks_crlf_and_a_last_line_without_newline():
    data = b"06 12 34 56 78\r\n+33 1 45 45 45 45\r\nnot a number\n0692123456"
    assert parse_lines(data).tolist() == [612345678, 145454545, -1, 692123456]
    many = b"\n".join(f"0{n:09d}".encode() for n in range(100_000_000, 100_000_000 + 3000))
    out = parse_lines(many, chunk_bytes=1000)
    assert out.tolist() == list(range(100_000_000, 100_000_000 + 3000))
    assert parse_lines(b"").size == 0


def test_normalize_many_of_nothing_is_empty():
    assert normalize_many([]).size == 0


@pytest.mark.parametrize("prefix", NPV_PREFIXES)
def test_every_npv_range_is_an_allowed_caller_id(prefix):
    number = "0" + prefix + "0" * (9 - len(prefix))
    assert check_caller_id(number).allowed


@pytest.mark.parametrize(
    "number",
    [
        "0612345678",
        "0712345678",
        "0639012345",
        "0690123456",
        "0692123456",
        "0693123456",
        "0694123456",
        "0696123456",
        "+33 6 12 34 56 78",
    ],
)
def test_mobile_numbers_are_never_a_caller_id(number):
    assert not check_caller_id(number).allowed
    assert not check_caller_id(number, automated=False).allowed
    assert "mobile" in check_caller_id(number).explanation


@pytest.mark.parametrize("number", ["0145454545", "0970123456", "0161123456", "0164123456", "0947412345", "0947012345"])
def test_automated_dialer_needs_an_npv(number):
    assert not check_caller_id(number).allowed
    assert check_caller_id(number, automated=False).allowed


def test_caller_id_that_is_not_a_number_is_refused():
    assert not check_caller_id("anonymous").allowed
