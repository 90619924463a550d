"""Phone normalization and customer field rules (pure, no database)."""

from __future__ import annotations

import pytest

from ccserver.capabilities.customers.model import (
    clean_customer_number,
    clean_email,
    clean_phones,
    clean_postcode,
    display_number,
    normalize_number,
)
from ccserver.core.errors import InvalidInput

SAME_MOBILE = [
    "0612345678",
    "06 12 34 56 78",
    "06.12.34.56.78",
    "06-12-34-56-78",
    "06/12/34/56/78",
    "+33612345678",
    "+33 6 12 34 56 78",
    "+33 (0)6 12 34 56 78",
    "0033612345678",
    "0033 6 12 34 56 78",
    "33612345678",
    "612345678",
    " 06 12 34 56 78 ",
    "06\u00a012\u00a034\u00a056\u00a078",
    "(0)6 12 34 56 78",
]


@pytest.mark.parametrize("raw", SAME_MOBILE)
def test_french_mobile_written_any_way_normalizes_to_one_e164(raw):
    assert normalize_number(raw) == "+33612345678"


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("01 45 67 89 01", "+33145678901"),
        ("04 72 00 00 00", "+33472000000"),
        ("09 70 12 34 56", "+33970123456"),
        ("07 81 23 45 67", "+33781234567"),
        ("08 00 12 34 56", "+33800123456"),
    ],
)
def test_french_fixed_mobile_and_service_numbers(raw, e164):
    assert normalize_number(raw) == e164


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("0692 12 34 56", "+262692123456"),  # La Réunion mobile, national writing
        ("0262 12 34 56", "+262262123456"),  # La Réunion fixed
        ("+33 692 12 34 56", "+262692123456"),  # same line written as a +33 number
        ("+262 692 12 34 56", "+262692123456"),
        ("00262692123456", "+262692123456"),
        ("0269 60 12 34", "+262269601234"),  # Mayotte
        ("0690 12 34 56", "+590690123456"),  # Guadeloupe mobile
        ("0694 12 34 56", "+594694123456"),  # Guyane mobile
        ("0696 12 34 56", "+596696123456"),  # Martinique mobile
        ("+596 696 12 34 56", "+596696123456"),
    ],
)
def test_overseas_numbers_get_their_own_country_code(raw, e164):
    assert normalize_number(raw) == e164


def test_foreign_numbers_are_kept_when_valid():
    assert normalize_number("+44 20 7946 0958") == "+442079460958"
    assert normalize_number("0044 20 7946 0958") == "+442079460958"
    assert normalize_number("+1 202 555 0143") == "+12025550143"


def test_other_default_region_reads_national_numbers_there():
    assert normalize_number("020 7946 0958", "GB") == "+442079460958"


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("06 12 34", "is too short"),
        ("0612", "is too short"),
        ("06 12 34 56 78 90", "is too long"),
        ("06 12 34 56 7a", "contains characters that are not part of a phone number (a)"),
        ("anonymous", "contains characters that are not part of a phone number"),
        ("06+12345678", "has a '+' that is not at the start"),
        ("07 00 00 00 00", "is not a number in use in FR"),
        ("+999 123 456", "does not start with a known country code"),
        ("0012", "too short after the international prefix"),
        ("--..", "has no digits"),
        ("0" * 41, "is too long to be a phone number"),
    ],
)
def test_invalid_numbers_are_refused_with_the_reason(raw, reason):
    with pytest.raises(InvalidInput) as caught:
        normalize_number(raw, field="caller")
    assert caught.value.details["field"] == "caller"
    assert reason in caught.value.details["reason"]
    assert caught.value.status == 400


def test_non_string_is_refused():
    with pytest.raises(InvalidInput) as caught:
        normalize_number(None)  # type: ignore[arg-type]
    assert caught.value.details["field"] == "phone"


def test_display_is_national_in_the_french_plan_and_international_elsewhere():
    assert display_number("+33612345678") == "06 12 34 56 78"
    assert display_number("+262692123456") == "0692 12 34 56"
    assert display_number("+442079460958") == "+44 20 7946 0958"
    assert display_number("garbage") == "garbage"


def test_phone_list_names_the_bad_item_and_drops_repeats():
    assert clean_phones(["06 12 34 56 78", {"number": "+33612345678", "label": "x"}, ("0145678901", "bureau")]) == [
        ("+33612345678", ""),
        ("+33145678901", "bureau"),
    ]
    with pytest.raises(InvalidInput) as caught:
        clean_phones(["0612345678", "0612"])
    assert caught.value.details["field"] == "phones[1]"


@pytest.mark.parametrize(
    "raw, expected",
    [("12345678", "12345678"), ("1234 5678", "12345678"), ("", None), (None, None), ("00012345", "00012345")],
)
def test_customer_number_is_eight_digits(raw, expected):
    assert clean_customer_number(raw) == expected


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("1234567", "drop its leading zeros"),
        ("123456789", "9 digits"),
        ("1234567A", "must be 8 digits"),
        ("١٢٣٤٥٦٧٨", "must be 8 digits"),
    ],
)
def test_bad_customer_numbers_say_why(raw, reason):
    with pytest.raises(InvalidInput, match=reason) as caught:
        clean_customer_number(raw)
    assert caught.value.details["field"] == "customer_number"


@pytest.mark.parametrize("raw", ["75001", "20000", "01000", "95880", "97400", "97100", "97600", "98000"])
def test_french_postcodes_including_overseas(raw):
    assert clean_postcode(raw) == raw


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("7500", "4 digits"),
        ("00100", "not a French postcode"),
        ("96000", "not a French postcode"),
        ("97900", "not a French postcode"),
        ("75 001", "5 digits expected"),
        ("ABCDE", "5 digits expected"),
    ],
)
def test_bad_postcodes_say_why(raw, reason):
    with pytest.raises(InvalidInput, match=reason):
        clean_postcode(raw)


def test_email_shape():
    assert clean_email(" jean.dupont+cc@example.fr ") == "jean.dupont+cc@example.fr"
    assert clean_email("") == ""
    for bad in ("jean", "jean@", "jean@example", "a b@example.fr", "a@b@example.fr", "a@example.f"):
        with pytest.raises(InvalidInput) as caught:
            clean_email(bad)
        assert caught.value.details["field"] == "email"
