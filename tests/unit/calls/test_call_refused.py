"""A caller refused at admission (more than max_concurrent_calls at once) leaves a record with its
cause, from the dialplan's UserEvent as Asterisk sends it."""

from datetime import UTC, datetime

from ccserver.adapters.pbx.translate import translate_ami
from ccserver.capabilities.calls.model import CallRecordChanged, CallTracker
from ccserver.core import events as ev
from ccserver.core.clock import ManualClock

# UserEvent as Asterisk 22 sends it from [ccserver-admission] (channel fields included)
REFUSED = {
    "Event": "UserEvent",
    "Privilege": "user,all",
    "Channel": "PJSIP/customers-00000002",
    "ChannelState": "4",
    "ChannelStateDesc": "Ring",
    "CallerIDNum": "0612345672",
    "CallerIDName": "<unknown>",
    "ConnectedLineNum": "<unknown>",
    "ConnectedLineName": "<unknown>",
    "Language": "en",
    "AccountCode": "",
    "Context": "ccserver-admission",
    "Exten": "4100",
    "Priority": "4",
    "Uniqueid": "1796403314.2",
    "Linkedid": "1796403314.2",
    "UserEvent": "CcsRefused",
    "Reason": "capacity",
    "Limit": "2",
}


def test_the_admission_user_event_becomes_a_refused_call():
    event = translate_ami(REFUSED, "node1")
    assert event == ev.CallRefused(
        uniqueid="1796403314.2",
        linkedid="1796403314.2",
        channel="PJSIP/customers-00000002",
        caller_number="0612345672",
        exten="4100",
        reason="capacity",
        limit=2,
        node="node1",
    )


def test_a_refused_call_is_recorded_ended_with_cause_34():
    clock = ManualClock(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    tracker = CallTracker(clock)
    [changed] = tracker.apply(translate_ami(REFUSED, "node1"))
    assert isinstance(changed, CallRecordChanged) and changed.ended
    record = changed.record
    assert (record.outcome, record.hangup_cause, record.caller_number, record.queue) == (
        "refused",
        34,
        "0612345672",
        "",
    )
    assert record.hangup_reason == "refused: capacity (max_concurrent_calls 2)"
    assert record.ended_at == clock.now() and tracker.open == {}
    # its channel's hang-up that follows changes nothing
    assert tracker.apply(ev.ChannelHungup(uniqueid="1796403314.2", cause=34)) == []


def test_the_refused_caller_number_is_normalized_like_every_caller_number():
    # the other translators pass the number through core.untrusted; this one took it raw
    long = dict(REFUSED, CallerIDNum="0" * 300 + "\x07")
    assert translate_ami(long, "node1").caller_number == "0" * 40
    assert translate_ami(dict(REFUSED, CallerIDNum="<unknown>"), "node1").caller_number == ""
