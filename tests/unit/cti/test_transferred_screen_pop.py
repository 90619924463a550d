"""The screen-pop follows the call: the agent a call reaches by a transfer gets the first agent's
screen-pop, looked up again at that moment (what was saved since), with who transferred it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ccserver.capabilities.agents.model import AgentBoard
from ccserver.capabilities.calls.legs import CallLegTracker, LegStarted
from ccserver.capabilities.calls.model import CallTracker
from ccserver.capabilities.cti.service import ScreenPopService
from ccserver.core import events as ev
from ccserver.core.clock import ManualClock

L = "1700000000.1"
CUSTOMER, ALICE, BRUNO = "PJSIP/customers-1", "PJSIP/alice-2", "PJSIP/bruno-3"


async def test_the_receiving_agent_gets_the_file_as_it_is_now_and_who_transferred():
    clock = ManualClock(datetime(2026, 12, 6, 9, 0, tzinfo=UTC))
    board = AgentBoard(clock)
    board.add_agent("alice", "PJSIP/alice")
    board.add_agent("bruno", "PJSIP/bruno")
    tracker = CallTracker(clock, lambda i: board.agent_for(i).username if board.agent_for(i) else "")
    legs = CallLegTracker(clock, lambda i: board.agent_for(i).username if board.agent_for(i) else "")
    notes = ["first call"]
    lookups: list[dict] = []

    def lookup(caller_number=None, customer_number=None):
        lookups.append({"caller_number": caller_number, "customer_number": customer_number})
        return {"found": True, "customer": {"id": 7, "history": [{"notes": n} for n in notes]}}

    sent: list[tuple[str, dict]] = []
    pop = ScreenPopService(board, tracker, lookup, lambda user, message: sent.append((user, message)))
    started: list[ev.Event] = []

    def feed(event):
        tracker.apply(event)
        started.extend(e for e in legs.apply(event) if isinstance(e, LegStarted))

    feed(ev.QueueCallerJoined(queue="support", uniqueid=L, linkedid=L, channel=CUSTOMER, caller_number="0644556677"))
    feed(ev.CallDataSet(uniqueid=L, linkedid=L, data=(("customer_id", "12345678"),)))
    for channel in (CUSTOMER, ALICE):
        feed(ev.BridgeEntered(bridge_id="b1", uniqueid="x", linkedid=L, channel=channel))
    notes.append("alice: box en panne")  # saved by alice during the call
    legs.hint(L, "blind_transfer", "alice")
    feed(ev.BridgeLeft(bridge_id="b1", uniqueid="x", linkedid=L, channel=ALICE))
    feed(ev.ChannelHungup(uniqueid="y", linkedid=L, channel=ALICE))
    assert started == []  # nobody with the customer yet: no pop
    for channel in (BRUNO, CUSTOMER):
        feed(ev.BridgeEntered(bridge_id="b2", uniqueid="z", linkedid=L, channel=channel))
    [event] = started
    for e in started:
        pop.on_event(e)
    await asyncio.gather(*pop._tasks)
    [(user, message)] = sent
    assert user == "bruno"
    assert message["topic"] == "screen_pop" and message["uniqueid"] == L
    assert (message["transferred_by"], message["transfer"]) == ("alice", "blind_transfer")
    assert message["customer"]["history"][-1]["notes"] == "alice: box en panne"
    assert lookups == [{"caller_number": "0644556677", "customer_number": "12345678"}]
    assert message["call_data"] == {"customer_id": "12345678"}
    assert event.leg.agent == "bruno"
