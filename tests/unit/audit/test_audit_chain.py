"""The audit chain's pure rules: hashing, verification of every kind of tampering at every
position, sealing, client addresses, filters and CSV cells."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from ccserver.capabilities.audit.model import (
    GENESIS,
    Link,
    canonical,
    chained,
    csv_row,
    entry_hash,
    normalise_address,
    parse_filters,
    parse_page,
    seal,
    verify_chain,
)
from ccserver.core.csvtext import neutralise_cell
from ccserver.core.errors import InvalidInput

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
N = 6


def chain(n: int = N) -> list[Link]:
    raw = [
        Link(
            id=i + 1,
            at=T0 + timedelta(seconds=i),
            actor=f"user{i}",
            action="login",
            target=f"user{i}",
            details=json.dumps({"n": i}),
            client_address="2001:db8::1",
            prev_hash="",
        )
        for i in range(n)
    ]
    return seal(raw)


def test_a_sealed_chain_verifies_and_links_each_entry_to_the_one_before():
    links = chain()
    assert links[0].prev_hash == GENESIS
    for before, after in zip(links, links[1:]):
        assert after.prev_hash == before.entry_hash
    verdict = verify_chain(links)
    assert verdict.ok and verdict.checked == N and verdict.head == links[-1].entry_hash
    assert verify_chain([]).ok and verify_chain([]).head == GENESIS


def test_the_hash_is_sha256_of_a_canonical_form_that_names_every_field():
    link = chain(1)[0]
    body = json.loads(canonical(link))
    assert body == {
        "v": 1,
        "id": 1,
        "at": "2026-12-05T09:00:00.000000Z",
        "actor": "user0",
        "action": "login",
        "target": "user0",
        "details": '{"n": 0}',
        "client_address": "2001:db8::1",
        "prev_hash": GENESIS,
    }
    assert link.entry_hash == hashlib.sha256(canonical(link)).hexdigest()
    # the same instant in another zone is the same entry
    paris = dataclasses.replace(link, at=link.at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris")))
    assert entry_hash(paris) == link.entry_hash
    with pytest.raises(ValueError, match="naive"):
        canonical(dataclasses.replace(link, at=link.at.replace(tzinfo=None)))


def test_non_ascii_text_hashes_as_utf8_not_escapes():
    link = dataclasses.replace(chain(1)[0], target="Zoé ☎")
    assert "Zoé ☎".encode() in canonical(link)


FIELD_CHANGES = {
    "id": 99,
    "at": T0 + timedelta(hours=5),
    "actor": "mallory",
    "action": "logout",
    "target": "someone",
    "details": '{"n": 42}',
    "client_address": "10.0.0.9",
}


@pytest.mark.parametrize("field", sorted(FIELD_CHANGES))
@pytest.mark.parametrize("position", range(N))
def test_changing_any_field_of_any_entry_names_that_entry(field, position):
    links = chain()
    links[position] = dataclasses.replace(links[position], **{field: FIELD_CHANGES[field]})
    verdict = verify_chain(links)
    assert not verdict.ok
    assert verdict.broken.id == links[position].id
    assert "changed" in verdict.broken.reason


@pytest.mark.parametrize("position", range(N))
def test_a_changed_entry_whose_hash_was_recomputed_breaks_the_next_link(position):
    links = chain()
    forged = chained(dataclasses.replace(links[position], actor="mallory"), links[position].prev_hash)
    links[position] = forged
    verdict = verify_chain(links)
    if position == N - 1:  # the last entry, rehashed: only an anchor kept elsewhere shows it
        assert verdict.ok and verdict.head != chain()[-1].entry_hash
    else:
        assert verdict.broken.id == links[position + 1].id
        assert f"entry {links[position].id}" in verdict.broken.reason


@pytest.mark.parametrize("position", range(N - 1))
def test_deleting_any_entry_but_the_last_names_the_entry_after_it(position):
    links = chain()
    del links[position]
    verdict = verify_chain(links)
    assert verdict.broken.id == position + 2
    assert "deleted" in verdict.broken.reason


def test_deleting_the_last_entry_changes_only_the_head():
    links = chain()
    verdict = verify_chain(links[:-1])
    assert verdict.ok and verdict.head == links[-2].entry_hash != links[-1].entry_hash


@pytest.mark.parametrize("position", range(1, N))
def test_inserting_an_entry_anywhere_is_named(position):
    links = chain()
    stranger = Link(
        id=100, at=links[position - 1].at, actor="mallory", action="login", target="", details="{}",
        client_address="", prev_hash=links[position - 1].entry_hash,
    )  # fmt: skip
    for forged in (stranger, chained(stranger, links[position - 1].entry_hash)):
        tampered = links[:position] + [forged] + links[position:]
        verdict = verify_chain(tampered)
        if forged.entry_hash:  # a correct hash: the entry after it no longer follows its predecessor
            assert verdict.broken.id == links[position].id
        else:
            assert verdict.broken.id == 100 and "not written by ccserver" in verdict.broken.reason


def test_swapping_two_entries_is_named():
    links = chain()
    links[2], links[3] = links[3], links[2]
    assert verify_chain(links).broken.id == links[2].id


def test_an_entry_forged_at_the_end_with_a_correct_hash_but_back_dated_is_named():
    links = chain()
    forged = chained(
        Link(id=N + 1, at=T0 + timedelta(seconds=1), actor="mallory", action="login", target="", details="{}",
             client_address="", prev_hash=""),
        links[-1].entry_hash,
    )  # fmt: skip
    verdict = verify_chain([*links, forged])
    assert verdict.broken.id == N + 1 and "back-dated" in verdict.broken.reason


def test_a_first_entry_that_does_not_start_the_chain_is_named():
    links = chain()[1:]
    assert verify_chain(links).broken.id == 2
    assert verify_chain(links, after=chain()[0]).ok  # verifying a part, given the entry before it


def test_legacy_entries_are_counted_then_sealed():
    legacy = [dataclasses.replace(link, prev_hash="", entry_hash="") for link in chain()]
    verdict = verify_chain(legacy)
    assert verdict.broken is None and verdict.unsealed == N and not verdict.ok
    assert "not sealed" in verdict.summary()
    assert verify_chain(seal(legacy)).ok
    # a chained entry after unsealed ones: not a state ccserver makes
    assert verify_chain([legacy[0], chain()[1]]).broken.id == 2


def test_verdict_as_dict_and_summary():
    links = chain()
    links[1] = dataclasses.replace(links[1], actor="x")
    verdict = verify_chain(links)
    assert verdict.to_dict()["broken"] == {"id": 2, "at": links[1].at.isoformat(), "reason": verdict.broken.reason}
    assert "BROKEN at entry 2" in verdict.summary()
    assert "intact" in verify_chain(chain()).summary()


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("fe80::1%eth0", "fe80::1%eth0"),
        ("", ""),
        (None, ""),
        ("/run/ccserver.sock", ""),
        ("evil\r\nInjected: yes", ""),
        ("fe80::1%" + "x" * 80, ""),
    ],
)
def test_client_addresses_are_stored_in_one_canonical_form(raw, stored):
    assert normalise_address(raw) == stored


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+33 1 23", "'+33 1 23"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("＝1+1", "'＝1+1"),
        ("alice", "alice"),
        ("", ""),
        (None, ""),
        (-5, "-5"),
        (True, "true"),
    ],
)
def test_csv_cells_that_would_run_as_formulas_are_neutralised(cell, shown):
    assert neutralise_cell(cell) == shown


def test_a_csv_row_neutralises_every_text_cell_but_keeps_hashes():
    link = dataclasses.replace(chain(1)[0], actor="=cmd", target="@x", details="-1", client_address="")
    row = csv_row(link)
    assert row[:7] == ["1", "2026-12-05T09:00:00.000000Z", "'=cmd", "login", "'@x", "", "'-1"]
    assert row[7:] == [link.prev_hash, link.entry_hash]


def test_filters_parse_and_name_each_bad_field():
    f = parse_filters(
        {"from": "2026-12-01", "to": "2026-12-05T10:00Z", "actor": " alice ", "action": "login", "q": "x"}
    )
    assert f.since == datetime(2026, 12, 1, tzinfo=UTC) and f.until == datetime(2026, 12, 5, 10, tzinfo=UTC)
    assert f.actor == "alice" and f.text == "x"
    assert f.to_query() == {
        "from": "2026-12-01T00:00:00+00:00", "to": "2026-12-05T10:00:00+00:00", "actor": "alice",
        "action": "login", "q": "x",
    }  # fmt: skip
    for query, field in (
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"from": "2026-12-05", "to": "2026-12-01"}, "to"),
        ({"q": "x" * 101}, "q"),
        ({"actor": "a\nb"}, "actor"),
    ):
        with pytest.raises(InvalidInput) as caught:
            parse_filters(query)
        assert caught.value.details["field"] == field
    assert parse_page({}) == (1, 50)
    assert parse_page({"page": "3", "size": "10"}) == (3, 10)
    for query, field in (({"page": "0"}, "page"), ({"size": "501"}, "size"), ({"page": "-1"}, "page")):
        with pytest.raises(InvalidInput) as caught:
            parse_page(query)
        assert caught.value.details["field"] == field
