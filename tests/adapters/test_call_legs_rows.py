"""Call legs in the database, on SQLite and PostgreSQL: the writer's batch keeps each leg's last
state (a leg rewritten when it is handed over), read back as written, in order, per call."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from ccserver.adapters.db.acd import AcdRepository
from ccserver.capabilities.acd.service import AcdService, leg_from_row
from ccserver.capabilities.calls.legs import CallLegsChanged, CallLegTracker
from ccserver.core import events as ev
from ccserver.core.clock import ManualClock

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
AGENTS = {"PJSIP/alice": "alice", "PJSIP/bruno": "bruno"}


def blind_transfer(clock: ManualClock, uid: str) -> list[ev.Event]:
    """alice answers, talks 2 s, transfers to bruno who talks 3 s: the events the writer gets."""
    tracker = CallLegTracker(clock, lambda i: AGENTS.get(i, ""))
    customer, alice, bruno = f"PJSIP/customers-{uid}", f"PJSIP/alice-{uid}", f"PJSIP/bruno-{uid}"
    out: list[ev.Event] = []

    def send(event):
        out.extend(tracker.apply(event))

    send(ev.QueueCallerJoined(queue="support", uniqueid=uid, linkedid=uid, channel=customer))
    for channel in (customer, alice):
        send(ev.BridgeEntered(bridge_id=f"a{uid}", uniqueid="x", linkedid=uid, channel=channel))
    clock.advance(seconds=2)
    send(ev.ChannelHungup(uniqueid="y", linkedid=uid, channel=alice))
    clock.advance(seconds=1)
    for channel in (bruno, customer):
        send(ev.BridgeEntered(bridge_id=f"b{uid}", uniqueid="z", linkedid=uid, channel=channel))
    clock.advance(seconds=3)
    send(ev.ChannelHungup(uniqueid=uid, linkedid=uid, channel=customer))
    return [e for e in out if isinstance(e, CallLegsChanged)]


def test_legs_are_stored_with_their_last_state_and_read_back_in_order(database):
    clock = ManualClock(T0)
    repo = AcdRepository(database, clock)
    writer = SimpleNamespace(repo=repo)
    events = blind_transfer(clock, "1.1")
    # the first batch stops when alice left (her leg not yet handed over), the second ends it
    alone = [e for e in events if len(e.legs) == 1]
    AcdService.write_legs(writer, alone)
    [first] = repo.legs_of(["1.1"])["1.1"]
    assert (first.agent, first.ended_how, first.ended_at) == ("alice", "hangup", T0.replace(second=2))
    AcdService.write_legs(writer, events[len(alone) :])
    rows = repo.legs_of(["1.1", "unknown"])
    assert list(rows) == ["1.1"]
    legs = [leg_from_row(r) for r in rows["1.1"]]
    assert legs == list(events[-1].legs)  # exactly what the model published, dates included
    assert [(x.seq, x.agent, x.started_how, x.ended_how, x.talk_seconds, x.transferred_by) for x in legs] == [
        (1, "alice", "queue", "transferred", 2, ""),
        (2, "bruno", "blind_transfer", "hangup", 3, "alice"),
    ]
    assert legs[1].answered_at == T0.replace(second=3) and legs[1].answered_at.tzinfo is not None


def test_legs_of_many_calls_at_once(database):
    clock = ManualClock(T0)
    repo = AcdRepository(database, clock)
    writer = SimpleNamespace(repo=repo)
    ids = [f"2.{n}" for n in range(620)]  # more than one IN (...) chunk
    events = [e for uid in ids for e in blind_transfer(clock, uid)]
    AcdService.write_legs(writer, events)
    found = repo.legs_of(ids)
    assert len(found) == 620 and all([r.seq for r in rows] == [1, 2] for rows in found.values())
    assert repo.legs_of([]) == {}
