"""CustomerService on SQLite and PostgreSQL: lookup, customer file, contacts, tickets, import."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ccserver.adapters.db.customers import CustomerRepository
from ccserver.adapters.db.repositories import CallRepository
from ccserver.adapters.db.tables import Customer, CustomerPhone, Interaction
from ccserver.capabilities.customers.errors import ImportConflict, NoSuchCustomer, NoSuchTicket
from ccserver.capabilities.customers.model import parse_customer_csv
from ccserver.capabilities.customers.service import CustomerService, ImportNeedsConfirmation
from ccserver.core.clock import ManualClock
from ccserver.core.errors import Conflict, InvalidInput

T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    return ManualClock(T0)


@pytest.fixture
def service(database, clock):
    return CustomerService(CustomerRepository(database), clock)


def count(database, model) -> int:
    with database.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_lookup_finds_the_customer_by_any_writing_of_the_number(service):
    created = service.create_customer(
        phones=["06 12 34 56 78", {"number": "0692 12 34 56", "label": "mobile"}],
        customer_number="12345678",
        first_name="Hélène",
        last_name="Dupont",
    )
    for writing in ("0612345678", "+33 6 12 34 56 78", "0033612345678", "06.12.34.56.78", "612345678"):
        found = service.find_by_number(writing)
        assert found is not None and found.id == created.id, writing
        assert (found.matched_by, found.matched_value) == ("phone", "+33612345678")
    assert service.find_by_number("+262 692 12 34 56").id == created.id
    assert service.find_by_number("01 45 67 89 01") is None
    assert service.find_by_customer_number("1234 5678").id == created.id
    assert service.find_by_customer_number("87654321") is None
    with pytest.raises(InvalidInput) as caught:
        service.find_by_number("anonymous")
    assert caught.value.details["field"] == "number"


def test_customer_file_has_identity_history_with_calls_and_open_tickets(service, database, clock):
    customer = service.create_customer(
        phones=["0612345678"], last_name="Martin", company="ACME", email="m@acme.fr", postcode="97400"
    )
    calls = CallRepository(database, clock)
    calls.upsert(
        "1741597200.1",
        caller_number="0612345678",
        queue="support",
        created_at=T0,
        answered_at=T0 + timedelta(seconds=25),
        ended_at=T0 + timedelta(seconds=145),
    )
    for i in range(22):
        clock.set(T0 + timedelta(minutes=i))
        service.record_interaction(
            customer.id, "1741597200.1" if i == 21 else None, "agent1", "support", f"code{i}", f"note {i}"
        )
    old = service.open_ticket(customer.id, None, "Old problem")
    service.update_ticket(old.id, "closed")
    clock.set(T0 + timedelta(hours=1))
    ticket = service.open_ticket(customer.id, "1741597200.1", "Box broken", "first note")

    file = service.customer_file(customer.id)
    data = file.to_dict()
    assert data["display_name"] == "Martin" and data["company"] == "ACME" and data["postcode"] == "97400"
    assert data["phones"] == [{"e164": "+33612345678", "label": "", "display": "06 12 34 56 78"}]
    assert len(data["interactions"]) == 20
    newest = data["interactions"][0]
    assert newest["disposition"] == "code21" and newest["notes"] == "note 21"
    assert newest["call"]["queue"] == "support"
    assert newest["call"]["wait_seconds"] == 25 and newest["call"]["talk_seconds"] == 120
    assert data["interactions"][1]["call"] is None
    assert [i["disposition"] for i in data["interactions"]][-1] == "code2"
    assert [t["id"] for t in data["open_tickets"]] == [ticket.id]
    # the ticket's timer runs from the start of its call, not from when it was typed
    assert data["open_tickets"][0]["opened_at"] == T0.isoformat()
    assert data["open_tickets"][0]["notes"] == "first note"


def test_saving_the_same_call_twice_updates_the_interaction(service, database):
    customer = service.create_customer(phones=["0612345678"])
    first = service.record_interaction(customer.id, "17.1", "agent1", "sales", "info", "draft")
    again = service.record_interaction(customer.id, "17.1", "agent1", "sales", "sale", "final")
    assert again.id == first.id and again.disposition == "sale" and again.notes == "final"
    other_agent = service.record_interaction(customer.id, "17.1", "agent2", "sales", "sale", "")
    assert other_agent.id != first.id
    assert count(database, Interaction) == 2


def test_bad_interaction_and_unknown_customer_are_refused(service, database):
    customer = service.create_customer(phones=["0612345678"])
    with pytest.raises(InvalidInput) as caught:
        service.record_interaction(customer.id, None, "agent1", direction="sideways")
    assert caught.value.details["field"] == "direction"
    with pytest.raises(InvalidInput) as caught:
        service.record_interaction(customer.id, None, "agent1", disposition="x" * 65)
    assert caught.value.details["field"] == "disposition"
    with pytest.raises(NoSuchCustomer):
        service.record_interaction(999, None, "agent1")
    assert count(database, Interaction) == 0


def test_ticket_lifecycle(service, clock):
    customer = service.create_customer(phones=["0612345678"])
    ticket = service.open_ticket(customer.id, "unknown.1", "No dial tone")
    assert ticket.opened_at == T0  # call unknown to the platform: now
    clock.advance(minutes=5)
    closed = service.update_ticket(ticket.id, "closed", append_note="fixed remotely", author="agent1")
    assert closed.status == "closed" and closed.closed_at == T0 + timedelta(minutes=5)
    assert closed.notes == "[2025-03-10 09:05 UTC agent1] fixed remotely"
    assert service.customer_file(customer.id).open_tickets == ()
    reopened = service.update_ticket(ticket.id, "open", "replaced")
    assert reopened.closed_at is None and reopened.notes == "replaced"
    with pytest.raises(InvalidInput) as caught:
        service.update_ticket(ticket.id, "solved")
    assert caught.value.details["field"] == "status"
    with pytest.raises(NoSuchTicket):
        service.update_ticket(4242, "closed")
    with pytest.raises(InvalidInput) as caught:
        service.open_ticket(customer.id, None, "  ")
    assert caught.value.details["field"] == "subject"


def test_create_with_bad_or_taken_values_writes_nothing(service, database):
    service.create_customer(phones=["0612345678"], customer_number="12345678")
    with pytest.raises(InvalidInput) as caught:
        service.create_customer(phones=["0145678901", "06 12"], last_name="X")
    assert caught.value.details["field"] == "phones[1]"
    with pytest.raises(InvalidInput) as caught:
        service.create_customer(phones=["0145678901"], email="nope")
    assert caught.value.details["field"] == "email"
    with pytest.raises(Conflict) as caught:
        service.create_customer(phones=["0145678901", "+33612345678"])
    assert caught.value.details["field"] == "phones[1]"
    with pytest.raises(Conflict) as caught:
        service.create_customer(phones=["0145678901"], customer_number="12345678")
    assert caught.value.details["field"] == "customer_number"
    assert (count(database, Customer), count(database, CustomerPhone)) == (1, 1)


def test_update_changes_fields_and_replaces_phones(service, clock):
    customer = service.create_customer(phones=["0612345678", "0145678901"], last_name="Old")
    clock.advance(hours=1)
    updated = service.update_customer(
        customer.id,
        last_name="New",
        postcode="75001",
        phones=["0145678901", {"number": "0698765432", "label": "mobile"}],
    )
    assert updated.last_name == "New" and updated.updated_at == T0 + timedelta(hours=1)
    assert [(p.e164, p.label) for p in updated.phones] == [("+33145678901", ""), ("+33698765432", "mobile")]
    assert service.find_by_number("0612345678") is None
    with pytest.raises(InvalidInput):
        service.update_customer(customer.id, shoe_size="42")
    with pytest.raises(NoSuchCustomer):
        service.update_customer(999, last_name="x")


def test_screen_pop_prefers_the_ivr_customer_number_and_never_raises(service):
    owner = service.create_customer(phones=["0612345678"], last_name="Owner")
    other = service.create_customer(customer_number="12345678", last_name="Typed")
    pop = service.screen_pop(caller_number="0612345678", customer_number="12345678")
    assert pop["found"] and pop["customer"]["id"] == other.id
    assert pop["customer"]["matched_by"] == "customer_number"
    assert service.screen_pop(caller_number="+33612345678")["customer"]["id"] == owner.id
    unknown = service.screen_pop(caller_number="01 45 67 89 01")
    assert unknown == {
        "found": False,
        "number_error": None,
        "prefill": {"phone": "+33145678901", "phone_display": "01 45 67 89 01", "customer_number": ""},
    }
    anonymous = service.screen_pop(caller_number="anonymous")
    assert not anonymous["found"] and "not part of a phone number" in anonymous["number_error"]


def test_search_by_name_number_and_phone_digits(service):
    a = service.create_customer(
        phones=["0612345678"], last_name="Dupont", first_name="Jean", customer_number="12345678", company="Acme_50%"
    )
    b = service.create_customer(phones=["0145678901"], last_name="Durand", email="durand@example.fr")
    assert {c.id for c in service.search("du")[0]} == {a.id, b.id}
    assert [c.id for c in service.search("DUPONT jean")[0]] == [a.id]
    assert [c.id for c in service.search("06 12 34 56 78")[0]] == [a.id]
    assert [c.id for c in service.search("0145")[0]] == [b.id]
    assert [c.id for c in service.search("1234")[0]] == [a.id]
    assert [c.id for c in service.search("_50%")[0]] == [a.id]  # LIKE wildcards are literal
    assert service.search("a%e")[1] == 0  # not "anything between a and e"
    page, total = service.search("", limit=1)
    assert total == 2 and len(page) == 1


IMPORT_WITH_ERRORS = csv(
    "numero client;nom;telephone;email",
    "10000001;Alpha;0611111111;a@example.fr",
    "10000002;Beta;0612;b@example.fr",
    "10000003;Gamma;0633333333;not-an-email",
    "10000004;Delta;0644444444;",
)


def test_import_with_rejected_lines_writes_nothing_without_confirmation(service, database):
    preview = service.preview_import(IMPORT_WITH_ERRORS, "x.csv")
    assert (preview.good_count, preview.rejected_lines) == (2, [3, 4])
    with pytest.raises(ImportNeedsConfirmation) as caught:
        service.import_customers(preview)
    assert caught.value.status == 409 and caught.value.details == {"rejected_lines": 2, "good": 2}
    assert count(database, Customer) == 0


def test_confirmed_partial_import_writes_only_the_good_lines(service, database):
    calls = []
    report = service.import_customers(
        service.preview_import(IMPORT_WITH_ERRORS, "x.csv"),
        confirm_partial=True,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert (report.created, report.updated, report.imported, report.rejected_lines) == (2, 0, 2, 2)
    assert calls == [(2, 2)]
    assert count(database, Customer) == 2
    assert service.find_by_customer_number("10000001").last_name == "Alpha"
    assert service.find_by_number("0644444444").customer_number == "10000004"
    assert service.find_by_customer_number("10000002") is None


def test_reimport_updates_customers_instead_of_duplicating(service, database, clock):
    existing = service.create_customer(phones=["0655555555"], last_name="NoNumberYet", email="keep@example.fr")
    first = csv(
        "numero client;nom;prenom;telephone;mobile;email",
        "10000001;Alpha;Ann;0611111111;;a@example.fr",
        "10000002;Beta;Bob;0622222222;;",
    )
    service.import_customers(service.preview_import(first, "1.csv"))
    clock.advance(days=1)
    second = csv(
        "numero client;nom;prenom;telephone;mobile;email",
        "10000001;Alpha-Renamed;;0611111111;0677777777;",  # by number: renamed, phone added
        "10000009;;;0622222222;;",  # by phone: Beta gets... a conflict?
        "10000005;Found;;0655555555;;",
    )  # by phone, number was unknown
    preview = service.preview_import(second, "2.csv")
    # Beta already has 10000002: the file says 10000009 for the same phone -> rejected, not merged
    assert [(r.line, r.field) for r in preview.rejected] == [(3, "customer_number")]
    assert "belongs to customer 10000002" in preview.rejected[0].reason
    report = service.import_customers(preview, confirm_partial=True)
    assert (report.created, report.updated, report.phones_added) == (0, 2, 1)
    assert count(database, Customer) == 3
    alpha = service.find_by_customer_number("10000001")
    assert alpha.last_name == "Alpha-Renamed" and alpha.first_name == "Ann"  # empty cells keep values
    assert alpha.email == "a@example.fr" and alpha.updated_at == clock.now()
    assert [(p.e164, p.label) for p in alpha.phones] == [("+33611111111", ""), ("+33677777777", "mobile")]
    found = service.find_by_number("0655555555")
    assert found.id == existing.id and found.customer_number == "10000005"
    assert found.last_name == "Found" and found.email == "keep@example.fr"
    # the very same file again changes nothing in number
    again = service.import_customers(service.preview_import(second, "2.csv"), confirm_partial=True)
    assert (again.created, again.updated, again.phones_added) == (0, 2, 0)
    assert count(database, Customer) == 3


def test_failure_in_the_middle_of_an_import_leaves_nothing(service, database):
    lines = ["numero client;telephone"] + [f"{20000000 + i};06{10000000 + i:08d}" for i in range(250)]
    preview = service.preview_import(csv(*lines), "big.csv")
    assert preview.good_count == 250
    seen = []

    def progress(done, total):
        seen.append(done)
        if done >= 150:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        service.import_customers(preview, progress=progress, progress_every=50)
    assert seen == [50, 100, 150]
    assert (count(database, Customer), count(database, CustomerPhone)) == (0, 0)
    report = service.import_customers(preview, progress=lambda d, t: seen.append(d), progress_every=100)
    assert report.created == 250 and seen[-3:] == [100, 200, 250]


def test_conflict_appearing_after_the_preview_aborts_the_whole_import(service, database):
    preview = service.preview_import(
        csv("numero client;telephone", "10000001;0611111111", "10000002;0622222222"), "x.csv"
    )
    assert preview.rejected == ()
    service.create_customer(phones=["0622222222"], customer_number="99999999")  # someone was faster
    with pytest.raises(ImportConflict) as caught:
        service.import_customers(preview)
    assert caught.value.details["line"] == 3 and "nothing was imported" in caught.value.message
    assert count(database, Customer) == 1


def test_numbers_of_two_different_customers_on_one_line_are_rejected(service):
    a = service.create_customer(phones=["0611111111"])
    b = service.create_customer(phones=["0622222222"])
    preview = service.preview_import(csv("telephone;mobile", "0611111111;0622222222"), "x.csv")
    assert [(r.line, r.field) for r in preview.rejected] == [(2, "phone")]
    assert f"#{a.id}" in preview.rejected[0].reason and f"#{b.id}" in preview.rejected[0].reason
    with pytest.raises(InvalidInput, match="no good line"):
        service.import_customers(preview, confirm_partial=True)


def test_import_parses_the_file_rules_from_the_model(service):
    preview = parse_customer_csv(csv("nom;telephone", "A;0611111111"), "a.csv")
    report = service.import_customers(preview)
    assert report.created == 1 and report.to_dict()["filename"] == "a.csv"
