"""CSV import parsing: encodings, delimiters, headers, every rejection with its line (pure)."""

from __future__ import annotations

import pytest

from ccserver.capabilities.customers.model import ImportPreview, Rejection, parse_customer_csv
from ccserver.core.errors import InvalidInput

FRENCH = (
    "Numéro client;Nom;Prénom;Téléphone;Société;E-mail;Code postal\n"
    "12345678;Dupont;Hélène;06 12 34 56 78;Café Crème;helene@example.fr;75001\n"
    "23456789;Lefèvre;Jérôme;0692 12 34 56;;jerome@example.re;97400\n"
)


def reasons(preview: ImportPreview) -> list[tuple[int, str]]:
    return [(r.line, r.field) for r in preview.rejected]


def test_french_utf8_file_is_read_and_normalized():
    preview = parse_customer_csv(FRENCH.encode("utf-8"), "clients.csv")
    assert preview.encoding == "utf-8"
    assert preview.delimiter == ";"
    assert preview.rejected == ()
    assert preview.data_lines == 2 and preview.good_count == 2
    first, second = preview.rows
    assert (first.line, first.customer_number, first.last_name, first.first_name, first.company) == (
        2,
        "12345678",
        "Dupont",
        "Hélène",
        "Café Crème",
    )
    assert first.phones == (("+33612345678", ""),)
    assert second.phones == (("+262692123456", ""),) and second.postcode == "97400"
    assert preview.columns["customer_number"] == "Numéro client"


def test_utf8_with_bom_is_detected():
    preview = parse_customer_csv(b"\xef\xbb\xbf" + FRENCH.encode("utf-8"), "bom.csv")
    assert preview.encoding == "utf-8 (BOM)"
    assert preview.columns["customer_number"] == "Numéro client"  # the BOM is not in the header
    assert preview.rows[0].first_name == "Hélène"


def test_windows_1252_file_is_detected_and_decoded():
    data = (FRENCH + "34567890;Œuvre;Zoé;01 45 67 89 01;Société € ;;\n").encode("cp1252")
    preview = parse_customer_csv(data, "excel.csv")
    assert preview.encoding == "windows-1252"
    assert [r.first_name for r in preview.rows] == ["Hélène", "Jérôme", "Zoé"]
    assert preview.rows[2].last_name == "Œuvre" and preview.rows[2].company == "Société €"


def test_latin1_bytes_undefined_in_cp1252_fall_back_to_latin1():
    data = "nom;telephone\nA\x81b;0612345678\n".encode("latin-1")
    preview = parse_customer_csv(data)
    assert preview.encoding == "iso-8859-1"
    assert preview.rows[0].last_name == "A\x81b"


def test_utf16_with_bom_and_tabs():
    data = "Nom\tTéléphone\r\nDupont\t0612345678\r\n".encode("utf-16")
    preview = parse_customer_csv(data)
    assert (preview.encoding, preview.delimiter) == ("utf-16", "\t")
    assert preview.rows[0].phones == (("+33612345678", ""),)


def test_comma_delimited_english_headers_with_quotes():
    data = (
        b"customer_number,last_name,first_name,phone,mobile,company,email,postcode,notes\r\n"
        b'12345678,Smith,John,+44 20 7946 0958,06 12 34 56 78,"Acme, Inc.",john@acme.com,75008,'
        b'"says ""hi""\nsecond line"\r\n'
    )
    preview = parse_customer_csv(data, "en.csv")
    assert preview.delimiter == ","
    row = preview.rows[0]
    assert row.company == "Acme, Inc."
    assert row.phones == (("+442079460958", ""), ("+33612345678", "mobile"))
    assert row.notes == 'says "hi"\nsecond line'


@pytest.mark.parametrize(
    "header",
    [
        "telephone",
        "Téléphone",
        "TEL",
        "numéro",
        "Phone",
        "phone_number",
        "Portable",
        "mobile",
        "Numéro client",
        "N° client",
        "customer_number",
        "Customer ID",
    ],
)
def test_any_phone_or_customer_number_header_is_enough(header):
    value = "12345678" if "client" in header.lower() or "customer" in header.lower() else "0612345678"
    preview = parse_customer_csv(f"{header}\n{value}\n".encode())
    assert preview.good_count == 1


def test_missing_key_column_is_a_file_error_naming_the_expected_columns():
    with pytest.raises(InvalidInput) as caught:
        parse_customer_csv("Nom;Prénom;Ville\nDupont;Jean;Paris\n".encode(), "x.csv")
    error = caught.value
    assert error.details["field"] == "header" and error.details["line"] == 1
    assert "téléphone" in error.message and "numéro client" in error.message
    assert "Nom, Prénom, Ville" in error.message
    assert "customer_number" in error.details["expected"]


def test_two_columns_meaning_the_same_field_is_a_file_error():
    with pytest.raises(InvalidInput, match="both mean phone"):
        parse_customer_csv(b"telephone;phone\n0612345678;0612345678\n")


