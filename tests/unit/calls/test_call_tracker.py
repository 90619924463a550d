from datetime import UTC, datetime

from ccserver.capabilities.calls.model import (
    REQUEUE_FAILURES,
    CallRecord,
    CallRecordChanged,
    CallTracker,
    requeue_failure,
)
from ccserver.core import events as ev
from ccserver.core.clock import ManualClock


def tracker():
    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    return CallTracker(clock, agent_of_interface={"PJSIP/agent1": "alice"}.get), clock


def ended(out):
    return [e.record for e in out if isinstance(e, CallRecordChanged) and e.ended]


def join(t, uid="u1", queue="support"):
    return t.apply(
        ev.QueueCallerJoined(
            queue=queue, uniqueid=uid, linkedid=uid, channel="PJSIP/customers-1", caller_number="0612345678"
        )
    )


def test_answered_call_row():
    t, clock = tracker()
    opened = join(t)
    assert opened[0].record.outcome == "" and not opened[0].ended
    clock.advance(seconds=7)
    t.apply(ev.AgentConnected(queue="support", uniqueid="u1", interface="PJSIP/agent1", hold_time=7))
    clock.advance(seconds=60)
    t.apply(ev.AgentCompleted(queue="support", uniqueid="u1", interface="PJSIP/agent1", talk_time=60))
    rec = ended(t.apply(ev.ChannelHungup(uniqueid="u1", cause=16, cause_text="Normal Clearing")))[0]
    assert (rec.outcome, rec.agent, rec.wait_seconds, rec.talk_seconds) == ("answered", "alice", 7, 60)
    assert rec.answered_at == datetime(2026, 11, 23, 9, 0, 7, tzinfo=UTC)
    assert rec.ended_at == datetime(2026, 11, 23, 9, 1, 7, tzinfo=UTC)
    assert t.open == {}


def test_abandoned_with_wait_time():
    t, clock = tracker()
    join(t)
    clock.advance(seconds=12)
    t.apply(ev.QueueCallerAbandoned(queue="support", uniqueid="u1", hold_time=12, position=1))
    rec = ended(t.apply(ev.ChannelHungup(uniqueid="u1")))[0]
    assert (rec.outcome, rec.wait_seconds, rec.agent) == ("abandoned", 12, "")


def test_hangup_without_abandon_event_is_abandoned_with_measured_wait():
    t, clock = tracker()
    join(t)
    clock.advance(seconds=5)
    rec = ended(t.apply(ev.ChannelHungup(uniqueid="u1")))[0]
    assert (rec.outcome, rec.wait_seconds) == ("abandoned", 5)


def test_callback_and_overflow_outcomes():
    t, clock = tracker()
    join(t, "a")
    clock.advance(seconds=30)
    t.apply(ev.CallbackRequested(queue="support", uniqueid="a", number="0612345678"))
    assert ended(t.apply(ev.ChannelHungup(uniqueid="a")))[0].outcome == "callback"
    join(t, "b")
    clock.advance(seconds=90)
    t.apply(ev.QueueOverflowed(queue="support", uniqueid="b", destination="voicemail"))
    rec = ended(t.apply(ev.ChannelHungup(uniqueid="b")))[0]
    assert (rec.outcome, rec.wait_seconds) == ("overflow", 90)


def test_overflow_to_another_queue_answered_there():
    t, _ = tracker()
    join(t, "c", "support")
    t.apply(ev.QueueOverflowed(queue="support", uniqueid="c", destination="queue:sales"))
    join(t, "c", "sales")
    t.apply(ev.AgentConnected(queue="sales", uniqueid="c", interface="PJSIP/agent1", hold_time=3))
    rec = ended(t.apply(ev.ChannelHungup(uniqueid="c")))[0]
    assert (rec.queue, rec.overflowed_from, rec.outcome) == ("sales", "support", "answered")


def test_resync_closes_calls_that_vanished_once():
    t, _ = tracker()
    join(t, "x")
    join(t, "y")
    out = t.apply(ev.PbxSnapshot(channels=(ev.ChannelSnapshot("y", "y", "PJSIP/c-2", "Up"),)))
    closed = ended(out)
    assert [r.uniqueid for r in closed] == ["x"]
    assert closed[0].hangup_reason == "vanished during outage"
    assert ended(t.apply(ev.ChannelHungup(uniqueid="x"))) == []  # never closed twice


def test_call_data_merges():
    t, _ = tracker()
    join(t)
    t.apply(ev.CallDataSet(uniqueid="u1", data=(("customer_id", "12345678"),)))
    out = t.apply(ev.CallDataSet(uniqueid="u1", data=(("menu_path", "1>2"),)))
    assert dict(out[0].record.data) == {"customer_id": "12345678", "menu_path": "1>2"}


