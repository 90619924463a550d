"""Call-center settings through their service and repository, on SQLite and PostgreSQL, with a
recording fake PBX: skills (rename follows agents and queues, removal refused while used),
levels changing penalties live, pause codes and their overrun alert, wrap-up codes, queue
settings Asterisk does not take (old ones back, nothing stored), every change audited."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccserver.adapters.db.acd import AcdRepository
from ccserver.adapters.db.callcenter import CallCenterRepository
from ccserver.adapters.db.repositories import AuditLog
from ccserver.capabilities.acd.errors import QueueSettingRefused
from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.capabilities.acd.service import AcdService
from ccserver.capabilities.agents.model import AgentBoard, AgentState
from ccserver.capabilities.callcenter.errors import SkillInUse
from ccserver.capabilities.callcenter.model import PauseCode, WrapupCode
from ccserver.capabilities.callcenter.service import CallCenterService
from ccserver.capabilities.calls.model import CallTracker
from ccserver.core import events as ev
from ccserver.core.alerts import PAUSE_OVERRUN, Alerts
from ccserver.core.clock import ManualClock
from ccserver.core.errors import Conflict, InvalidInput, NotFound
from tests.fakes import FakePbx

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class FakeWriter:
    def __init__(self):
        self.files = {}
        self.history = []

    def write_generated(self, name, text):
        self.files[name] = text
        self.history.append((name, text))


class Env:
    def __init__(self, database):
        self.clock = ManualClock(START)
        self.pbx = FakePbx()
        self.writer = FakeWriter()
        self.audit = AuditLog(database, self.clock)
        self.alerts = Alerts()
        self.acd_repo = AcdRepository(database, self.clock)
        self.acd = AcdService(
            self.acd_repo,
            AgentBoard(self.clock),
            CallTracker(self.clock),
            self.pbx,
            self.writer,
            self.audit,
            self.clock,
        )
        self.repo = CallCenterRepository(database)
        self.service = CallCenterService(self.repo, self.acd, self.audit, self.clock, self.alerts)

    def audited(self, action):
        return [(e.target, e.details_dict) for e in reversed(self.audit.list(action=action))]

    def member(self, username, queue, *, paused=False, reason=""):
        """Asterisk says the agent is a member of `queue` (as its QueueMemberAdded would)."""
        self.acd.board.apply(
            ev.QueueMemberChanged(
                change="added",
                queue=queue,
                interface=f"PJSIP/{username}",
                status=1,
                paused=paused,
                paused_reason=reason,
            )
        )


@pytest.fixture
async def env(database):
    e = Env(database)
    for skill in ("fr", "tech", "billing"):
        await e.service.create_skill(skill, skill.title(), "admin")
    await e.acd.create_queue(QueueDefinition("support", required_skills={"fr": 1, "tech": 1}), "admin")
    await e.acd.create_queue(QueueDefinition("billing", required_skills={"fr": 1, "billing": 1}), "admin")
    await e.acd.create_agent("alice", "password-1234", "Alice", {"fr": 9, "tech": 8, "billing": 3}, "admin")
    await e.acd.load()
    return e


async def test_skills_are_created_renamed_and_their_users_follow(env):
    s = env.service
    assert [x.name for x in await s.skills()] == ["billing", "fr", "tech"]
    with pytest.raises(Conflict):
        await s.create_skill("fr", "", "admin")
    with pytest.raises(InvalidInput) as err:
        await s.create_skill("Français", "", "admin")
    assert err.value.details["field"] == "name"
    await s.rename_skill("tech", "technical", "Support technique", "admin")
    assert (await env.acd.agent("alice")).skills == {"fr": 9, "technical": 8, "billing": 3}
    assert dict((await env.acd.queue("support")).required_skills) == {"fr": 1, "technical": 1}
    assert env.audited("skill.update") == [
        (
            "tech",
            {"before": {"name": "tech", "label": "Tech"}, "after": {"name": "technical", "label": "Support technique"}},
        )
    ]
    with pytest.raises(InvalidInput) as err:
        await s.rename_skill("technical", "Bad Name", None, "admin")
    assert err.value.details["field"] == "new_name"
    with pytest.raises(Conflict):
        await s.rename_skill("technical", "fr", None, "admin")


async def test_a_skill_in_use_is_not_removed_and_the_error_says_where(env):
    s = env.service
    with pytest.raises(SkillInUse) as err:
        await s.remove_skill("tech", "admin")
    assert err.value.details["used_by"] == ["agent alice", "queue support"]
    assert "agent alice, queue support" in err.value.message
    await s.create_skill("en", "English", "admin")
    await s.remove_skill("en", "admin")
    assert "en" not in [x.name for x in await s.skills()]
    assert env.audited("skill.remove") == [("en", {"before": {"name": "en", "label": "English"}})]
    with pytest.raises(NotFound):
        await s.remove_skill("en", "admin")


async def test_new_levels_change_the_penalty_live_and_leave_queues_no_longer_allowed(env):
    env.member("alice", "support")
    env.member("alice", "billing")
    assert env.acd.status_of("alice").queues == {"support", "billing"}
    result = await env.service.set_levels("alice", {"fr": 10, "tech": 5}, "admin")
    assert result["penalties"] == {"support": 5} and result["left"] == ["billing"]
    assert env.pbx.called("queue_penalty") == [{"queue": "support", "interface": "PJSIP/alice", "penalty": 5}]
    assert env.pbx.called("queue_remove") == [{"queue": "billing", "interface": "PJSIP/alice"}]
    assert (await env.acd.agent("alice")).skills == {"fr": 10, "tech": 5}
    [(target, details)] = env.audited("agent.skills")
    assert target == "alice" and details["before"] == {"billing": 3, "fr": 9, "tech": 8}
    assert details["after"] == {"fr": 10, "tech": 5} and details["live"]["left"] == ["billing"]
    with pytest.raises(InvalidInput) as err:
        await env.service.set_levels("alice", {"fr": 12}, "admin")
    assert err.value.details["field"] == "skills"
    assert (await env.acd.agent("alice")).skills == {"fr": 10, "tech": 5}  # unchanged


async def test_levels_of_a_logged_out_agent_are_stored_without_touching_asterisk(env):
    result = await env.service.set_levels("alice", {"fr": 2}, "admin")
    assert result["penalties"] == {} and env.pbx.called("queue_penalty") == []
    with pytest.raises(NotFound):
        await env.service.set_levels("nobody", {"fr": 2}, "admin")


async def test_pause_codes_created_by_an_admin_let_agents_pause(env):
    s = env.service
    await s.create_pause_code(PauseCode("meeting", "Réunion", True, 30), "admin")
    assert [c.to_dict() for c in await s.pause_codes()] == [
        {"code": "meeting", "label": "Réunion", "paid": True, "max_minutes": 30, "active": True}
    ]
    assert [r.code for r in await env.acd.pause_reasons()] == ["meeting"]  # what the desk offers
    env.member("alice", "support")
    await env.acd.pause("alice", "meeting")
    assert env.pbx.called("queue_pause")[-1]["reason"] == "meeting"
    with pytest.raises(InvalidInput) as err:
        await s.create_pause_code(PauseCode("lunch", max_minutes=2000), "admin")
    assert err.value.details["field"] == "max_minutes"
    updated = await s.update_pause_code("meeting", {"paid": False, "max_minutes": 45}, "admin")
    assert (updated.paid, updated.max_minutes) == (False, 45)
    assert env.audited("pause_code.update")[0][1]["before"]["max_minutes"] == 30
    with pytest.raises(InvalidInput) as err:
        await s.update_pause_code("meeting", {"colour": "red"}, "admin")
    assert err.value.details["field"] == "colour"


async def test_a_pause_code_in_use_is_not_retired_and_a_retired_one_is_no_longer_offered(env):
    s = env.service
    await s.create_pause_code(PauseCode("break", "Pause"), "admin")
    env.member("alice", "support", paused=True, reason="break")
    assert env.acd.status_of("alice").state is AgentState.PAUSED
    with pytest.raises(Conflict) as err:
        await s.retire_pause_code("break", "admin")
    assert err.value.details["used_by"] == ["alice"]
    env.acd.board.apply(
        ev.QueueMemberChanged(change="paused", queue="support", interface="PJSIP/alice", status=1, paused=False)
    )
    await s.retire_pause_code("break", "admin")
    assert await s.pause_codes() == [] and [c.code for c in await s.pause_codes(include_retired=True)] == ["break"]
    with pytest.raises(InvalidInput):
        await env.acd.pause("alice", "break")
    await s.create_pause_code(PauseCode("break", "Pause courte", True, 10), "admin")  # back again
    assert [c.label for c in await s.pause_codes()] == ["Pause courte"]


async def test_a_pause_longer_than_its_maximum_alerts_the_supervisor_once(env):
    s = env.service
    pushed = []
    s.overrun_listeners.append(pushed.append)
    await s.create_pause_code(PauseCode("break", "Pause", True, 15), "admin")
    env.member("alice", "support", paused=True, reason="break")
    env.clock.advance(minutes=15)
    assert await s.check_pause_overruns() == [] and env.alerts.counts[PAUSE_OVERRUN] == 0
    env.clock.advance(seconds=5)
    [overrun] = await s.check_pause_overruns()
    assert (overrun.username, overrun.reason, overrun.max_minutes) == ("alice", "break", 15)
    assert env.alerts.counts[PAUSE_OVERRUN] == 1 and env.alerts.last[PAUSE_OVERRUN]["username"] == "alice"
    assert pushed == [overrun]
    env.clock.advance(minutes=5)
    assert await s.check_pause_overruns() == []  # the same pause: alerted once
    assert env.alerts.counts[PAUSE_OVERRUN] == 1


async def test_wrapup_codes_of_a_queue_are_what_the_inbound_desk_offers(env):
    s = env.service
    await s.add_wrapup_code(WrapupCode("resolved"), "admin", queue="support")
    await s.add_wrapup_code(WrapupCode("escalated"), "admin", queue="support")
    assert [c.code for c in await s.wrapup_codes(queue="support")] == ["resolved", "escalated"]
    assert (await env.acd.queue("support")).dispositions == ("resolved", "escalated")
    with pytest.raises(Conflict):
        await s.add_wrapup_code(WrapupCode("resolved"), "admin", queue="support")
    with pytest.raises(InvalidInput) as err:
        await s.remove_wrapup_code("sold", "admin", queue="support")
    assert err.value.details["field"] == "disposition"
    await s.remove_wrapup_code("escalated", "admin", queue="support")
    assert env.audited("wrapup_code.remove") == [
        ("queue support", {"before": ["resolved", "escalated"], "after": ["resolved"]})
    ]
    with pytest.raises(NotFound):
        await s.wrapup_codes(queue="nowhere")
    with pytest.raises(InvalidInput):
        await s.wrapup_codes()


async def test_wrapup_codes_of_a_campaign(env, database):
    from ccserver.adapters.db.outbound import OutboundRepository
    from ccserver.capabilities.outbound.errors import NoSuchCampaign

    with pytest.raises(NoSuchCampaign):
        await env.service.add_wrapup_code(WrapupCode("sale"), "admin", campaign=999)
    campaign_id = OutboundRepository(database).create_campaign("Relance", {}, "admin", START).id
    await env.service.add_wrapup_code(WrapupCode("sale", "Vente"), "admin", campaign=campaign_id)
    await env.service.add_wrapup_code(WrapupCode("no-sale"), "admin", campaign=campaign_id)
    assert [c.to_dict() for c in await env.service.wrapup_codes(campaign=campaign_id)] == [
        {"code": "sale", "label": "Vente"},
        {"code": "no-sale", "label": ""},
    ]
    assert OutboundRepository(database).wrapup_codes(campaign_id) == ["sale", "no-sale"]
    await env.service.remove_wrapup_code("sale", "admin", campaign=campaign_id)
    assert [c.code for c in await env.service.wrapup_codes(campaign=campaign_id)] == ["no-sale"]


async def test_a_queue_setting_asterisk_does_not_run_puts_the_old_one_back_and_stores_nothing(env):
    env.pbx.running_queues = {"support": {"strategy": "ringall", "max": "0", "servicelevel": "20"}}
    before = await env.acd.queue("support")
    changed = QueueDefinition(
        "support", required_skills={"fr": 1, "tech": 1}, strategy="linear", max_callers=0, service_level_seconds=20
    )
    with pytest.raises(QueueSettingRefused) as err:
        await env.acd.update_queue(changed, "admin")
    assert err.value.details["field"] == "strategy" and "'ringall'" in err.value.message
    assert await env.acd.queue("support") == before  # the database was not changed
    tried, restored = [t for n, t in env.writer.history if n == "queues_generated.conf"][-2:]
    assert "strategy = linear" in tried and "strategy = ringall" not in tried
    assert restored == env.writer.files["queues_generated.conf"] and "strategy = linear" not in restored
    assert env.audited("queue.update") == []
    # what Asterisk runs as written is stored and audited with before/after
    env.pbx.running_queues = {"support": {"strategy": "leastrecent", "max": "12", "servicelevel": "30"}}
    ok = QueueDefinition(
        "support",
        required_skills={"fr": 1, "tech": 1},
        strategy="leastrecent",
        max_callers=12,
        service_level_seconds=30,
    )
    await env.acd.update_queue(ok, "admin")
    assert (await env.acd.queue("support")).max_callers == 12
    [(target, details)] = env.audited("queue.update")
    assert details["before"] == {"max_callers": 0, "service_level_seconds": 20, "strategy": "rrmemory"}
    assert details["after"] == {"max_callers": 12, "service_level_seconds": 30, "strategy": "leastrecent"}


async def test_a_queue_with_agents_logged_in_is_not_removed(env):
    env.member("alice", "support")
    with pytest.raises(Conflict) as err:
        await env.acd.remove_queue("support", "admin")
    assert err.value.details["used_by"] == ["agent alice (logged in)"]
    await env.acd.remove_queue("billing", "admin")
    assert [q.name for q in await env.acd.queues()] == ["support"]
    assert "[billing]" not in env.writer.files["queues_generated.conf"]
    assert env.audited("queue.remove")[0][1]["before"]["name"] == "billing"
