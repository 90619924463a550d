from datetime import UTC, datetime, timedelta

import pytest

from ccserver.capabilities.agents.model import AgentState, AgentStatus
from ccserver.capabilities.calls.model import CallRecord
from ccserver.capabilities.supervision.model import chanspy_options, mode_digit, queue_figures

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def rec(outcome, wait, talk=None, queue="support"):
    return CallRecord(
        uniqueid=f"{outcome}{wait}{talk}",
        linkedid="",
        channel="",
        caller_number="",
        queue=queue,
        entered_queue_at=NOW - timedelta(minutes=5),
        outcome=outcome,
        wait_seconds=wait,
        talk_seconds=talk,
        ended_at=NOW,
    )


def test_service_level_answered_abandoned_and_handle_time():
    records = [
        rec("answered", 5, 60),
        rec("answered", 19, 120),
        rec("answered", 25, 30),
        rec("abandoned", 40),
        rec("callback", 30),
        rec("overflow", 300),
        rec("answered", 1, 10, "sales"),
    ]
    f = queue_figures("support", 20, records, [], [], NOW)
    assert (f.offered, f.answered, f.abandoned, f.callbacks, f.overflowed) == (6, 3, 1, 1, 1)
    assert f.answered_in_target == 2
    assert f.service_level_pct == 50.0  # 2 in target of 3 answered + 1 abandoned
    assert f.average_handle_seconds == 70.0


def test_waiting_and_longest_wait():
    f = queue_figures("support", 20, [], [NOW - timedelta(seconds=42), NOW - timedelta(seconds=3)], [], NOW)
    assert (f.waiting, f.longest_wait_seconds) == (2, 42)


def test_no_calls_gives_no_service_level_rather_than_zero():
    f = queue_figures("support", 20, [], [], [], NOW)
    assert f.service_level_pct is None and f.average_handle_seconds is None


def test_agents_by_state_count_members_of_the_queue_only():
    agents = [
        AgentStatus("a", "PJSIP/a", AgentState.AVAILABLE, queues=frozenset({"support"})),
        AgentStatus("b", "PJSIP/b", AgentState.ON_CALL, queues=frozenset({"support", "sales"})),
        AgentStatus("c", "PJSIP/c", AgentState.PAUSED, queues=frozenset({"sales"})),
        AgentStatus("d", "PJSIP/d", AgentState.LOGGED_OUT),
    ]
    f = queue_figures("support", 20, [], [], agents, NOW)
    assert f.agents_by_state == {"available": 1, "paused": 0, "ringing": 0, "on_call": 1, "wrap_up": 0}


def test_spy_modes():
    assert chanspy_options("listen") == "qEd"
    assert chanspy_options("whisper") == "qwEd"
    assert chanspy_options("barge") == "qBEd"
    assert [mode_digit(m) for m in ("listen", "whisper", "barge")] == ["4", "5", "6"]
    with pytest.raises(ValueError):
        chanspy_options("shout")