def test_channels_outside_queues_make_no_record():
    t, _ = tracker()
    assert t.apply(ev.ChannelHungup(uniqueid="zzz")) == []


def test_reloaded_open_record_closed_by_resync():
    t, clock = tracker()
    t.load_open(
        [
            CallRecord(
                uniqueid="old",
                linkedid="old",
                channel="c",
                caller_number="1",
                queue="support",
                entered_queue_at=clock.now(),
            )
        ]
    )
    assert ended(t.apply(ev.PbxSnapshot()))[0].uniqueid == "old"


def test_ivr_data_set_before_the_queue_reaches_the_record():
    t, _ = tracker()
    t.apply(ev.CallDataSet(uniqueid="u1", data=(("customer_id", "12345678"), ("menu_path", "1>2"))))
    rec = join(t)[0].record
    assert dict(rec.data) == {"customer_id": "12345678", "menu_path": "1>2"}
    assert t.pending_data == {}


def test_callback_stand_in_is_recorded_as_a_callback_leg():
    t, _ = tracker()
    out = t.apply(
        ev.QueueCallerJoined(
            queue="support",
            uniqueid="s",
            channel="Local/0612345678@ccq-support-cbqueue-00000001;2",
            caller_number="0612345678",
        )
    )
    assert out[0].record.direction == "callback"
    assert join(t, "c")[0].record.direction == "inbound"


def test_campaign_queue_calls_are_outbound():
    t, _ = tracker()
    out = t.apply(
        ev.QueueCallerJoined(
            queue="camp-7", uniqueid="o", channel="PJSIP/customers-00000009", caller_number="0612345678"
        )
    )
    assert out[0].record.direction == "outbound"


def test_requeued_call_keeps_one_record_with_its_first_answer():
    """The customer of a held call whose agent's phone hung up goes back to the same queue
    (CcsRequeued, then Queue() again) and bruno answers: still one record, alice's answer and
    talk kept (bruno's part is his leg's), answered once for the queue's figures."""
    t, clock = tracker()
    t._agent_of = {"PJSIP/agent1": "alice", "PJSIP/agent2": "bruno"}.get
    join(t)
    clock.advance(seconds=7)
    t.apply(ev.AgentConnected(queue="support", uniqueid="u1", interface="PJSIP/agent1", hold_time=7))
    clock.advance(seconds=30)
    # alice's phone hangs up while holding: app_queue ends her part (ATTENDEDTRANSFER)
    t.apply(ev.AgentCompleted(queue="support", uniqueid="u1", interface="PJSIP/agent1", talk_time=30))
    assert t.apply(ev.CallRequeued(queue="support", uniqueid="u1", linkedid="u1")) == []
    assert join(t) == []  # the same record goes on
    clock.advance(seconds=10)
    assert t.apply(ev.AgentConnected(queue="support", uniqueid="u1", interface="PJSIP/agent2", hold_time=10)) == []
    clock.advance(seconds=20)
    assert t.apply(ev.AgentCompleted(queue="support", uniqueid="u1", interface="PJSIP/agent2", talk_time=20)) == []
    [rec] = ended(t.apply(ev.ChannelHungup(uniqueid="u1", cause=16, cause_text="Normal Clearing")))
    assert (rec.outcome, rec.agent, rec.wait_seconds, rec.talk_seconds) == ("answered", "alice", 7, 30)
    assert rec.answered_at == datetime(2026, 11, 23, 9, 0, 7, tzinfo=UTC)
    assert rec.hangup_reason == "Normal Clearing"
    assert t.requeued == {} and t.end_reasons == {}


def test_failed_requeue_is_the_records_end_reason():
    t, clock = tracker()
    join(t)
    t.apply(ev.AgentConnected(queue="support", uniqueid="u1", interface="PJSIP/agent1", hold_time=3))
    clock.advance(seconds=30)
    t.apply(ev.RequeueFailed(queue="support", uniqueid="u1", status="JOINEMPTY"))
    [rec] = ended(t.apply(ev.ChannelHungup(uniqueid="u1", cause=16, cause_text="Normal Clearing")))
    assert rec.outcome == "answered" and rec.hangup_reason == "requeue failed: nobody logged in to the queue"
    assert t.apply(ev.RequeueFailed(queue="support", uniqueid="u9", status="CLOSED")) == []
    assert t.end_reasons == {}


def test_requeue_failures_read_as_reasons():
    assert requeue_failure("CLOSED") == "requeue failed: queue closed"
    assert requeue_failure("NOQUEUE") == "requeue failed: no queue to go back to"
    assert requeue_failure("WEIRD") == "requeue failed: weird"
    assert requeue_failure("") == "requeue failed: unknown"
    assert all(len(requeue_failure(s)) <= 64 for s in REQUEUE_FAILURES)  # the stored column
