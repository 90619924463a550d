from datetime import UTC, datetime

from ccserver.capabilities.agents.model import (
    AgentBoard,
    AgentMembershipLost,
    AgentState,
    AgentStateChanged,
    AgentWrapUpStarted,
)
from ccserver.core import events as ev
from ccserver.core.clock import ManualClock

IFACE = "PJSIP/agent1"


def board(wrapup=None):
    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    b = AgentBoard(clock, wrapup_seconds=wrapup or {})
    b.add_agent("alice", IFACE)
    return b, clock


def member(change, queue="support", paused=False, reason="", status=1, iface=IFACE):
    return ev.QueueMemberChanged(
        change=change, queue=queue, interface=iface, paused=paused, paused_reason=reason, status=status
    )


def states(events):
    return [(e.previous, e.state, e.reason) for e in events if isinstance(e, AgentStateChanged)]


def test_login_pause_unpause_logout_timeline():
    b, clock = board()
    assert states(b.apply(member("added"))) == [("logged_out", "available", "")]
    clock.advance(minutes=5)
    assert states(b.apply(member("paused", paused=True, reason="break"))) == [("available", "paused", "break")]
    assert b.agents["alice"].since == clock.now()
    assert states(b.apply(member("paused", paused=False))) == [("paused", "available", "")]
    assert states(b.apply(member("removed"))) == [("available", "logged_out", "")]


def test_two_queues_pause_counts_once_and_reason_change_is_reported():
    b, _ = board()
    b.apply(member("added", "support"))
    b.apply(member("added", "sales"))
    assert states(b.apply(member("paused", "support", True, "break"))) == []  # still available in sales
    assert states(b.apply(member("paused", "sales", True, "break"))) == [("available", "paused", "break")]
    assert states(b.apply(member("paused", "sales", True, "break"))) == []
    out = b.apply(member("paused", "support", True, "training"))
    assert states(out) == [("paused", "paused", "training")]
    assert states(b.apply(member("paused", "sales", True, "training"))) == []


def test_queue_call_ringing_answered_completed_with_wrapup():
    b, clock = board(wrapup={"support": 30})
    b.apply(member("added"))
    out = b.apply(
        ev.AgentCalled(queue="support", uniqueid="u1", linkedid="u1", caller_number="0612345678", interface=IFACE)
    )
    assert states(out) == [("available", "ringing", "")]
    assert b.agents["alice"].call.caller_number == "0612345678"
    clock.advance(seconds=3)
    out = b.apply(ev.AgentConnected(queue="support", uniqueid="u1", interface=IFACE, hold_time=4, ring_time=3))
    assert states(out) == [("ringing", "on_call", "")]
    assert b.agents["alice"].call.answered_at == clock.now()
    out = b.apply(ev.AgentCompleted(queue="support", uniqueid="u1", interface=IFACE, talk_time=60))
    assert states(out) == [("on_call", "wrap_up", "wrapup")]
    wrap = [e for e in out if isinstance(e, AgentWrapUpStarted)]
    assert wrap and wrap[0].seconds == 30
    # the device status after hangup does not flip the agent to available before the pause lands
    assert states(b.apply(member("status", status=1))) == []
    assert states(b.apply(member("paused", paused=True, reason="wrapup"))) == []
    assert b.agents["alice"].state is AgentState.WRAP_UP
    assert states(b.apply(member("paused", paused=False))) == [("wrap_up", "available", "")]


def test_ring_no_answer_returns_to_available():
    b, _ = board()
    b.apply(member("added"))
    b.apply(ev.AgentCalled(queue="support", uniqueid="u1", interface=IFACE))
    assert states(b.apply(ev.AgentRingNoAnswer(queue="support", uniqueid="u1", interface=IFACE))) == [
        ("ringing", "available", "no answer")
    ]


def test_caller_abandons_while_agent_rings():
    b, _ = board()
    b.apply(member("added"))
    b.apply(ev.AgentCalled(queue="support", uniqueid="u1", interface=IFACE))
    out = b.apply(ev.QueueCallerAbandoned(queue="support", uniqueid="u1", hold_time=12))
    assert states(out) == [("ringing", "available", "caller hung up")]


def test_pause_during_call_shows_after_the_call():
    b, _ = board()
    b.apply(member("added"))
    b.apply(ev.AgentCalled(queue="support", uniqueid="u1", interface=IFACE))
    b.apply(ev.AgentConnected(queue="support", uniqueid="u1", interface=IFACE))
    assert states(b.apply(member("paused", paused=True, reason="break"))) == []
    out = b.apply(ev.AgentCompleted(queue="support", uniqueid="u1", interface=IFACE))
    assert states(out) == [("on_call", "paused", "break")]


