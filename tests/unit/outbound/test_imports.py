"""Import files: contact lists, consent ledgers, lists of numbers. Bad files give line numbers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccserver.capabilities.outbound.imports import (
    clean_postcode,
    consent_entry,
    decode,
    parse_consents,
    parse_contacts,
    parse_number_list,
    row_from_list,
)
from ccserver.core.errors import InvalidInput

NOW = datetime(2026, 9, 15, 9, 30, tzinfo=UTC)


def contacts(text: str, **kw):
    return parse_contacts(text.encode(kw.pop("codec", "utf-8")), "f.csv", **kw)


def reasons(preview) -> dict[int, str]:
    return {r.line: r.reason for r in preview.rejections}


def test_any_common_writing_of_a_number_is_normalized_and_deduplicated():
    p = contacts(
        "Nom;Téléphone\n"
        "A;06 12 34 56 78\nB;+33 6 12 34 56 79\nC;0033612345670\nD;+33 (0)6.12.34.56.71\n"
        "E;612345672\nF;06-12-34-56-78\nG;+262 692 12 34 56\n"
    )
    assert [r.number for r in p.rows] == [
        "0612345678",
        "0612345679",
        "0612345670",
        "0612345671",
        "0612345672",
        "0692123456",
    ]
    assert reasons(p) == {7: "duplicate of line 2 (0612345678)"}
    assert p.rows[-1].area == "RE" and p.rows[-1].timezone == "Indian/Reunion"
    assert p.rows[-1].area_source == "number"


def test_time_zone_comes_from_the_postcode_else_the_address_else_the_number():
    p = contacts(
        "numero,cp,adresse\n"
        "0612345678,97400,\n"  # Réunion postcode, metropolitan mobile
        "0612345679,,12 rue X 57000 Metz\n"
        "0612345670,,\n"
        "0612345671,1000,\n"
    )
    by = {r.number: r for r in p.rows}
    assert (by["0612345678"].area, by["0612345678"].area_source) == ("RE", "postcode")
    assert by["0612345678"].timezone == "Indian/Reunion"
    assert (by["0612345679"].area, by["0612345679"].postcode, by["0612345679"].area_source) == (
        "FR-AM",
        "57000",
        "address",
    )
    assert (by["0612345670"].area, by["0612345670"].area_source) == ("FR-METRO*", "number")
    assert by["0612345671"].postcode == "01000"  # a spreadsheet dropped the leading 0
    assert p.delimiter == ","


def test_name_custom_fields_and_contract_are_kept():
    p = contacts(
        "Prénom\tNom\tMobile\tContrat\tOffre\tScore\n"
        "Jean\tDupont\t0612345678\toui\tFibre\t12\n"
        "Anne\tMartin\t0612345679\t\t\t\n"
    )
    first, second = p.rows
    assert first.name == "Jean Dupont" and first.contract is True
    assert first.fields == {"Offre": "Fibre", "Score": "12"}
    assert second.contract is False and second.fields == {}
    assert p.custom_columns == ["Offre", "Score"]
    assert row_from_list(first.to_list()) == first


def test_every_rejected_line_is_reported_with_its_number_and_why():
    p = contacts(
        "nom;telephone;code postal\n"
        "ok;0612345678;75001\n"
        "no number;;75001\n"
        "bad;12345;75001\n"
        "service;0800123456;75001\n"
        "pc;0612345679;750\n"
        "far;0612345670;98714\n"
        "\n"
        "fields;0612345671;75001;extra;more\n"
        "letters;06 12 AB 56 78;75001\n"
    )
    assert [r.line for r in p.rows] == [2]
    got = reasons(p)
    assert got[3] == "no number"
    assert "French 10-digit plan" in got[4]
    assert "08 service number" in got[5]
    assert got[6] == "postcode '750' is not 5 digits"
    assert "outside the areas" in got[7]
    assert 8 not in got and p.blank_lines == 1
    assert got[9] == "5 fields where the header has 3"
    assert "unexpected character" in got[10]
    assert p.rejected_lines == 7 and p.total_lines == 9  # lines after the header


def test_a_quote_never_closed_is_reported_with_the_lines_it_swallowed():
    p = contacts('nom;numero\n"Dupont;0612345678\nMartin;0612345679\n')
    assert p.rows == []
    (r,) = p.rejections
    assert (r.line, r.last_line) == (2, 3)
    assert r.reason == "a quote opened on line 2 is never closed"


def test_numbers_already_in_the_campaign_are_rejected():
    p = contacts("numero\n0612345678\n0612345679\n", existing={612345678: "contact 4"})
    assert [r.number for r in p.rows] == ["0612345679"]
    assert reasons(p) == {2: "0612345678 is already in the campaign (contact 4)"}


def test_wrong_encoding_names_the_lines_and_the_fix():
    data = "Nom;Téléphone\nDupré;0612345678\nMartin;0612345679\nLéa;0612345670\n".encode("cp1252")
    with pytest.raises(InvalidInput) as err:
        parse_contacts(data)
    assert err.value.details["line"] == 1 and err.value.details["lines"] == [1, 2, 4]
    assert "windows-1252" in err.value.message
    p = parse_contacts(data, encoding="windows-1252")
    assert [r.name for r in p.rows] == ["Dupré", "Martin", "Léa"]
    utf8 = "Nom;Téléphone\nDupré;0612345678\n".encode()
    with pytest.raises(InvalidInput) as err:
        parse_contacts(utf8, encoding="windows-1252")
    assert err.value.details["line"] == 1 and "re-import it as utf-8" in err.value.message


def test_bom_and_utf16_are_understood():
    text = "Nom;Téléphone\nDupré;0612345678\n"
    assert parse_contacts(b"\xef\xbb\xbf" + text.encode()).rows[0].name == "Dupré"
    assert parse_contacts(text.encode("utf-16")).rows[0].name == "Dupré"


@pytest.mark.parametrize(
    "data,line,words",
    [
        (b"", 1, "empty"),
        (b"   \n\n", 1, "empty"),
        (b"Nom;Ville\nDupont;Paris\n", 1, "no number column"),
        (b"Nom;Tel;tel\nA;1;2\n", 1, "appears twice"),
        (b"PK\x03\x04xlsx", 1, "spreadsheet"),
        (b"numero\n0612345678\n06\x0012\n", 3, "binary"),
    ],
)
def test_unusable_files_raise_with_a_line_number(data, line, words):
    with pytest.raises(InvalidInput) as err:
        parse_contacts(data)
    assert err.value.details["line"] == line
    assert words in err.value.message


def test_progress_is_reported_while_checking():
    calls = []
    text = "numero\n" + "".join(f"06{i:08d}\n" for i in range(1, 5001))
    p = parse_contacts(text.encode(), progress=lambda done, total: calls.append((done, total)))
    assert len(p.rows) == 5000
    assert calls[-1] == (5000, 5000) and len(calls) >= 3
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))


def test_consent_file_rows_and_rejections():
    data = (
        "numéro;portée;opération;date;source;preuve\n"
        "06 12 34 56 78;démarchage;consentement;01/09/2026 14:05;formulaire web;F-1\n"
        "0612345679;hors horaires;oui;2026-09-02T10:00:00Z;papier;P-2\n"
        "0612345670;;retrait;2026-09-03;appel;\n"
        "0612345671;démarchage;consentement;2027-01-01;web;F-9\n"
        "0612345672;loterie;oui;2026-09-01;web;F-3\n"
        "nope;démarchage;oui;2026-09-01;web;F-4\n"
    ).encode()
    rows, rejected = parse_consents(data, now=NOW)
    assert [(r.number, r.scope, r.action) for r in rows] == [
        ("0612345678", "canvassing", "grant"),
        ("0612345679", "outside_hours", "grant"),
        ("0612345670", "canvassing", "revoke"),
    ]
    assert rows[0].at == datetime(2026, 9, 1, 12, 5, tzinfo=UTC)  # Paris summer time
    assert {r.line: r.column for r in rejected} == {5: "date", 6: "portée", 7: "numéro"}
    assert "in the future" in rejected[0].reason


def test_a_consent_needs_its_source_or_proof():
    with pytest.raises(InvalidInput) as err:
        consent_entry("0612345678", "canvassing", "grant", NOW, now=NOW)
    assert err.value.details["field"] == "source"
    revoke = consent_entry("0612345678", "canvassing", "revoke", NOW, now=NOW)
    assert revoke.action == "revoke"


def test_number_lists_skip_a_header_and_report_bad_lines():
    numbers, rejected = parse_number_list(b"numero\n0612345678\n+33612345679;x\nbad\n\n")
    assert [(line, n) for line, _, n in numbers] == [(2, "0612345678"), (3, "0612345679")]
    assert [(r.line, r.value) for r in rejected] == [(4, "bad")]


def test_postcodes():
    assert clean_postcode(" 75 011 ") == "75011"
    assert clean_postcode("1000") == "01000"
    with pytest.raises(InvalidInput):
        clean_postcode("98714")


def test_decode_refuses_unknown_encodings():
    with pytest.raises(InvalidInput) as err:
        decode(b"x", "ebcdic")
    assert err.value.details["field"] == "encoding"
