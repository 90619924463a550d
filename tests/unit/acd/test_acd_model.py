import hashlib

import pytest

from ccserver.capabilities.acd.model import (
    AgentAccount,
    QueueDefinition,
    member_penalty,
    parse_skills,
    render_pjsip_agents,
    render_queues,
    validate_agent,
    validate_queue,
)
from ccserver.core.errors import InvalidInput

SKILLS = {"fr", "en", "billing", "tech"}


@pytest.mark.parametrize(
    "agent_skills, required, expected",
    [
        ({"fr": 5, "billing": 3}, {"fr": 1}, 5),
        ({"fr": 10}, {"fr": 1}, 0),
        ({"fr": 5, "billing": 3}, {"fr": 1, "billing": 1}, 12),
        ({"fr": 5}, {"fr": 1, "billing": 1}, None),
        ({"fr": 2}, {"fr": 3}, None),
        ({}, {}, 0),
    ],
)
def test_member_penalty_prefers_best_skilled(agent_skills, required, expected):
    assert member_penalty(agent_skills, required) == expected


def test_better_skilled_agent_gets_lower_penalty():
    required = {"fr": 1, "billing": 1}
    expert = member_penalty({"fr": 9, "billing": 8}, required)
    novice = member_penalty({"fr": 3, "billing": 2}, required)
    assert expert < novice


def test_parse_skills():
    assert parse_skills("fr:5, billing:3") == {"fr": 5, "billing": 3}
    assert parse_skills("") == {}
    with pytest.raises(InvalidInput) as err:
        parse_skills("fr=5")
    assert err.value.details["field"] == "skills"


def test_queue_with_unknown_skill_is_refused_naming_the_field():
    with pytest.raises(InvalidInput) as err:
        validate_queue(QueueDefinition(name="support", required_skills={"klingon": 2}), SKILLS)
    assert err.value.details["field"] == "required_skills"
    assert "klingon" in err.value.message


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"name": "Support Team"}, "name"),
        ({"name": "x\ny"}, "name"),
        ({"strategy": "fastest"}, "strategy"),
        ({"service_level_target_pct": 120}, "service_level_target_pct"),
        ({"overflow_kind": "queue", "overflow_target": "nowhere"}, "overflow_target"),
        ({"overflow_kind": "queue", "overflow_target": "support"}, "overflow_target"),
        ({"numbers": ("01 23",)}, "numbers"),
        ({"callback_key": "x"}, "callback_key"),
    ],
)
def test_bad_queue_fields_are_named(changes, field):
    queue = QueueDefinition(**{"name": "support", **changes})
    with pytest.raises(InvalidInput) as err:
        validate_queue(queue, SKILLS, known_queues={"support", "sales"})
    assert field in [e["field"] for e in err.value.details["errors"]]


def test_valid_queue_passes():
    q = QueueDefinition(
        name="support",
        required_skills={"fr": 2},
        overflow_kind="queue",
        overflow_target="sales",
        numbers=("0140000000",),
        callback_key="1",
    )
    assert validate_queue(q, SKILLS, {"support", "sales"}) is q


def test_agent_password_and_names_cannot_inject_config():
    good = AgentAccount("agent1", "Agent One", "agent1", "s3cret-password-xyz", {"fr": 5})
    validate_agent(good, SKILLS)
    for bad in (
        AgentAccount("a", "A", "agent1", "short", {}),
        AgentAccount("a", "A", "agent1", "long-enough-pass\n[x]", {}),
        AgentAccount("a", "A\n[evil]", "agent1", "long-enough-pass", {}),
        AgentAccount("a", "A", "Agent 1", "long-enough-pass", {}),
        AgentAccount("a", "A", "agent1", "long-enough-pass", {"klingon": 1}),
    ):
        with pytest.raises(InvalidInput):
            validate_agent(bad, SKILLS)


def test_rendered_config_has_endpoint_auth_aor_and_queue_settings():
    text = render_pjsip_agents([AgentAccount("agent1", "Agent One", "agent1", "pw-123456789012")])
    assert "[agent1](ccserver-endpoint)" in text
    md5 = hashlib.md5(b"agent1:ccserver:pw-123456789012").hexdigest()
    assert f"password_digest = MD5:{md5}" in text and "type = aor" in text
    assert "pw-123456789012" not in text
    queues = render_queues(
        [QueueDefinition(name="support", strategy="leastrecent", wrapup_seconds=15, callback_key="1")]
    )
    assert "[support]" in queues and "strategy = leastrecent" in queues
    assert "wrapuptime = 15" in queues and "context = ccq-support-exit" in queues