def test_snapshot_after_asterisk_restart_reports_lost_membership_as_it_was():
    b, _ = board()
    b.apply(member("added", "support"))
    b.apply(member("paused", "support", True, "training"))
    out = b.apply(ev.PbxSnapshot(queue_members=()))
    lost = [e for e in out if isinstance(e, AgentMembershipLost)]
    assert len(lost) == 1
    assert (lost[0].username, lost[0].queues, lost[0].paused, lost[0].reason) == (
        "alice",
        ("support",),
        True,
        "training",
    )
    assert b.agents["alice"].state is AgentState.PAUSED  # unchanged until Asterisk confirms


def test_snapshot_adopts_asterisk_truth():
    b, _ = board()
    out = b.apply(
        ev.PbxSnapshot(
            queue_members=(
                ev.QueueMemberChanged(
                    change="snapshot", queue="sales", interface=IFACE, paused=True, paused_reason="lunch"
                ),
            )
        )
    )
    assert states(out) == [("logged_out", "paused", "lunch")]
    assert b.agents["alice"].queues == {"sales"}


def test_unknown_interface_is_ignored():
    b, _ = board()
    assert b.apply(member("added", iface="PJSIP/stranger")) == []


def test_interface_match_is_exact_not_prefix():
    b, _ = board()
    b.add_agent("bob", "PJSIP/agent10")
    out = b.apply(member("added", iface="PJSIP/agent10"))
    assert [e.username for e in out] == ["bob"]
    assert b.agents["alice"].state is AgentState.LOGGED_OUT


def test_stored_login_restores_state_before_asterisk_confirms():
    b, _ = board()
    status = b.add_agent("carol", "PJSIP/agent3", queues=frozenset({"support"}), paused=True, reason="break")
    assert status.state is AgentState.PAUSED


def test_a_call_reached_through_a_transfer_puts_the_agent_on_call_then_in_wrap_up():
    b, _ = board(wrapup={"support": 30})
    b.apply(member("added"))
    out = b.leg_started("alice", uniqueid="u1", linkedid="u1", queue="support", caller_number="0612345678")
    assert states(out) == [("available", "on_call", "")]
    call = b.agents["alice"].to_dict()["call"]
    assert call["uniqueid"] == "u1" and call["caller_number"] == "0612345678" and call["answered_at"]
    assert b.leg_started("alice", uniqueid="u1", linkedid="u1", queue="support") == []  # once
    assert b.leg_ended("alice", uniqueid="other") == []  # another call's leg
    out = b.leg_ended("alice", uniqueid="u1")
    assert states(out) == [("on_call", "wrap_up", "wrapup")]
    assert [e.seconds for e in out if isinstance(e, AgentWrapUpStarted)] == [30]
    assert b.agents["alice"].call is None
    assert b.leg_ended("alice", uniqueid="u1") == []


def test_a_queue_call_is_left_to_the_queue_events_and_another_call_is_kept():
    b, _ = board()
    b.apply(member("added"))
    b.apply(ev.AgentCalled(queue="support", uniqueid="u1", linkedid="u1", caller_number="06", interface=IFACE))
    b.apply(ev.AgentConnected(queue="support", uniqueid="u1", linkedid="u1", interface=IFACE))
    # a transfer through the queue: its leg starts too, the queue events stay in charge
    assert b.leg_started("alice", uniqueid="u1", linkedid="u1", queue="support") == []
    assert b.leg_ended("alice", uniqueid="u1") == []
    assert b.agents["alice"].state is AgentState.ON_CALL
    # another customer's call transferred to her while on this one: shown, this one kept aside
    assert states(b.leg_started("alice", uniqueid="u2", linkedid="u2", queue="sales")) == [("on_call", "on_call", "")]
    alice = b.agents["alice"]
    assert alice.call.uniqueid == "u2" and [c.uniqueid for c in alice.other_calls] == ["u1"]
    assert [c["uniqueid"] for c in alice.to_dict()["other_calls"]] == ["u1"]
    # the queue call ends: still on call with the other one, never available in between
    out = b.apply(ev.AgentCompleted(queue="support", uniqueid="u1", interface=IFACE))
    assert states(out) == [("on_call", "on_call", "")] and out[0].status["other_calls"] == []
    assert alice.call.uniqueid == "u2"
    assert states(b.leg_ended("alice", uniqueid="u2")) == [("on_call", "available", "")]


