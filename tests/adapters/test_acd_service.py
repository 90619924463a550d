"""AcdService with a recording fake PBX, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccserver.adapters.db.acd import AcdRepository
from ccserver.adapters.db.repositories import AuditLog
from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.capabilities.acd.service import AcdService
from ccserver.capabilities.agents.model import AgentBoard, AgentMembershipLost, AgentStateChanged
from ccserver.capabilities.calls.model import CallTracker
from ccserver.core import events as ev
from ccserver.core.clock import ManualClock
from ccserver.core.errors import Conflict, Forbidden, InvalidInput, PbxUnavailable
from tests.fakes import FakePbx


class FakeWriter:
    def __init__(self):
        self.files = {}

    def write_generated(self, name, text):
        self.files[name] = text


def added(pbx: FakePbx) -> list[tuple]:
    return [(a["queue"], a["interface"], a["penalty"], a["paused"], a["reason"]) for a in pbx.called("queue_add")]


@pytest.fixture
def acd(database):
    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    repo = AcdRepository(database, clock)
    for skill in ("fr", "tech", "billing"):
        repo.add_skill(skill)
    repo.add_pause_reason("break", "Pause")
    repo.save_queue(
        QueueDefinition(
            name="support", required_skills={"fr": 1, "tech": 1}, wrapup_seconds=5, dispositions=("resolved",)
        ),
        create=True,
    )
    repo.save_queue(QueueDefinition(name="billing", required_skills={"billing": 1}), create=True)
    board = AgentBoard(clock)
    tracker = CallTracker(clock)
    service = AcdService(repo, board, tracker, FakePbx(), FakeWriter(), AuditLog(database, clock), clock)
    return service


async def test_agent_creation_provisions_sip_account_and_config(acd):
    account = await acd.create_agent("alice", "password-123", "Alice", "fr:9, tech:8", actor="admin")
    assert account.sip_username == "alice" and len(account.sip_password) >= 16
    files = acd.writer.files
    assert "[alice](ccserver-endpoint)" in files["pjsip_agents.conf"]
    assert "[support]" in files["queues_generated.conf"] and "[ccq-support]" in files["extensions_acd.conf"]
    assert {"module": "res_pjsip.so"} in acd.pbx.called("reload")


async def test_agent_with_unknown_skill_is_refused_and_nothing_is_written(acd):
    with pytest.raises(InvalidInput) as err:
        await acd.create_agent("bob", "password-123", "Bob", "klingon:3", actor="admin")
    assert "klingon" in err.value.message
    assert acd.repo.users.get_by_username("bob") is None


async def test_login_joins_only_queues_the_skills_allow_with_penalties(acd):
    await acd.create_agent("alice", "password-123", "Alice", "fr:9, tech:8", actor="admin")
    await acd.load()
    joined = await acd.login("alice")
    assert joined == ["support"]
    assert ("support", "PJSIP/alice", 3, False, "") in added(acd.pbx)
    with pytest.raises(InvalidInput) as err:
        await acd.login("alice", ["billing"])
    assert err.value.details["field"] == "queues"
    stored = acd.repo.stored_logins()
    assert [(s.username, s.queues, s.paused) for s in stored] == [("alice", ("support",), False)]


async def test_pause_needs_a_known_reason_and_a_login(acd):
    await acd.create_agent("alice", "password-123", "Alice", "fr:9, tech:8", actor="admin")
    await acd.load()
    with pytest.raises(Conflict):
        await acd.pause("alice", "break")
    acd.board.apply(ev.QueueMemberChanged(change="added", queue="support", interface="PJSIP/alice"))
    with pytest.raises(InvalidInput) as err:
        await acd.pause("alice", "nap")
    assert err.value.details["allowed"] == ["break"]
    await acd.pause("alice", "break")
    assert {"queue": None, "interface": "PJSIP/alice", "paused": True, "reason": "break"} in acd.pbx.called(
        "queue_pause"
    )
    assert acd.repo.stored_logins()[0].pause_reason == "break"


async def test_commands_fail_fast_when_asterisk_is_down(acd):
    await acd.create_agent("alice", "password-123", "Alice", "fr:9, tech:8", actor="admin")
    await acd.load()
    acd.pbx.is_up = False
    with pytest.raises(PbxUnavailable):
        await acd.login("alice")


async def test_membership_lost_is_restored_as_it_was(acd):
    await acd.create_agent("alice", "password-123", "Alice", "fr:9, tech:8", actor="admin")
    await acd.on_event(
        AgentMembershipLost(username="alice", interface="PJSIP/alice", queues=("support",), paused=True, reason="break")
    )
    assert ("support", "PJSIP/alice", 3, True, "break") in added(acd.pbx)


async def test_timeline_and_call_rows_are_written(acd):
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    acd.write_states(
        [AgentStateChanged(username="alice", state="available", previous="logged_out", at=at, queue="support")]
    )
    assert [(e.state, e.previous) for e in acd.repo.timeline("alice")] == [("available", "logged_out")]
    acd.tracker.apply(ev.QueueCallerJoined(queue="support", uniqueid="u1", caller_number="0612345678"))
    out = acd.tracker.apply(ev.ChannelHungup(uniqueid="u1", cause=16, cause_text="Normal Clearing"))
    acd.write_calls(out)
    acd.write_calls(out)  # written twice: still one row
    calls = acd.repo.calls()
    assert len(calls) == 1 and calls[0].outcome == "abandoned" and calls[0].hangup_cause == 16


async def test_wrapup_only_on_own_calls_with_known_disposition(acd):
    await acd.create_agent("alice", "password-123", "Alice", "fr:9, tech:8", actor="admin")
    acd.tracker.apply(ev.QueueCallerJoined(queue="support", uniqueid="u1", caller_number="0612345678"))
    acd.tracker.agent_of = None
    acd.tracker.apply(ev.AgentConnected(queue="support", uniqueid="u1", member_name="alice"))
    with pytest.raises(Forbidden):
        acd.save_wrapup("bob", {"uniqueid": "u1"})
    with pytest.raises(InvalidInput) as err:
        acd.save_wrapup("alice", {"uniqueid": "u1", "disposition": "made-up"})
    assert err.value.details["field"] == "disposition"
    saved = acd.save_wrapup("alice", {"uniqueid": "u1", "disposition": "resolved", "notes": "ok"})
    assert saved["disposition"] == "resolved"
    assert acd.repo.call("u1").notes == "ok"
