"""What click-to-dial reads and writes, on SQLite and PostgreSQL: a ticket by id (closed ones
too), and the outbound call record (the calls writer's upsert and the customer set on the row,
in either order)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ccserver.adapters.db.acd import AcdRepository
from ccserver.adapters.db.customers import CustomerRepository
from ccserver.capabilities.acd.service import _row_from_record
from ccserver.capabilities.clicktodial.model import DialedCall, DialedCalls
from ccserver.capabilities.customers.errors import NoSuchTicket
from ccserver.capabilities.customers.service import CustomerService
from ccserver.core import events as ev
from ccserver.core.clock import ManualClock

T0 = datetime(2026, 9, 15, 9, 30, tzinfo=UTC)


def test_a_ticket_is_read_by_id_open_or_closed(database):
    service = CustomerService(CustomerRepository(database), ManualClock(T0))
    customer = service.create_customer(phones=["06 12 34 56 78"], last_name="Dupont")
    ticket = service.open_ticket(customer.id, None, "Panne")
    service.update_ticket(ticket.id, "closed")
    found = service.ticket(ticket.id)
    assert (found.customer_id, found.subject, found.status) == (customer.id, "Panne", "closed")
    with pytest.raises(NoSuchTicket):
        service.ticket(ticket.id + 100)


@pytest.mark.parametrize("customer_first", [True, False])
def test_the_outbound_call_record_is_stored_with_its_agent_and_customer(database, customer_first):
    clock = ManualClock(T0)
    repo = AcdRepository(database, clock)
    calls = DialedCalls(clock)
    (opened,) = calls.expect(DialedCall("c2d-1", "alice", "PJSIP/alice", "+33612345678", 7, T0, "customer:7"))
    if customer_first:
        repo.annotate_call("c2d-1", customer_id=7)
    repo.upsert_calls([_row_from_record(opened.record)])
    clock.set(T0 + timedelta(seconds=4))
    (answered,) = calls.apply(ev.ChannelAnswered(uniqueid="cust-1", linkedid="c2d-1"))
    clock.set(T0 + timedelta(seconds=64))
    (ended,) = calls.apply(ev.ChannelHungup(uniqueid="c2d-1", linkedid="c2d-1", cause=16, cause_text="Normal"))
    repo.upsert_calls([_row_from_record(answered.record), _row_from_record(ended.record)])
    if not customer_first:
        repo.annotate_call("c2d-1", customer_id=7)
    (row,) = repo.calls()
    assert (row.direction, row.agent, row.caller_number, row.customer_id, row.outcome) == (
        "outbound",
        "alice",
        "+33612345678",
        7,
        "answered",
    )
    assert (row.wait_seconds, row.talk_seconds) == (4, 60)
    assert row.answered_at == T0 + timedelta(seconds=4) and row.ended_at == T0 + timedelta(seconds=64)