@pytest.mark.parametrize(
    "data, message",
    [(b"", "empty"), (b"\n\n  \n", "empty"), (b"PK\x03\x04rest-of-zip", "Excel"), (b"nom\x00;tel", "binary")],
)
def test_unusable_files_are_refused_as_a_whole(data, message):
    with pytest.raises(InvalidInput, match=message) as caught:
        parse_customer_csv(data)
    assert caught.value.details["field"] == "file"


def test_every_rejection_kind_is_reported_with_its_line_in_the_file():
    data = "\n".join(
        [
            "",  # 1: blank before the header
            "numéro client;nom;téléphone;email;code postal",  # 2: header
            "12345678;Good;06 12 34 56 78;a@example.fr;75001",  # 3: good
            "23456789;BadPhone;06 12 34;;",  # 4: phone too short
            "34567890;BadEmail;0145678901;not-an-email;",  # 5: email
            "",  # 6: blank line (counted, skipped)
            "45678901;DupPhone;+33 6 12 34 56 78;;",  # 7: same phone as line 3
            "12345678;DupNumber;0145678902;;",  # 8: same customer number as line 3
            "56789012;BadPostcode;0145678903;;7500",  # 9: postcode
            "67890123;TooFew;0145678904",  # 10: wrong number of columns
            "78901234;TooMany;0145678905;;;extra",  # 11: wrong number of columns
            "1234567;ShortNumber;0145678906;;",  # 12: customer number of 7 digits
            ";NoKey;;;",  # 13: nothing identifies the customer
            "89012345;Trailing;0145678907;;;;",  # 14: trailing empty cells: fine
            "90123456;Two;0612;bad;1",  # 15: three problems on one line
        ]
    ).encode("utf-8")
    preview = parse_customer_csv(data, "errors.csv")
    assert preview.header_line == 2
    assert [r.line for r in preview.rows] == [3, 14]
    assert reasons(preview) == [
        (4, "phone"),
        (5, "email"),
        (7, "phone"),
        (8, "customer_number"),
        (9, "postcode"),
        (10, "line"),
        (11, "line"),
        (12, "customer_number"),
        (13, "phone"),
        (15, "email"),
        (15, "postcode"),
        (15, "phone"),
    ]
    by_line = {r.line: r for r in preview.rejected}
    assert "too short" in by_line[4].reason and by_line[4].value == "06 12 34"
    assert by_line[4].column == "téléphone"
    assert "already on line 3" in by_line[7].reason
    assert "already on line 3" in by_line[8].reason
    assert "4 digits" in by_line[9].reason
    assert "has 3 columns, the header has 5" in by_line[10].reason
    assert "has 6 columns" in by_line[11].reason
    assert "leading zeros" in by_line[12].reason
    assert "nothing identifies" in by_line[13].reason
    assert preview.rejected_lines == [4, 5, 7, 8, 9, 10, 11, 12, 13, 15]
    assert (preview.data_lines, preview.blank_lines, preview.good_count, preview.rejected_count) == (12, 1, 2, 10)
    report = preview.to_dict()
    assert report["good"] == 2 and report["rejected_lines"] == 10 and len(report["rejected"]) == 12
    assert report["rejected"][0] == {
        "line": 4,
        "field": "phone",
        "column": "téléphone",
        "value": "06 12 34",
        "reason": by_line[4].reason,
        # the reason's message id and values: the web layer shows it in the reader's language
        "reason_text": by_line[4].reason.as_json(),
    }


def test_a_rejected_line_does_not_make_later_lines_duplicates():
    data = b"telephone;email\n0612345678;bad\n0612345678;ok@example.fr\n"
    preview = parse_customer_csv(data)
    assert reasons(preview) == [(2, "email")]
    assert [r.line for r in preview.rows] == [3]


def test_unclosed_quote_is_reported_on_its_starting_line():
    data = b'nom;telephone\nA;0612345678\n"B;0612345679\nC;0612345670\n'
    preview = parse_customer_csv(data)
    assert [r.line for r in preview.rows] == [2]
    assert [(r.line, r.field) for r in preview.rejected] == [(3, "line")]
    assert "quote is probably not closed: this line runs to line 4" in preview.rejected[0].reason


def test_crlf_and_cr_line_endings_count_lines_the_same():
    for newline in ("\r\n", "\r"):
        text = newline.join(["tel;email", "0612345678;ok@example.fr", "0612;", ""])
        preview = parse_customer_csv(text.encode())
        assert reasons(preview) == [(3, "phone")]


def test_reject_moves_rows_out_of_the_good_ones():
    preview = parse_customer_csv(FRENCH.encode())
    more = preview.reject([Rejection(3, "phone", "belongs to someone else")])
    assert [r.line for r in more.rows] == [2]
    assert more.rejected_lines == [3] and preview.good_count == 2
