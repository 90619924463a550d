"""Call control's pure rules: DTMF and target checks, the controlled calls' state from events."""

from __future__ import annotations

import pytest

from ccserver.capabilities.callcontrol.model import (
    CallControlBoard,
    CallControlChanged,
    ControlledCall,
    check_digits,
    check_kind,
    external_number,
    reason_of,
    requeue_queue,
)
from ccserver.core import events as ev
from ccserver.core.errors import InvalidInput


def test_dtmf_digits_are_checked_naming_the_field():
    assert check_digits("0123456789*#ABCD") == "0123456789*#ABCD"
    for bad in ("", "12${x}", "1\r\n2", "E", 12, None, "1" * 33):
        with pytest.raises(InvalidInput) as err:
            check_digits(bad)
        assert err.value.details["field"] == "digits"


def test_external_numbers_become_e164_and_junk_is_refused():
    assert external_number("01 23 45 67 89") == "+33123456789"
    assert external_number("+44 20 7946 0958") == "+442079460958"
    for bad in ("12\r\nX", "${EXTEN}", "0000", "", "abc", "0" * 40):
        with pytest.raises(InvalidInput) as err:
            external_number(bad)
        assert err.value.details["field"] == "target"


def test_transfer_kinds():
    assert check_kind("queue") == "queue"
    with pytest.raises(InvalidInput):
        check_kind("Local/x@ctx")


def test_hold_and_resume_follow_the_agent_channel_events():
    board = CallControlBoard()
    board.track(ControlledCall(uniqueid="1.1", agent="alice", agent_channel="PJSIP/alice-01"))
    [held] = board.apply(ev.ChannelHeld(channel="PJSIP/alice-01", uniqueid="1.2"))
    assert isinstance(held, CallControlChanged) and held.call.held
    assert board.apply(ev.ChannelHeld(channel="PJSIP/bruno-02")) == []  # not a controlled call
    [resumed] = board.apply(ev.ChannelUnheld(channel="PJSIP/alice-01"))
    assert not resumed.call.held


def test_a_failed_transfer_tells_why_and_the_call_stays_until_the_customer_leaves():
    board = CallControlBoard()
    board.track(ControlledCall(uniqueid="1.1", agent="alice", agent_channel="PJSIP/alice-01"))
    # blind transfer: the agent's leg ends, the call is still known
    [left] = board.apply(ev.ChannelHungup(uniqueid="1.2", channel="PJSIP/alice-01"))
    assert left.call.agent_channel == "" and not left.ended
    [failed] = board.apply(ev.TransferFailed(uniqueid="1.1", status="BUSY", xfer_id="1.1"))
    assert failed.call.transfer == "failed" and failed.call.reason == "the target is busy"
    assert board.apply(ev.TransferFailed(status="BUSY", xfer_id="9.9")) == []
    [ended] = board.apply(ev.ChannelHungup(uniqueid="1.1", channel="PJSIP/customers-01"))
    assert ended.ended and "1.1" not in board.calls


def test_reasons_are_readable():
    assert reason_of("NOANSWER") == "the target did not answer"
    assert reason_of("JOINEMPTY") == "nobody is logged in to the queue"
    assert reason_of("CLOSED") == "the queue is closed now (opening hours)"  # [ccserver-xfer]
    assert reason_of("FULL") == "the queue is full"
    assert "WEIRD" in reason_of("WEIRD")


def test_a_requeued_call_leaves_its_agents_desk():
    board = CallControlBoard()
    board.track(ControlledCall(uniqueid="1.1", agent="alice", agent_channel="PJSIP/alice-01", held=True))
    board.apply(ev.ChannelHungup(uniqueid="1.2", channel="PJSIP/alice-01"))  # her phone hung up
    [gone] = board.apply(ev.CallRequeued(queue="support", uniqueid="1.1"))
    assert gone.ended and gone.call.agent == "alice" and "1.1" not in board.calls
    assert board.apply(ev.CallRequeued(queue="support", uniqueid="1.1")) == []


def test_only_calls_of_the_call_centers_queues_go_back_to_their_queue():
    queues = {"support", "billing-2"}
    assert requeue_queue("support", "inbound", queues) == "support"
    assert requeue_queue("billing-2", "callback", queues) == "billing-2"
    assert requeue_queue("camp-3", "outbound", queues | {"camp-3"}) == ""  # a campaign call
    assert requeue_queue("", "inbound", queues) == ""  # a click-to-dial call has no queue
    assert requeue_queue("gone", "inbound", queues) == ""  # a queue since deleted
    assert requeue_queue("a,b", "inbound", {"a,b"}) == ""  # never a name the dialplan would split
