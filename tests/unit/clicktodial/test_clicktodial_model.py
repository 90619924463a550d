"""Click-to-dial's pure logic: which target a request names, which number is dialled, who may
call a callback back, what a compliance refusal says, and the outbound call record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ccserver.capabilities.calls.model import CallRecordChanged
from ccserver.capabilities.clicktodial.errors import NoPhoneNumber
from ccserver.capabilities.clicktodial.model import (
    DialedCall,
    DialedCalls,
    DialTarget,
    callback_target,
    choose_phone,
    parse_target,
    refusal_message,
)
from ccserver.capabilities.customers.model import normalize_number
from ccserver.capabilities.outbound.compliance import RuleOutcome, Status
from ccserver.core import events as ev
from ccserver.core.clock import ManualClock
from ccserver.core.errors import Forbidden, InvalidInput
from ccserver.core.permissions import Actor, require

T0 = datetime(2026, 9, 15, 9, 30, tzinfo=UTC)


def _field(body) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_target(body)
    return caught.value.details["field"]


def test_each_target_kind_is_parsed():
    assert parse_target({"customer_id": 3}) == DialTarget("customer_id", 3)
    assert parse_target({"customer_id": "3", "phone": "06 12 34 56 78"}) == DialTarget(
        "customer_id", 3, "06 12 34 56 78"
    )
    assert parse_target({"ticket_id": 9}) == DialTarget("ticket_id", 9)
    assert parse_target({"callback_id": 2}) == DialTarget("callback_id", 2)
    assert parse_target({"contact_id": 7}).canvassing
    assert not parse_target({"customer_id": 7}).canvassing
    assert parse_target({"number": "+33612345678"}) == DialTarget("number", 0, "+33612345678")


def test_bad_targets_name_the_field():
    assert _field({}) == "target"
    assert _field({"customer_id": 1, "ticket_id": 2}) == "ticket_id"
    assert _field({"channel": "PJSIP/x"}) == "channel"  # never a dial string
    assert _field({"customer_id": -1}) == "customer_id"
    assert _field({"customer_id": "1;Dial"}) == "customer_id"
    assert _field({"customer_id": True}) == "customer_id"
    assert _field({"customer_id": 2**31}) == "customer_id"
    assert _field({"callback_id": 1, "phone": "0612345678"}) == "phone"
    assert _field({"number": 612345678}) == "number"
    assert _field({"number": "0" * 41}) == "number"
    assert _field([1]) == "body"


def normalize(text: str) -> str:
    return normalize_number(text, "FR", field="phone")


def test_the_first_number_unless_another_of_the_customers_is_asked():
    phones = ["+33612345678", "+33145678901"]
    assert choose_phone(phones, "", normalize, "customer #1") == "+33612345678"
    assert choose_phone(phones, "01 45 67 89 01", normalize, "customer #1") == "+33145678901"
    with pytest.raises(InvalidInput) as caught:
        choose_phone(phones, "0699999999", normalize, "customer #1")
    assert caught.value.details["field"] == "phone"
    with pytest.raises(InvalidInput):  # CR/LF or letters never get through
        choose_phone(phones, "0612\r\nAction: x", normalize, "customer #1")
    with pytest.raises(NoPhoneNumber):
        choose_phone([], "", normalize, "customer #1")


def test_callback_is_the_holders_and_its_queue_agents():
    alice = Actor("alice", "agent")
    require(alice, callback_target(1, "alice", "sales", "alice", []), "call back")
    require(alice, callback_target(1, "", "sales", "alice", ["sales", "support"]), "call back")
    with pytest.raises(Forbidden):
        require(alice, callback_target(1, "bob", "sales", "alice", ["support"]), "call back")
    sup = Actor("sophie", "supervisor", queues=frozenset({"sales"}))
    require(sup, callback_target(1, "bob", "sales", "sophie", []), "call back")
    with pytest.raises(Forbidden):
        require(sup, callback_target(1, "bob", "support", "sophie", []), "call back")
    require(Actor("root", "admin"), callback_target(1, "", "support", "root", []), "call back")


def test_refusal_lists_each_failed_rule_with_its_explanation():
    failed = [
        RuleOutcome("consent.required", Status.FAILED, "no consent on record", "L223-1"),
        RuleOutcome("hours.window", Status.FAILED, "21:10 is outside 10:00-13:00, 14:00-20:00", "D223-9"),
    ]
    message = refusal_message(failed)
    assert "consent.required: no consent on record" in message
    assert "hours.window: 21:10 is outside" in message
    assert refusal_message([]).endswith("(undetermined)")


def _call(clock) -> DialedCall:
    return DialedCall("c2d-1", "alice", "PJSIP/alice", "+33612345678", 4, clock.now(), "customer:4")


def test_answered_call_record_is_outbound_with_agent_customer_and_times():
    clock = ManualClock(T0)
    calls = DialedCalls(clock)
    (opened,) = calls.expect(_call(clock), "act-1")
    assert isinstance(opened, CallRecordChanged) and not opened.ended
    record = opened.record
    assert (record.direction, record.agent, record.caller_number) == ("outbound", "alice", "+33612345678")
    assert dict(record.data) == {"click_to_dial": "customer:4", "customer_id": "4"}
    clock.set(T0 + timedelta(seconds=3))
    assert calls.apply(ev.ChannelAnswered(uniqueid="c2d-1", linkedid="c2d-1")) == []  # the agent's phone
    clock.set(T0 + timedelta(seconds=8))
    (answered,) = calls.apply(ev.ChannelAnswered(uniqueid="cust-9", linkedid="c2d-1"))  # the customer
    assert answered.record.answered_at == T0 + timedelta(seconds=8) and answered.record.wait_seconds == 8
    assert calls.apply(ev.ChannelAnswered(uniqueid="other", linkedid="someone-else")) == []
    clock.set(T0 + timedelta(seconds=50))
    (ended,) = calls.apply(ev.ChannelHungup(uniqueid="c2d-1", linkedid="c2d-1", cause=16, cause_text="Normal"))
    assert ended.ended and ended.record.outcome == "answered"
    assert ended.record.talk_seconds == 42 and ended.record.ended_at == T0 + timedelta(seconds=50)
    assert calls.live == {} and calls.by_action == {}


def test_unanswered_or_failed_calls_end_without_talk():
    clock = ManualClock(T0)
    calls = DialedCalls(clock)
    calls.expect(_call(clock), "act-1")
    (ended,) = calls.apply(ev.OriginateResponded(action_id="act-1", success=False, reason=3))
    assert ended.ended and ended.record.outcome == "failed" and ended.record.talk_seconds == 0
    calls.expect(_call(clock), "act-2")
    assert calls.apply(ev.OriginateResponded(action_id="act-2", success=True, reason=4)) == []
    (ended,) = calls.apply(ev.ChannelHungup(uniqueid="c2d-1", cause=19, cause_text="No answer"))
    assert ended.record.outcome == "no_answer" and ended.record.hangup_cause == 19
    calls.expect(_call(clock))
    (failed,) = calls.failed("c2d-1", "AMI down")
    assert failed.record.outcome == "failed" and failed.record.hangup_reason == "AMI down"


def test_a_resync_without_the_call_ends_it():
    clock = ManualClock(T0)
    calls = DialedCalls(clock)
    calls.expect(_call(clock))
    calls.apply(ev.ChannelAnswered(uniqueid="c2d-1", linkedid="c2d-1"))
    alive = ev.PbxSnapshot(channels=(ev.ChannelSnapshot("c2d-1", "c2d-1", "PJSIP/alice-1", "Up"),))
    assert calls.apply(alive) == []
    (ended,) = calls.apply(ev.PbxSnapshot())
    assert ended.ended and ended.record.hangup_reason == "vanished during outage"
