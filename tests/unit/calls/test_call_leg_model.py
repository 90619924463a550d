"""The call legs model from event sequences shaped as Asterisk 22 sends them: a queue call, a
blind transfer, an attended transfer (completed, cancelled), a three-way call the first agent
leaves, the customer hanging up during a consultation."""

from datetime import UTC, datetime

from ccserver.capabilities.calls.legs import CallLegsChanged, CallLegTracker, LegStarted, talk_by_agent
from ccserver.core import events as ev
from ccserver.core.clock import ManualClock

L = "1700000000.1"  # the customer's uniqueid = the call's linkedid
CUSTOMER = "PJSIP/customers-00000001"
ALICE = "PJSIP/alice-00000002"
BRUNO = "PJSIP/bruno-00000005"
LOCAL1, LOCAL2 = "Local/1@ccserver-xfer-00000001;1", "Local/1@ccserver-xfer-00000001;2"
AGENTS = {"PJSIP/alice": "alice", "PJSIP/bruno": "bruno"}


class Call:
    def __init__(self) -> None:
        self.clock = ManualClock(datetime(2026, 12, 6, 9, 0, tzinfo=UTC))
        self.tracker = CallLegTracker(self.clock, lambda interface: AGENTS.get(interface, ""))
        self.out: list[ev.Event] = []
        self.send(ev.ChannelCreated(uniqueid=L, linkedid=L, channel=CUSTOMER))
        self.send(ev.QueueCallerJoined(queue="support", uniqueid=L, linkedid=L, channel=CUSTOMER))

    def send(self, event: ev.Event) -> None:
        self.out += self.tracker.apply(event)

    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds=seconds)

    def created(self, channel: str) -> None:
        self.send(ev.ChannelCreated(uniqueid=channel[-8:], linkedid=L, channel=channel))

    def enter(self, bridge: str, *channels: str) -> None:
        for channel in channels:
            self.send(ev.BridgeEntered(bridge_id=bridge, uniqueid=channel[-8:], linkedid=L, channel=channel))

    def leave(self, bridge: str, *channels: str) -> None:
        for channel in channels:
            self.send(ev.BridgeLeft(bridge_id=bridge, uniqueid=channel[-8:], linkedid=L, channel=channel))

    def hangup(self, channel: str) -> None:
        uniqueid = L if channel == CUSTOMER else channel[-8:]
        self.send(ev.ChannelHungup(uniqueid=uniqueid, linkedid=L, channel=channel, cause=16))

    def answered_by_alice(self, talk: float) -> None:
        self.wait(5)  # waiting in the queue, then alice rings
        self.created(ALICE)
        self.wait(2)
        self.enter("b1", CUSTOMER, ALICE)
        self.wait(talk)

    def alice_consults_bruno(self, seconds: float) -> None:
        """Alice's attended transfer: she leaves the customer's bridge (b1) for a consultation
        bridge (b3) with a Local pair whose other half rings bruno (b4), then they talk."""
        self.leave("b1", ALICE)
        self.enter("b3", ALICE, LOCAL1)
        self.enter("b4", LOCAL2, BRUNO)
        self.wait(seconds)

    def legs(self):
        final = [e for e in self.out if isinstance(e, CallLegsChanged)]
        assert final and final[-1].ended, "the call's end publishes its legs"
        return final[-1].legs

    def started(self):
        return [e.leg for e in self.out if isinstance(e, LegStarted)]


def brief(legs):
    return [(x.agent, x.started_how, x.ended_how, x.talk_seconds, x.hold_seconds, x.transferred_by) for x in legs]


def test_a_queue_call_is_one_leg_with_its_talk_seconds():
    c = Call()
    c.answered_by_alice(42)
    c.leave("b1", ALICE)
    c.hangup(ALICE)
    c.leave("b1", CUSTOMER)
    c.hangup(CUSTOMER)
    [leg] = c.legs()
    assert brief([leg]) == [("alice", "queue", "hangup", 42, 0, "")]
    assert leg.interface == "PJSIP/alice" and leg.seq == 1 and leg.call_uniqueid == L
    assert (leg.answered_at - leg.started_at).total_seconds() == 2
    assert c.started() == []  # no transfer: the queue's own screen-pop does it


