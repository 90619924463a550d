"""The pure rules of the erasure: every writing of a number, the keyed hash, redaction of text,
JSON and log lines (a call id matches whole, never as a prefix of another)."""

from __future__ import annotations

import json

import pytest

from ccserver.capabilities.privacy.model import (
    REDACTED,
    Person,
    canonical,
    filter_lines,
    keyed_hash,
    parse_person_number,
)
from ccserver.core.errors import InvalidInput

KEY = b"k" * 32


def test_every_writing_of_a_french_number_hashes_the_same():
    writings = ["06 12 34 56 78", "+33 (0)6 12 34 56 78", "0033612345678", "612345678", "06.12.34.56.78"]
    hashes = {keyed_hash(KEY, canonical(parse_person_number(w))) for w in writings}
    assert len(hashes) == 1
    assert keyed_hash(b"x" * 32, canonical("+33612345678")) not in hashes  # keyed
    assert canonical("+262692123456") == "0692123456"  # overseas: the national plan


def test_bad_number_names_the_field():
    with pytest.raises(InvalidInput) as err:
        parse_person_number("06 12 ab", "number")
    assert err.value.details["field"] == "number"


def test_person_redacts_text_json_and_log_lines_about_them_only():
    person = Person.of(1, ["+33612345678"], ["Zoé Erasmus", "Martin"])
    assert person.names == ("Zoé Erasmus",)  # a lone word would redact other people
    assert person.redact("appel de ZOÉ ERASMUS au 06 12 34 56 78") == f"appel de {REDACTED} au {REDACTED}"
    value = json.loads(
        person.redact_json_text(json.dumps({"n": "0612345678", "nsn": 612345678, "k": 7, "who": "Zoé Erasmus"}))
    )
    assert value == {"n": REDACTED, "nsn": None, "k": 7, "who": REDACTED}
    log = (
        "1|1757.12|q|NONE|ENTERQUEUE||0612345678|1\n"
        "2|1757.123|q|NONE|ENTERQUEUE||0698765432|1\n"
        "3|1757.12|q|PJSIP/a|CONNECT|2|x|1\n"
    )
    kept, dropped = filter_lines(log, person, ["1757.12"])
    assert dropped == 2 and kept == "2|1757.123|q|NONE|ENTERQUEUE||0698765432|1\n"
