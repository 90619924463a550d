"""The dialer's pure rules: attempt outcomes from Asterisk's events, retries, refusals, caller
IDs, dial strings, window boundaries, campaign blockers, generated Asterisk configuration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ccserver.capabilities.outbound.compliance import Basis, CallRequest, OppositionFacts, decide
from ccserver.capabilities.outbound.dialer import (
    AttemptTracker,
    LiveAttempt,
    Outcome,
    RetryPolicy,
    after_attempt,
    after_refusal,
    campaign_blockers,
    campaign_of_queue,
    check_caller_id_pool,
    choose_caller_id,
    dial_channel,
    dialplan_value,
    next_window_change,
    open_areas,
    queue_name,
    window_change,
)
from ccserver.capabilities.outbound.dialplan import render_campaign_queues, render_dialer_dialplan
from ccserver.capabilities.outbound.windows import AREA_INDEX, AREAS
from ccserver.core import events as ev
from ccserver.core.clock import ManualClock
from ccserver.core.errors import InvalidInput

T0 = datetime(2026, 9, 15, 9, 30, tzinfo=UTC)  # Tuesday 11:30 in Paris
METRO = AREAS[AREA_INDEX["FR-METRO"]]


class Mono:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


@pytest.fixture
def tracker():
    mono = Mono()
    t = AttemptTracker(ManualClock(T0), mono)
    t.mono = mono
    return t


def expect(tracker, attempt_id=1, mode="progressive", amd=False):
    tracker.expect(
        LiveAttempt(
            attempt_id=attempt_id,
            campaign_id=7,
            contact_id=10 + attempt_id,
            mode=mode,
            number="0612345678",
            action_id=f"act-{attempt_id}",
            uniqueid=f"uid-{attempt_id}",
            started_at=T0,
            amd=amd,
        )
    )
    return f"uid-{attempt_id}"


def feed(tracker, *events):
    out = []
    for e in events:
        out += tracker.apply(e)
    return out


def test_answered_call_connected_to_an_agent_completes(tracker):
    uid = expect(tracker)
    assert tracker.in_flight(7) == 1
    changes = feed(tracker, ev.OriginateResponded(action_id="act-1", success=True, reason=4, uniqueid=uid))
    assert [(c.outcome, c.final, c.human) for c in changes] == [("answered", False, True)]
    assert tracker.in_flight(7) == 1  # waiting for an agent
    feed(tracker, ev.AgentCalled(queue="camp-7", uniqueid=uid, member_name="bob"))
    assert tracker.in_flight(7) == 0  # an agent rings: no longer the dialer's to count
    changes = feed(
        tracker,
        ev.AgentConnected(queue="camp-7", uniqueid=uid, member_name="bob"),
        ev.AgentCompleted(queue="camp-7", uniqueid=uid, talk_time=42),
        ev.ChannelHungup(uniqueid=uid, cause=16),
    )
    assert [(c.outcome, c.final) for c in changes] == [("connected", False), ("completed", True)]
    assert changes[-1].agent == "bob" and changes[-1].talk_seconds == 42
    assert tracker.live == {}


@pytest.mark.parametrize("order", ["response-first", "hangup-first"])
def test_busy_is_told_by_the_hangup_cause_whatever_the_order(tracker, order):
    uid = expect(tracker)
    response = ev.OriginateResponded(action_id="act-1", success=False, reason=0, uniqueid=uid)
    hangup = ev.ChannelHungup(uniqueid=uid, cause=17)
    first, second = (response, hangup) if order == "response-first" else (hangup, response)
    assert feed(tracker, first) == []
    (change,) = feed(tracker, second)
    assert change.outcome == "busy" and change.final and change.hangup_cause == 17


def test_no_answer_and_congestion_come_from_the_originate_reason(tracker):
    expect(tracker, 1)
    expect(tracker, 2)
    changes = feed(
        tracker, ev.OriginateResponded(action_id="act-1", reason=3), ev.OriginateResponded(action_id="act-2", reason=8)
    )
    assert [c.outcome for c in changes] == ["no_answer", "congestion"]


def test_a_failed_originate_without_channel_settles_as_failed(tracker):
    expect(tracker)
    assert feed(tracker, ev.OriginateResponded(action_id="act-1", reason=0)) == []
    assert tracker.settle() == []
    tracker.mono.t += 2.5
    (change,) = tracker.settle()
    assert change.outcome == "failed" and change.final


def test_machine_and_abandon_are_reported_by_the_dialplan(tracker):
    a, b = expect(tracker, 1, amd=True), expect(tracker, 2)
    changes = feed(
        tracker,
        ev.OriginateResponded(action_id="act-1", success=True, reason=4),
        ev.DialerReported(attempt="1", stage="amd", result="MACHINE", uniqueid=a),
        ev.ChannelHungup(uniqueid=a, cause=16),
    )
    assert [(c.outcome, c.human) for c in changes] == [("answered", False), ("machine", False), ("machine", False)]
    changes = feed(
        tracker,
        ev.OriginateResponded(action_id="act-2", success=True, reason=4),
        ev.DialerReported(attempt="2", stage="abandoned", result="TIMEOUT", uniqueid=b),
        ev.ChannelHungup(uniqueid=b, cause=16),
    )
    assert [(c.outcome, c.final) for c in changes] == [("answered", False), ("abandoned", False), ("abandoned", True)]


def test_human_with_amd_counts_only_once_detected(tracker):
    a = expect(tracker, amd=True)
    (answered,) = feed(tracker, ev.OriginateResponded(action_id="act-1", success=True, reason=4))
    assert not answered.human
    (detected,) = feed(tracker, ev.DialerReported(attempt="1", stage="amd", result="HUMAN", uniqueid=a))
    assert detected.human and detected.amd_result == "HUMAN"
    (end,) = feed(tracker, ev.ChannelHungup(uniqueid=a, cause=16))
    assert end.outcome == "hangup"  # hung up before an agent took it


def test_preview_call_agent_first_then_customer(tracker):
    uid = expect(tracker, mode="preview")
    assert tracker.in_flight(7) == 0  # preview calls never count for the pacing
    assert feed(tracker, ev.OriginateResponded(action_id="act-1", success=True, reason=4)) == []
    (connected,) = feed(
        tracker, ev.DialerReported(attempt="1", stage="dialresult", result="ANSWER", uniqueid="other-leg")
    )
    assert connected.outcome == "connected"
    (done,) = feed(tracker, ev.ChannelHungup(uniqueid=uid))
    assert done.outcome == "completed"
    uid2 = expect(tracker, 2, mode="preview")
    feed(
        tracker,
        ev.OriginateResponded(action_id="act-2", success=True, reason=4),
        ev.DialerReported(attempt="2", stage="dialresult", result="BUSY", uniqueid=uid2),
    )
    (busy,) = feed(tracker, ev.ChannelHungup(uniqueid=uid2, cause=16))
    assert busy.outcome == "busy"
    expect(tracker, 3, mode="preview")
    (not_dialed,) = feed(tracker, ev.OriginateResponded(action_id="act-3", reason=3))
    assert not_dialed.outcome == "not_dialed"  # the agent did not pick up: customer never dialed


def test_resync_closes_attempts_whose_channel_vanished(tracker):
    uid = expect(tracker)
    feed(
        tracker,
        ev.OriginateResponded(action_id="act-1", success=True, reason=4),
        ev.AgentConnected(queue="camp-7", uniqueid=uid),
    )
    (end,) = feed(tracker, ev.PbxSnapshot(channels=()))
    assert end.outcome == "completed" and end.final


def test_events_of_other_calls_are_ignored(tracker):
    expect(tracker)
    assert (
        feed(
            tracker,
            ev.ChannelHungup(uniqueid="someone-else"),
            ev.AgentConnected(uniqueid="x"),
            ev.OriginateResponded(action_id="nope"),
        )
        == []
    )
    assert len(tracker.live) == 1


def test_retry_delays_by_outcome_and_the_attempt_cap():
    policy = RetryPolicy(
        busy=timedelta(minutes=15), no_answer=timedelta(hours=2), machine=timedelta(hours=4), max_attempts=3
    )
    assert after_attempt(policy, Outcome.BUSY, 1, T0).next_attempt_at == T0 + timedelta(minutes=15)
    assert after_attempt(policy, Outcome.NO_ANSWER, 2, T0).next_attempt_at == T0 + timedelta(hours=2)
    assert after_attempt(policy, Outcome.MACHINE, 1, T0).next_attempt_at == T0 + timedelta(hours=4)
    assert after_attempt(policy, Outcome.NO_ANSWER, 3, T0).status == "exhausted"
    assert after_attempt(policy, Outcome.COMPLETED, 1, T0).status == "done"
    step = after_attempt(policy, Outcome.NOT_DIALED, 3, T0)
    assert step.status == "pending" and step.next_attempt_at == T0  # not an attempt


def _decision(at, **kw):
    request = CallRequest(
        number=kw.pop("number", "0612345678"),
        postcode="75001",
        basis=kw.pop("basis", Basis.CONSENT),
        caller_id="0162000001",
    )
    return decide(request, (), OppositionFacts(**kw), at)


def test_refusals_block_or_defer_the_contact():
    blocked = after_refusal(_decision(T0, company_dnc=True), METRO, T0)
    assert (blocked.status, blocked.blocked_rule) == ("blocked", "dnc.company_list")
    no_consent = after_refusal(_decision(T0, basis=Basis.NONE), METRO, T0)
    assert no_consent.blocked_rule == "consent.required"
    lunch = datetime(2026, 9, 15, 11, 30, tzinfo=UTC)  # 13:30 in Paris
    deferred = after_refusal(_decision(lunch), METRO, lunch)
    assert deferred.status == "pending"
    assert deferred.next_attempt_at == datetime(2026, 9, 15, 12, 0, tzinfo=UTC)


def test_caller_id_pool_only_npv_and_overseas_prefer_their_range():
    pool = check_caller_id_pool(["01 62 00 00 01", "+33 948 00 00 02", "09 47 80 00 03"])
    assert pool == ["0162000001", "0948000002", "0947800003"]
    with pytest.raises(InvalidInput) as err:
        check_caller_id_pool(["0162000001", "0612345678"])
    assert err.value.details["field"] == "caller_ids[1]"
    with pytest.raises(InvalidInput):
        check_caller_id_pool(["0145000000"])  # geographic: not for an automated dialer
    assert choose_caller_id(pool, "RE", 5) == "0947800003"
    assert {choose_caller_id(pool, "FR-METRO", i) for i in range(4)} == {"0162000001", "0948000002"}
    assert choose_caller_id([], "FR-METRO", 0) is None


def test_dial_strings_and_dialplan_values():
    assert (
        dial_channel("sip:{number}@10.0.0.1:5060", "+33 6 12 34 56 78")
        == "PJSIP/customers/sip:0612345678@10.0.0.1:5060"
    )
    assert dial_channel("sip:{e164}@trunk", "0692123456") == "PJSIP/customers/sip:+262692123456@trunk"
    with pytest.raises(InvalidInput):
        dial_channel("", "0612345678")
    with pytest.raises(InvalidInput):
        dial_channel("sip:{user}@x", "0612345678")
    assert dialplan_value('Dupont, "Jean"; $(x)|y\n') == "Dupont Jean x y"


def test_window_boundaries():
    assert window_change(METRO, T0) == datetime(2026, 9, 15, 11, 0, tzinfo=UTC)  # 13:00
    lunch = datetime(2026, 9, 15, 11, 30, tzinfo=UTC)
    assert window_change(METRO, lunch) == datetime(2026, 9, 15, 12, 0, tzinfo=UTC)
    friday_night = datetime(2026, 9, 18, 19, 0, tzinfo=UTC)  # 21:00 Paris
    assert window_change(METRO, friday_night) == datetime(2026, 9, 21, 8, 0, tzinfo=UTC)
    assert open_areas({"FR-METRO", "RE", "XX"}, T0) == {"FR-METRO"}  # 13:30 in Réunion
    assert next_window_change({"FR-METRO", "RE"}, T0) == min(
        window_change(METRO, T0), window_change(AREAS[AREA_INDEX["RE"]], T0)
    )


def test_campaign_blockers():
    june = datetime(2026, 6, 16, 9, 30, tzinfo=UTC)
    fresh = june - timedelta(days=10)
    assert (
        campaign_blockers(
            june, caller_ids=["0162000001"], mode="progressive", dial_configured=True, bloctel_dates=[fresh]
        )
        == []
    )
    stale = campaign_blockers(
        june,
        caller_ids=["0162000001"],
        mode="progressive",
        dial_configured=True,
        bloctel_dates=[june - timedelta(days=31)],
    )
    assert [b.rule for b in stale] == ["bloctel.list_stale"]
    never = campaign_blockers(june, caller_ids=[], mode="predictive", dial_configured=False, bloctel_dates=[None])
    assert [b.rule for b in never] == ["dialer.not_configured", "caller_id.npv", "bloctel.list_stale"]
    # from 11 August 2026 the Bloctel list no longer matters: consent does
    assert (
        campaign_blockers(T0, caller_ids=["0162000001"], mode="progressive", dial_configured=True, bloctel_dates=[None])
        == []
    )


def test_queue_names_and_generated_configuration():
    assert queue_name(12) == "camp-12" and campaign_of_queue("camp-12") == 12
    assert campaign_of_queue("support") is None
    queues = render_campaign_queues([3, 1])
    assert queues.index("[camp-1]") < queues.index("[camp-3]")
    assert "timeoutpriority = conf" in queues and "joinempty = yes" in queues
    dialplan = render_dialer_dialplan()
    for context in ("[ccserver-dialer]", "[ccserver-dialer-preview]", "[ccserver-dialer-answered]"):
        assert context in dialplan
    # the agent's leg takes the campaign's language through Queue's gosub
    assert "Queue(${CCS_QUEUE},,,,${CCS_WAIT},,ccserver-dialer-agent)" in dialplan
    assert "[ccserver-dialer-agent]" in dialplan
    assert "stage: abandoned" in dialplan and "Playback(${CCS_ABANDON})" in dialplan


def test_both_kinds_of_originate_carry_the_campaigns_checked_language():
    from types import SimpleNamespace

    from ccserver.capabilities.outbound.dialing import Prepared, originate_request

    contact = SimpleNamespace(id=7, number="0612000001", name="Mme Test")
    item = Prepared(contact=contact, attempt_id=3, decision_id=1, caller_id="0162000001", mode="progressive")

    def campaign(language):
        return SimpleNamespace(
            id=1, name="C", language=language, ring_seconds=20, amd=False, abandon_message="x", machine_message=""
        )

    for interface in (None, "PJSIP/agent1"):  # progressive/predictive, then preview
        request = originate_request(campaign("fr"), item, "PJSIP/x@trunk", "u1", "a1", interface)
        assert request.variables["CCS_LANGUAGE"] == "fr"
        # a value that is not a language code (a tampered row) never reaches the dialplan
        request = originate_request(campaign("fr)\nSet(X=${EVIL}"), item, "PJSIP/x@trunk", "u1", "a1", interface)
        assert request.variables["CCS_LANGUAGE"] == ""