def test_blind_transfer_charges_each_agent_their_own_seconds():
    c = Call()
    c.answered_by_alice(2)
    # BlindTransfer: the customer leaves the queue's bridge for [ccserver-xfer], alice is gone
    c.leave("b1", CUSTOMER, ALICE)
    c.hangup(ALICE)
    c.created(BRUNO)  # Dial(PJSIP/bruno): ringing 4 s, not talking
    c.wait(4)
    c.enter("b2", BRUNO)
    c.enter("b2", CUSTOMER)
    c.wait(3)
    c.hangup(CUSTOMER)
    legs = c.legs()
    assert brief(legs) == [
        ("alice", "queue", "transferred", 2, 0, ""),
        ("bruno", "blind_transfer", "hangup", 3, 0, "alice"),
    ]
    assert talk_by_agent(list(legs)) == {"alice": 2, "bruno": 3}
    [pop] = c.started()
    assert pop.agent == "bruno" and pop.transferred_by == "alice" and pop.started_how == "blind_transfer"


def test_attended_transfer_starts_the_second_leg_at_completion_not_at_the_consultation():
    c = Call()
    c.answered_by_alice(2)
    # Atxfer: alice goes to a bridge with the consultation's Local channel; the customer holds
    c.leave("b1", ALICE)
    c.created(LOCAL1)
    c.created(LOCAL2)
    c.enter("b3", ALICE, LOCAL1)
    c.created(BRUNO)
    c.wait(1)
    c.enter("b4", LOCAL2, BRUNO)
    c.wait(5)  # alice and bruno talk: the customer hears music, no talk for anybody with them
    assert c.started() == []
    # complete: alice hangs up, the Local channel optimises away, bruno joins the customer
    c.leave("b3", ALICE, LOCAL1)
    c.hangup(ALICE)
    c.leave("b4", LOCAL2, BRUNO)
    c.hangup(LOCAL1)
    c.hangup(LOCAL2)
    c.enter("b1", BRUNO)
    c.wait(3)
    c.leave("b1", BRUNO, CUSTOMER)
    c.hangup(BRUNO)
    c.hangup(CUSTOMER)
    legs = c.legs()
    assert brief(legs) == [
        ("alice", "queue", "transferred", 2, 6, ""),  # hold: the consultation
        ("bruno", "attended_transfer", "hangup", 3, 0, "alice"),
    ]
    [pop] = c.started()
    assert pop.agent == "bruno" and pop.started_how == "attended_transfer"


def test_attended_transfer_whose_first_agent_hangs_up_after_the_second_connects():
    """Asterisk completes the transfer before the transferring agent's channel is gone."""
    c = Call()
    c.answered_by_alice(2)
    c.alice_consults_bruno(2)
    c.leave("b3", ALICE)
    c.leave("b4", BRUNO)
    c.enter("b1", BRUNO)
    c.hangup(ALICE)
    c.wait(3)
    c.hangup(CUSTOMER)
    assert brief(c.legs()) == [
        ("alice", "queue", "transferred", 2, 2, ""),
        ("bruno", "attended_transfer", "hangup", 3, 0, "alice"),
    ]


def test_attended_transfer_through_an_unoptimised_local_pair_still_connects():
    c = Call()
    c.answered_by_alice(2)
    c.alice_consults_bruno(4)
    c.leave("b3", ALICE)
    c.hangup(ALICE)
    c.leave("b3", LOCAL1)
    c.enter("b1", LOCAL1)  # the customer's bridge gets the Local channel: bruno reached through it
    c.wait(3)
    c.hangup(CUSTOMER)
    assert brief(c.legs()) == [
        ("alice", "queue", "transferred", 2, 4, ""),
        ("bruno", "attended_transfer", "hangup", 3, 0, "alice"),
    ]


def test_attended_transfer_cancelled_leaves_one_leg_with_the_consultation_as_hold():
    c = Call()
    c.answered_by_alice(2)
    c.alice_consults_bruno(4)
    # CancelAtxfer: bruno's side hangs up, alice back in the customer's bridge
    c.leave("b4", BRUNO, LOCAL2)
    c.hangup(BRUNO)
    c.leave("b3", ALICE, LOCAL1)
    c.hangup(LOCAL1)
    c.hangup(LOCAL2)
    c.enter("b1", ALICE)
    c.wait(5)
    c.hangup(CUSTOMER)
    assert brief(c.legs()) == [("alice", "queue", "hangup", 7, 4, "")]
    assert c.started() == []


