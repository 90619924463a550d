"""Asking a supervisor: the request's state machine, the reason's checks, and the spy target of
an agent whichever phone they logged in with (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ccserver.capabilities.acd.model import WEBRTC_SUFFIX
from ccserver.capabilities.assistance.model import (
    REASON_MAX,
    AssistanceDesk,
    SupervisorAsked,
    SupervisorRequestEnded,
    check_mode,
    check_reason,
    check_request_id,
)
from ccserver.capabilities.supervision import model as supervision_model
from ccserver.capabilities.supervision.model import spy_endpoint
from ccserver.core.errors import Conflict, InvalidInput, NotFound

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def ask(desk: AssistanceDesk, call: str = "c1", agent: str = "alice", now: datetime = T0):
    return desk.ask(agent=agent, queue="support", call=call, customer_number="0611223344", reason="litige", now=now)


def test_asking_opens_a_request_and_says_so_with_every_detail():
    desk = AssistanceDesk()
    request, events = ask(desk)
    assert request.open and request.id == "1" and desk.for_call("c1") is request
    assert events == [
        SupervisorAsked(
            id="1", agent="alice", queue="support", call="c1", customer_number="0611223344", reason="litige", at=T0
        )
    ]
    assert request.to_dict(T0 + timedelta(seconds=42))["waiting_seconds"] == 42


def test_asking_twice_on_the_same_call_is_refused_but_another_call_may_ask():
    desk = AssistanceDesk()
    ask(desk)
    with pytest.raises(Conflict, match="already asked"):
        ask(desk)
    other, _ = ask(desk, call="c2", agent="bob")
    assert other.id == "2" and len(desk.open) == 2


def test_taking_ends_the_request_taken_by_the_supervisor_once():
    desk = AssistanceDesk()
    request, _ = ask(desk)
    later = T0 + timedelta(seconds=30)
    taken, events = desk.take(request.id, "sophie", later)
    assert not taken.open and taken.end_reason == "taken" and taken.taken_by == "sophie"
    assert taken.waiting_seconds(later + timedelta(hours=1)) == 30  # frozen at its end
    assert events == [
        SupervisorRequestEnded(
            id="1", agent="alice", queue="support", call="c1", reason="taken", taken_by="sophie", at=later
        )
    ]
    assert desk.open == {}
    with pytest.raises(NotFound):  # a second supervisor is too late
        desk.take(request.id, "sam", later)
    with pytest.raises(NotFound):
        desk.cancel("c1", later)
    assert desk.call_ended("c1", later) == (None, [])
    again, _ = ask(desk, now=later)  # the call may ask again once its request ended
    assert again.open and again.id == "2"


def test_the_agent_cancelling_ends_the_request_cancelled():
    desk = AssistanceDesk()
    request, _ = ask(desk)
    ended, events = desk.cancel("c1", T0)
    assert ended.end_reason == "cancelled" and ended.taken_by == "" and ended.id == request.id
    assert [e.reason for e in events] == ["cancelled"]
    with pytest.raises(NotFound):
        desk.take(request.id, "sophie", T0)


def test_the_end_of_the_call_ends_its_request_and_no_other():
    desk = AssistanceDesk()
    ask(desk)
    ask(desk, call="c2", agent="bob")
    ended, events = desk.call_ended("c1", T0)
    assert ended.end_reason == "call_ended" and [e.topic for e in events] == ["supervisor_request_ended"]
    assert [r.call for r in desk.open.values()] == ["c2"]
    assert desk.call_ended("never-asked", T0) == (None, [])


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, ""), ("", ""), ("  client agressif  ", "client agressif"), ("é" * REASON_MAX, "é" * REASON_MAX)],
)
def test_a_reason_is_optional_short_one_line_text(given, expected):
    assert check_reason(given) == expected


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("x" * (REASON_MAX + 1), "at most 200"),
        ("ligne 1\r\nAction: Originate", "control characters"),
        ("tab\there", "control characters"),
        ("nul\x00", "control characters"),
        ("bidi\u202eoverride", "control characters"),
        ("sep\u2028line", "control characters"),
        (42, "text"),
        (["a"], "text"),
    ],
)
def test_a_bad_reason_is_refused_naming_the_field(given, why):
    with pytest.raises(InvalidInput, match=why) as caught:
        check_reason(given)
    assert caught.value.details["field"] == "reason"


def test_take_modes_and_request_ids_are_checked():
    assert check_mode(None) == "listen" and check_mode("whisper") == "whisper"
    with pytest.raises(InvalidInput):
        check_mode("barge")
    assert check_request_id("a1b2c3") == "a1b2c3"
    for bad in ("", "a/b", "x" * 65, "1\r\n", None):
        with pytest.raises(NotFound):
            check_request_id(bad)


@pytest.mark.parametrize(
    ("interface", "expected"),
    [
        ("PJSIP/alice", "alice"),  # the SIP softphone: channels PJSIP/alice-0000002a
        ("PJSIP/alice~webrtc", "alice~webrtc"),  # the desk's browser phone: PJSIP/alice~webrtc-...
        ("", "alice"),  # not logged in: the account's endpoint
        ("PJSIP/bob", "alice"),  # another account's interface never becomes the target
        ("PJSIP/alice~other", "alice"),
        ("SIP/alice", "alice"),
    ],
)
def test_the_spy_target_follows_the_phone_the_agent_logged_in_with(interface, expected):
    assert spy_endpoint(interface, "alice") == expected


def test_the_browser_phone_suffix_is_the_same_in_acd_and_supervision():
    assert supervision_model.WEBRTC_SUFFIX == WEBRTC_SUFFIX