from ccserver.capabilities.acd.model import holiday_dates, parse_hours, render_acd_dialplan  # noqa: E402


def test_parse_hours_ranges_and_errors():
    assert parse_hours({"mon-fri": "08:00-12:00, 13:30-18:00", "sat": "09:00-12:00"}) == [
        ("08:00-12:00", "mon-fri"),
        ("13:30-18:00", "mon-fri"),
        ("09:00-12:00", "sat"),
    ]
    for bad in ({"weekdays": "08:00-12:00"}, {"mon": "8h-12h"}, {"mon": "12:00-08:00"}, {"mon-fri-sat": "08:00-09:00"}):
        with pytest.raises(InvalidInput) as err:
            parse_hours(bad)
        assert err.value.details["field"] == "hours"


def test_alsace_moselle_calendar_has_good_friday_and_st_stephen():
    days = {d.isoformat() for d, _ in holiday_dates("FR-57", [2026])}
    assert {"2026-04-03", "2026-12-26", "2026-07-14"} <= days
    assert "2026-04-03" not in {d.isoformat() for d, _ in holiday_dates("FR", [2026])}


def test_dialplan_routes_numbers_checks_holidays_hours_and_callback():
    q = QueueDefinition(
        name="support",
        numbers=("100", "0140000000"),
        hours={"mon-fri": "08:00-19:00"},
        callback_key="1",
        max_wait_seconds=300,
        overflow_kind="queue",
        overflow_target="sales",
    )
    text = render_acd_dialplan([q, QueueDefinition(name="sales", holidays="")], [2026, 2027])
    assert "exten => 0140000000,1,Goto(ccq-support,s,1)" in text
    assert "GotoIfTime(*,*,14,jul,Europe/Paris?closed,1)" in text
    assert "GotoIfTime(*,*,29,mar,Europe/Paris?closed,1) ; 2027-03-29 Easter Monday" in text
    assert "GotoIfTime(08:00-19:00,mon-fri,*,*,Europe/Paris?open,1)" in text
    assert "Queue(support,t,,,300)" in text and "Goto(ccq-sales,open,1)" in text
    assert "[ccq-support-exit]" in text and "exten => 1,1,Goto(ccq-support-callback,s,1)" in text
    sales = text[text.index("[ccq-sales]") : text.index("[ccq-support]")]
    assert "GotoIfTime" not in sales and "Goto(open,1)" in sales


def test_each_queue_has_an_hours_check_for_transfers_with_the_same_rules_as_its_callers():
    q = QueueDefinition(name="support", hours={"mon-fri": "08:00-12:00, 14:00-19:00"})
    text = render_acd_dialplan([q, QueueDefinition(name="sales", holidays="")], [2026])
    caller = text[text.index("[ccq-support]") : text.index("exten => open,1", text.index("[ccq-support]"))]
    hours = text[text.index("[ccserver-hours-support]") :].split("\n\n")[0].splitlines()
    checks = [line for line in hours if "GotoIfTime" in line or line.startswith(" same => n,Goto(")]
    # the holidays, then each slot, then closed: exactly the lines a caller meets
    assert checks == [line for line in caller.splitlines() if "GotoIfTime" in line or "Goto(closed" in line]
    assert " same => n,GotoIfTime(*,*,25,dec,Europe/Paris?closed,1) ; 2026-12-25 Christmas Day" in checks
    assert checks[-3:] == [
        " same => n,GotoIfTime(08:00-12:00,mon-fri,*,*,Europe/Paris?open,1)",
        " same => n,GotoIfTime(14:00-19:00,mon-fri,*,*,Europe/Paris?open,1)",
        " same => n,Goto(closed,1)",
    ]
    assert hours[-2:] == ["exten => open,1,Return(open)", "exten => closed,1,Return(closed)"]
    # a queue without hours nor holidays is always open
    sales = text[text.index("[ccserver-hours-sales]") :].split("\n\n")[0]
    assert "GotoIfTime" not in sales and " same => n,Goto(open,1)" in sales


def test_dialplan_refuses_injected_values():
    with pytest.raises(InvalidInput):
        render_acd_dialplan([QueueDefinition(name="support", closed_message="x)\nexten => 1,1,System(rm")], [2026])