def test_three_way_call_then_the_first_agent_leaves():
    c = Call()
    c.answered_by_alice(2)
    c.alice_consults_bruno(1)
    # merge (*3): all of them in one bridge
    c.leave("b3", ALICE, LOCAL1)
    c.enter("b1", ALICE, LOCAL1)
    c.wait(3)
    c.leave("b1", ALICE)  # alice leaves: bruno and the customer stay together
    c.hangup(ALICE)
    c.wait(4)
    c.hangup(CUSTOMER)
    assert brief(c.legs()) == [
        ("alice", "queue", "left", 5, 1, ""),
        ("bruno", "three_way", "hangup", 7, 0, "alice"),
    ]
    [pop] = c.started()
    assert pop.agent == "bruno" and pop.started_how == "three_way"


def test_customer_hanging_up_during_the_consultation_ends_the_call_with_one_leg():
    c = Call()
    c.answered_by_alice(2)
    c.alice_consults_bruno(3)
    c.leave("b1", CUSTOMER)
    c.hangup(CUSTOMER)
    assert brief(c.legs()) == [("alice", "queue", "hangup", 2, 3, "")]
    assert c.tracker.calls == {}


def test_call_control_hint_names_the_transfer_and_who_made_it():
    c = Call()
    c.answered_by_alice(2)
    c.tracker.hint(L, "attended_transfer", "alice")
    c.leave("b1", CUSTOMER, ALICE)
    c.hangup(ALICE)
    c.enter("b2", CUSTOMER, BRUNO)
    c.wait(1)
    c.hangup(CUSTOMER)
    assert [x.started_how for x in c.legs()] == ["queue", "attended_transfer"]


def test_a_ring_not_answered_and_other_calls_make_no_leg():
    c = Call()
    c.wait(3)
    c.created(ALICE)
    c.hangup(ALICE)  # rang, not answered
    other = "PJSIP/bruno-00000099"
    c.send(ev.BridgeEntered(bridge_id="x", uniqueid="9", linkedid="other.1", channel=other))
    c.created(BRUNO)
    c.enter("b1", CUSTOMER, BRUNO)
    c.wait(6)
    c.hangup(CUSTOMER)
    assert brief(c.legs()) == [("bruno", "queue", "hangup", 6, 0, "")]


def test_resync_without_the_customer_ends_the_call():
    c = Call()
    c.answered_by_alice(10)
    c.send(ev.PbxSnapshot(channels=()))
    assert brief(c.legs()) == [("alice", "queue", "hangup", 10, 0, "")]
    assert c.tracker.bridge_of == {} and c.tracker.members == {}  # nothing left of the vanished channels


def test_click_to_dial_call_is_followed_from_its_record():
    from ccserver.capabilities.calls.model import CallRecord, CallRecordChanged

    c = Call()
    agent_uid, customer = "1700000100.7", "PJSIP/customers-00000009"
    record = CallRecord(
        uniqueid=agent_uid,
        linkedid=agent_uid,
        channel="PJSIP/alice",
        caller_number="+33612345678",
        queue="",
        entered_queue_at=c.clock.now(),
        direction="outbound",
        agent="alice",
        data=(("click_to_dial", "customer:3"),),
    )
    c.tracker.on_record(CallRecordChanged(record=record))
    alice = "PJSIP/alice-00000010"
    for event in (
        ev.ChannelCreated(uniqueid=agent_uid, linkedid=agent_uid, channel=alice),
        ev.ChannelCreated(uniqueid="1700000100.8", linkedid=agent_uid, channel=customer),
        ev.BridgeEntered(bridge_id="c1", uniqueid=agent_uid, linkedid=agent_uid, channel=alice),
        ev.BridgeEntered(bridge_id="c1", uniqueid="1700000100.8", linkedid=agent_uid, channel=customer),
    ):
        c.send(event)
    c.wait(12)
    c.send(ev.ChannelHungup(uniqueid="1700000100.8", linkedid=agent_uid, channel=customer))
    [leg] = c.legs()
    assert (leg.call_uniqueid, leg.agent, leg.started_how, leg.ended_how, leg.talk_seconds) == (
        agent_uid,
        "alice",
        "click_to_dial",
        "hangup",
        12,
    )


