from datetime import UTC, datetime, timedelta

from ccserver.capabilities.callbacks.model import PendingCallback, WaitingLine, due_callbacks, retry_delay
from ccserver.capabilities.callbacks.service import dial_digits
from ccserver.core import events as ev
from ccserver.core.clock import ManualClock

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def line_with(*callers):
    clock = ManualClock(T0)
    line = WaitingLine(clock)
    for offset, uid, channel in callers:
        clock.set(T0 + timedelta(seconds=offset))
        line.apply(ev.QueueCallerJoined(queue="support", uniqueid=uid, channel=channel))
    return line, clock


def cb(id, seconds, queue="support"):
    return PendingCallback(id, queue, "0612345678", T0 + timedelta(seconds=seconds))


def test_callback_waits_for_callers_who_came_before_it():
    line, _ = line_with((0, "a", "PJSIP/customers-1"), (30, "b", "PJSIP/customers-2"))
    assert due_callbacks([cb(1, 10)], line, set()) == []  # "a" (t=0) still waits
    line.apply(ev.QueueCallerLeft(queue="support", uniqueid="a"))
    assert due_callbacks([cb(1, 10)], line, set()) == [cb(1, 10)]  # "b" came after: the callback goes first


def test_abandoned_callers_free_the_turn_and_empty_queue_is_due():
    line, _ = line_with((0, "a", "PJSIP/customers-1"))
    line.apply(ev.QueueCallerAbandoned(queue="support", uniqueid="a"))
    assert due_callbacks([cb(1, 10)], line, set()) == [cb(1, 10)]


def test_one_callback_per_queue_at_a_time_oldest_first():
    line, _ = line_with()
    pending = [cb(2, 20), cb(1, 10), cb(3, 5, queue="billing")]
    assert due_callbacks(pending, line, set()) == [cb(3, 5, "billing"), cb(1, 10)]
    assert due_callbacks(pending, line, {"support"}) == [cb(3, 5, "billing")]


def test_stand_in_in_the_queue_does_not_block_others():
    line, _ = line_with((0, "s", "Local/0612345678@ccq-support-cbqueue-00000001;2"))
    assert due_callbacks([cb(1, 10)], line, set()) == [cb(1, 10)]


def test_snapshot_rebuilds_waiting_callers():
    line, clock = line_with((0, "a", "PJSIP/customers-1"))
    clock.set(T0 + timedelta(minutes=5))
    line.apply(
        ev.PbxSnapshot(
            queue_callers=(
                ev.QueueCallerJoined(queue="support", uniqueid="a", channel="x"),
                ev.QueueCallerJoined(queue="support", uniqueid="z", channel="y"),
            )
        )
    )
    assert line.oldest_waiting("support") == T0  # "a" kept its time
    assert set(line.waiting["support"]) == {"a", "z"}


def test_retry_delays_and_dial_digits():
    assert retry_delay(0) == timedelta(0)
    assert [retry_delay(n).seconds // 60 for n in (1, 2, 3, 4)] == [2, 5, 10, 10]
    assert dial_digits("+33612345678") == "0612345678"
    assert dial_digits("+442079460958") == "00442079460958"