def test_an_agent_logged_out_is_on_call_with_a_transferred_call_then_logged_out_again():
    b, _ = board(wrapup={"support": 30})
    assert states(b.leg_started("alice", uniqueid="u1", linkedid="u1", queue="support")) == [
        ("logged_out", "on_call", "")
    ]
    out = b.leg_ended("alice", uniqueid="u1")
    assert states(out) == [("on_call", "logged_out", "")] and not any(isinstance(e, AgentWrapUpStarted) for e in out)
    assert b.leg_started("nobody", uniqueid="u1", linkedid="u1", queue="support") == []


def test_the_call_shown_ends_first_the_other_one_is_shown_then_wrapped_up():
    b, _ = board(wrapup={"support": 30})
    b.apply(member("added"))
    b.apply(ev.AgentCalled(queue="support", uniqueid="u1", linkedid="u1", caller_number="06", interface=IFACE))
    b.apply(ev.AgentConnected(queue="support", uniqueid="u1", linkedid="u1", interface=IFACE))
    b.leg_started("alice", uniqueid="u2", linkedid="u2", queue="sales", caller_number="07")
    out = b.leg_ended("alice", uniqueid="u2")  # the transferred call, shown, ends first
    assert states(out) == [("on_call", "on_call", "")] and not any(isinstance(e, AgentWrapUpStarted) for e in out)
    alice = b.agents["alice"]
    assert alice.call.uniqueid == "u1" and alice.call.caller_number == "06" and alice.other_calls == ()
    assert alice.last_call == "u2"
    out = b.apply(ev.AgentCompleted(queue="support", uniqueid="u1", interface=IFACE))
    assert states(out) == [("on_call", "wrap_up", "wrapup")] and alice.last_call == "u1"


def test_an_agent_shows_the_other_call_they_pick():
    b, _ = board()
    b.leg_started("alice", uniqueid="u1", linkedid="u1", queue="support")
    b.leg_started("alice", uniqueid="u2", linkedid="u2", queue="support")
    assert states(b.focus("alice", "u1")) == [("on_call", "on_call", "")]
    alice = b.agents["alice"]
    assert alice.call.uniqueid == "u1" and [c.uniqueid for c in alice.other_calls] == ["u2"]
    assert b.focus("alice", "u1") == [] and b.focus("alice", "nope") == [] and b.focus("nobody", "u1") == []


def test_a_queue_ring_unanswered_while_on_a_call_leaves_the_agent_on_that_call():
    b, _ = board()
    b.apply(member("added"))
    b.leg_started("alice", uniqueid="u1", linkedid="u1", queue="support")
    b.apply(ev.AgentCalled(queue="support", uniqueid="u2", linkedid="u2", caller_number="06", interface=IFACE))
    assert b.agents["alice"].state is AgentState.RINGING
    out = b.apply(ev.AgentRingNoAnswer(queue="support", uniqueid="u2", interface=IFACE))
    assert states(out) == [("ringing", "on_call", "")] and b.agents["alice"].call.uniqueid == "u1"


def test_a_logout_during_a_call_keeps_the_agent_on_call_outside_queues():
    b, _ = board()
    b.apply(member("added"))
    b.leg_started("alice", uniqueid="u1", linkedid="u1", queue="support")
    assert not b.agents["alice"].to_dict()["outside_queues"]
    assert states(b.apply(member("removed"))) == []
    alice = b.agents["alice"]
    assert alice.state is AgentState.ON_CALL and alice.to_dict()["outside_queues"]
    assert states(b.leg_ended("alice", uniqueid="u1")) == [("on_call", "logged_out", "")]
    assert not alice.to_dict()["outside_queues"]


def test_snapshot_forgets_another_call_asterisk_no_longer_has():
    b, _ = board()
    b.apply(member("added"))
    b.leg_started("alice", uniqueid="u1", linkedid="u1", queue="support")
    b.leg_started("alice", uniqueid="u2", linkedid="u2", queue="support")
    snapshot = ev.PbxSnapshot(
        queue_members=(ev.QueueMemberChanged(change="snapshot", queue="support", interface=IFACE),),
        channels=(ev.ChannelSnapshot(uniqueid="u2", linkedid="u2", channel="PJSIP/x-1", state="Up"),),
    )
    b.apply(snapshot)
    alice = b.agents["alice"]
    assert alice.state is AgentState.ON_CALL and alice.call.uniqueid == "u2" and alice.other_calls == ()
