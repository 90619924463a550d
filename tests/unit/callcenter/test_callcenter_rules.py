"""The call-center settings' pure rules: what is a valid skill, pause code, wrap-up code and
skill level; where a skill is used; how new levels become penalties; when a pause overruns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ccserver.capabilities.acd.model import QueueDefinition, render_queues
from ccserver.capabilities.callcenter.model import (
    PauseCode,
    PausedAgent,
    Skill,
    WrapupCode,
    pause_overruns,
    penalty_plan,
    renamed_key,
    require_code,
    skill_usage,
    validate_levels,
    validate_pause_code,
    validate_skill,
    validate_wrapup_code,
)
from ccserver.core.errors import InvalidInput

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("name", ["fr", "billing", "tech-2", "a_b", "x" * 32])
def test_good_skill_names(name):
    assert validate_skill(Skill(name, "Français")) == Skill(name, "Français")


@pytest.mark.parametrize(
    ("skill", "field"),
    [
        (Skill("", ""), "name"),
        (Skill("Fr", ""), "name"),
        (Skill("2fr", ""), "name"),
        (Skill("fr en", ""), "name"),
        (Skill("x" * 33, ""), "name"),
        (Skill("fr;drop", ""), "name"),
        (Skill("fr", "a\nb"), "label"),
        (Skill("fr", "<script>"), "label"),
        (Skill("fr", "x" * 101), "label"),
    ],
)
def test_bad_skills_name_the_field(skill, field):
    with pytest.raises(InvalidInput) as err:
        validate_skill(skill)
    assert err.value.details["field"] == field


def test_a_skill_with_two_faults_reports_both():
    with pytest.raises(InvalidInput) as err:
        validate_skill(Skill("Bad Name", "a\rb"))
    assert [e["field"] for e in err.value.details["errors"]] == ["name", "label"]


@pytest.mark.parametrize(
    "code", [PauseCode("break"), PauseCode("lunch", "Déjeuner", False, 60), PauseCode("x", "", True, 1440)]
)
def test_good_pause_codes(code):
    assert validate_pause_code(code) is code


@pytest.mark.parametrize(
    ("code", "field"),
    [
        (PauseCode("Break"), "code"),
        (PauseCode("br eak"), "code"),
        (PauseCode("break", "\x00"), "label"),
        (PauseCode("break", paid="yes"), "paid"),
        (PauseCode("break", max_minutes=-1), "max_minutes"),
        (PauseCode("break", max_minutes=1441), "max_minutes"),
        (PauseCode("break", max_minutes=1.5), "max_minutes"),
        (PauseCode("break", max_minutes=True), "max_minutes"),
        (PauseCode("break", max_minutes="15"), "max_minutes"),
    ],
)
def test_bad_pause_codes_name_the_field(code, field):
    with pytest.raises(InvalidInput) as err:
        validate_pause_code(code)
    assert err.value.details["field"] == field


def test_wrapup_codes():
    assert validate_wrapup_code(WrapupCode("resolved", "Résolu")).code == "resolved"
    for bad, field in ((WrapupCode("Résolu"), "code"), (WrapupCode("ok", "\n"), "label"), (WrapupCode(""), "code")):
        with pytest.raises(InvalidInput) as err:
            validate_wrapup_code(bad)
        assert err.value.details["field"] == field


def test_levels_are_known_skills_from_1_to_10():
    assert validate_levels({"fr": 1, "tech": 10}, ["fr", "tech"]) == {"fr": 1, "tech": 10}
    assert validate_levels({}, []) == {}
    for levels in ({"de": 5}, {"fr": 0}, {"fr": 11}, {"fr": "5"}, {"fr": True}, {"fr": 2.5}):
        with pytest.raises(InvalidInput) as err:
            validate_levels(levels, ["fr"])
        assert err.value.details["field"] == "skills"


def test_skill_usage_names_agents_and_queues():
    agents = [("alice", {"fr": 9, "tech": 8}), ("bruno", {"en": 3})]
    queues = [QueueDefinition("support", required_skills={"fr": 1, "tech": 1}), QueueDefinition("en")]
    assert skill_usage("fr", agents, queues) == ["agent alice", "queue support"]
    assert skill_usage("en", agents, queues) == ["agent bruno"]
    assert skill_usage("billing", agents, queues) == []


def test_renaming_a_key_keeps_the_others_and_their_order():
    assert renamed_key({"fr": 9, "tech": 8}, "fr", "french") == {"french": 9, "tech": 8}
    assert list(renamed_key({"a": 1, "b": 2, "c": 3}, "b", "z")) == ["a", "z", "c"]
    assert renamed_key({"tech": 8}, "fr", "french") == {"tech": 8}


def test_penalty_plan_changes_penalties_and_leaves_queues_no_longer_allowed():
    queues = [
        QueueDefinition("support", required_skills={"fr": 1, "tech": 1}),
        QueueDefinition("billing", required_skills={"fr": 5, "billing": 1}),
        QueueDefinition("any"),
    ]
    plan = penalty_plan({"fr": 9, "tech": 4}, ["support", "billing", "any"], queues)
    assert plan.penalties == {"any": 0, "support": 1 + 6}  # sum of (10 - level) over the required skills
    assert plan.leave == ("billing",)  # no billing skill any more
    assert penalty_plan({"fr": 10, "tech": 10}, [], queues).penalties == {}  # logged out: nothing live
    assert penalty_plan({}, ["gone"], queues).leave == ("gone",)  # a queue that no longer exists


def test_an_unknown_wrapup_code_is_refused_with_the_allowed_ones():
    assert require_code("sale", ["sale", "callback"], "campaign 3") == "sale"
    with pytest.raises(InvalidInput) as err:
        require_code("sold", ["sale", "callback"], "campaign 3")
    assert err.value.details == {"field": "disposition", "allowed": ["sale", "callback"]}
    assert "campaign 3" in err.value.message and "sale, callback" in err.value.message
    with pytest.raises(InvalidInput) as err:
        require_code("sale", [], "queue support")
    assert "/admin/callcenter" in err.value.message


def paused(name, reason, minutes_ago, seconds=0):
    return PausedAgent(name, reason, NOW - timedelta(minutes=minutes_ago, seconds=seconds))


def test_a_pause_overruns_only_after_its_maximum():
    maximums = {"break": 15, "lunch": 60, "training": 0}
    agents = [
        paused("alice", "break", 15),  # exactly the maximum: not yet
        paused("bruno", "break", 15, 1),  # one second more
        paused("chloe", "lunch", 59),
        paused("david", "training", 600),  # no maximum
        paused("emma", "gone", 600),  # a code that no longer exists: no maximum known
        paused("fanny", "lunch", 125),
    ]
    found = pause_overruns(agents, maximums, NOW)
    assert [(o.username, o.max_minutes, o.minutes) for o in found] == [("bruno", 15, 15), ("fanny", 60, 125)]
    assert found[0].to_dict()["since"] == (NOW - timedelta(minutes=15, seconds=1)).isoformat()
    assert pause_overruns([], maximums, NOW) == []


def test_max_callers_is_rendered_as_maxlen_and_validated():
    text = render_queues([QueueDefinition("support", max_callers=20)])
    assert "maxlen = 20" in text
    assert "maxlen = 0" in render_queues([QueueDefinition("support")])  # 0: no limit
    from ccserver.capabilities.acd.model import validate_queue

    with pytest.raises(InvalidInput) as err:
        validate_queue(QueueDefinition("support", max_callers=-1), [])
    assert err.value.details["field"] == "max_callers"