def test_click_to_dial_never_reaching_the_customer_leaves_nothing_open():
    from ccserver.capabilities.calls.model import CallRecord, CallRecordChanged

    c = Call()
    record = CallRecord(
        uniqueid="9.1",
        linkedid="9.1",
        channel="PJSIP/alice",
        caller_number="+33612345678",
        queue="",
        entered_queue_at=c.clock.now(),
        direction="outbound",
        data=(("click_to_dial", "number"),),
    )
    c.tracker.on_record(CallRecordChanged(record=record))
    c.send(ev.ChannelCreated(uniqueid="9.1", linkedid="9.1", channel="PJSIP/alice-00000011"))
    c.send(ev.BridgeEntered(bridge_id="z", uniqueid="9.1", linkedid="9.1", channel="PJSIP/alice-00000011"))
    c.send(ev.ChannelHungup(uniqueid="9.1", linkedid="9.1", channel="PJSIP/alice-00000011"))
    assert "9.1" not in c.tracker.calls


HOLD1, HOLD2 = "Local/1@ccserver-hold-00000003;1", "Local/1@ccserver-hold-00000003;2"


def test_agent_phone_dropping_on_hold_puts_the_call_back_in_the_queue_for_the_next_agent():
    """Alice holds (Atxfer to [ccserver-hold]) and her phone hangs up: Asterisk completes the
    transfer, [ccserver-requeue] puts the customer back in the queue (CcsRequeued), bruno
    answers from the queue. Alice's leg ends "requeued", bruno's starts as a queue leg."""
    c = Call()
    c.answered_by_alice(3)
    c.leave("b1", ALICE)
    c.created(HOLD1)
    c.created(HOLD2)
    c.enter("b3", ALICE, HOLD1)
    c.wait(4)  # on hold
    c.leave("b3", ALICE, HOLD1)
    c.hangup(ALICE)  # her phone hangs up: the transfer completes, the hold channel with the customer
    c.enter("b1", HOLD1)
    c.wait(1)
    c.leave("b1", CUSTOMER, HOLD1)  # ChannelRedirect to [ccserver-requeue]
    c.hangup(HOLD1)
    c.hangup(HOLD2)
    c.send(ev.CallRequeued(queue="support", uniqueid=L, linkedid=L))
    assert brief(c.tracker.legs(L)) == [("alice", "queue", "requeued", 3, 4, "")]
    c.send(ev.QueueCallerJoined(queue="support", uniqueid=L, linkedid=L, channel=CUSTOMER))
    c.wait(6)  # waiting at the front of the queue, then bruno rings and answers
    c.created(BRUNO)
    c.wait(1)
    c.enter("b5", CUSTOMER, BRUNO)
    c.wait(5)
    c.leave("b5", BRUNO, CUSTOMER)
    c.hangup(BRUNO)
    c.hangup(CUSTOMER)
    legs = c.legs()
    assert brief(legs) == [
        ("alice", "queue", "requeued", 3, 4, ""),  # her own seconds only, the hold too
        ("bruno", "queue", "hangup", 5, 0, ""),  # from the queue, not a transfer from alice
    ]
    assert talk_by_agent(list(legs)) == {"alice": 3, "bruno": 5}
    assert c.started() == []  # the queue's own screen-pop rings bruno


def test_requeue_of_an_unknown_call_or_one_nobody_left_changes_nothing():
    c = Call()
    assert c.tracker.apply(ev.CallRequeued(queue="support", uniqueid="9.9", linkedid="9.9")) == []
    c.answered_by_alice(2)
    assert c.tracker.apply(ev.CallRequeued(queue="support", uniqueid=L, linkedid=L)) == []  # alice still on it
    c.hangup(CUSTOMER)
    assert brief(c.legs()) == [("alice", "queue", "hangup", 2, 0, "")]
