"""The scope rules (core/permissions.py): every role against every kind of ownership."""

from __future__ import annotations

import itertools

import pytest

from ccserver.core.errors import Forbidden
from ccserver.core.permissions import Actor, Target, actor_for, channel_target, may_act, require, visible

ALICE_SUPERVISOR = Actor.of(
    "sophie", "supervisor", ["support"], ["north"], {"alice": "north", "bob": "south", "carl": ""}
)


def test_actor_of_keeps_the_agents_of_the_given_teams_only():
    assert ALICE_SUPERVISOR.queues == frozenset({"support"})
    assert ALICE_SUPERVISOR.agents == frozenset({"alice"})  # carl has no team: nobody's
    assert Actor.of("x", "supervisor", ["", "q"], [""], {"a": ""}) == Actor("x", "supervisor", frozenset({"q"}))


def test_target_of_drops_empty_owners():
    target = Target.of("attempt", 7, agents=["", None, "alice"], queues=[None, "camp-1"])
    assert target == Target("attempt", "7", frozenset({"alice"}), frozenset({"camp-1"}))


# the whole table: role x (does the target name the user as owner) x (queue in the supervisor's
# queues) x (owner in the supervisor's teams)
CASES = list(
    itertools.product(("admin", "supervisor", "agent", "guest", ""), (False, True), (False, True), (False, True))
)


@pytest.mark.parametrize("role,owned_by_user,queue_in_scope,agent_in_team", CASES)
def test_may_act_table(role, owned_by_user, queue_in_scope, agent_in_team):
    actor = Actor("me", role, queues=frozenset({"mine-q"}), agents=frozenset({"teammate"}))
    agents = {"stranger"}
    if owned_by_user:
        agents.add("me")
    if agent_in_team:
        agents.add("teammate")
    target = Target("attempt", "1", frozenset(agents), frozenset({"mine-q" if queue_in_scope else "other-q"}))
    expected = {"admin": True, "agent": owned_by_user, "supervisor": queue_in_scope or agent_in_team}.get(role, False)
    assert may_act(actor, target) is expected
    if expected:
        require(actor, target)
    else:
        with pytest.raises(Forbidden) as err:
            require(actor, target, "record the result of")
        assert err.value.status == 403 and err.value.error_id == "forbidden"
        assert err.value.details == {"kind": "attempt", "id": "1", "role": role}
        assert "record the result of attempt 1" in err.value.message


def test_supervisor_without_scope_reaches_nothing_and_admin_everything():
    bare = Actor("sam", "supervisor")
    nobody = Target.of("channel", "1.1")
    assert not may_act(bare, Target.of("campaign", 1, queues=["camp-1"]))
    assert not may_act(bare, nobody)
    assert may_act(Actor("root", "admin"), nobody)
    assert not may_act(Actor("alice", "agent"), nobody)


def test_agent_with_empty_name_owns_nothing():
    assert not may_act(Actor("", "agent"), Target.of("attempt", 1, agents=[""]))


def test_messages_say_why():
    with pytest.raises(Forbidden, match="not yours"):
        require(Actor("bob", "agent"), Target.of("attempt", 3, agents=["alice"]))
    with pytest.raises(Forbidden, match="outside your queues and teams"):
        require(ALICE_SUPERVISOR, Target.of("evaluation", 4, agents=["bob"], queues=["sales"]))


def test_visible_keeps_order():
    targets = [
        Target.of("t", i, agents=[a], queues=[q])
        for i, (a, q) in enumerate([("bob", "sales"), ("alice", "sales"), ("bob", "support")])
    ]
    assert [t.ident for t in visible(ALICE_SUPERVISOR, targets)] == ["1", "2"]


CALLS = [("10.1", "10.1", "support", "alice"), ("20.1", "20.1", "sales", "bob")]
INTERFACES = {"PJSIP/alice": "alice", "PJSIP/bob": "bob", "PJSIP/ali": "ali"}


def test_channel_of_a_call_belongs_to_its_queue_and_agent():
    caller = channel_target("10.1", "10.1", "PJSIP/customers-0001", CALLS, INTERFACES)
    assert caller.queues == {"support"} and caller.agents == {"alice"}
    agent_leg = channel_target("10.2", "10.1", "PJSIP/alice-0002", CALLS, INTERFACES)
    assert agent_leg.queues == {"support"} and agent_leg.agents == {"alice"}
    assert may_act(ALICE_SUPERVISOR, caller) and may_act(ALICE_SUPERVISOR, agent_leg)


def test_channel_of_an_agent_phone_outside_calls_is_that_agents():
    idle = channel_target("30.1", "30.1", "PJSIP/alice-0003", CALLS, INTERFACES)
    assert idle.agents == {"alice"} and idle.queues == frozenset()
    # PJSIP/ali is not a prefix match of PJSIP/alice-...: the interface ends at the dash
    assert "ali" not in idle.agents


def test_channel_of_nobody_is_admins_only():
    ivr = channel_target("40.1", "40.1", "PJSIP/customers-0004", CALLS, INTERFACES)
    assert ivr.agents == frozenset() and ivr.queues == frozenset()
    assert not may_act(ALICE_SUPERVISOR, ivr) and may_act(Actor("root", "admin"), ivr)
    other = channel_target("20.1", "20.1", "PJSIP/customers-0005", CALLS, INTERFACES)
    assert not may_act(ALICE_SUPERVISOR, other)


class FakeScopes:
    def __init__(self):
        self.calls = []

    def scopes_of(self, username):
        self.calls.append(("scopes_of", username))
        return {"support"}, {"north"}

    def teams(self):
        self.calls.append(("teams",))
        return {"alice": "north", "bob": "south"}


def test_actor_for_reads_a_scope_for_supervisors_only():
    scopes = FakeScopes()
    assert actor_for("root", "admin", scopes) == Actor("root", "admin")
    assert actor_for("alice", "agent", scopes) == Actor("alice", "agent")
    assert scopes.calls == []
    sup = actor_for("sophie", "supervisor", scopes)
    assert sup.queues == {"support"} and sup.agents == {"alice"}
