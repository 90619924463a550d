"""Who may act on which object: the one place the scope rules live. Pure: no I/O.

Roles (`@roles` on every route) say which *kind* of user may call a route; these rules say
whether this user may act on this *object*. Every object a route names (an outbound attempt, a
contact, a campaign, a recording, an evaluation, a live channel, an agent...) is described as a
`Target`: the agents it belongs to (who took the call, who holds the callback) and the queues
it belongs to (a campaign's queue is ``camp-<id>``). Then:

- an admin may act on everything;
- an agent only on objects that are theirs (their username among the target's agents);
- a supervisor only on objects inside their scope: a queue they were given, or an agent of a
  team they were given (the same reach as the wallboard and the recordings search);
- anybody else (an unknown role) on nothing.

Services resolve the actor's scope (from ``supervisor_scopes``) and the target's owners (from
their rows) and call `require`; a refusal is `Forbidden` (status 403, id ``forbidden``) raised
before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .errors import Forbidden
from .text import Text

ADMIN, SUPERVISOR, AGENT = "admin", "supervisor", "agent"


@dataclass(frozen=True)
class Actor:
    """A user about to act: their role and, for a supervisor, the reach of their scope."""

    username: str
    role: str
    queues: frozenset[str] = frozenset()  # supervisor: the queues given (camp-<id> included)
    agents: frozenset[str] = frozenset()  # supervisor: the agents of the teams given

    @classmethod
    def of(
        cls,
        username: str,
        role: str,
        scope_queues: Iterable[str] = (),
        scope_teams: Iterable[str] = (),
        team_of: Mapping[str, str] | None = None,
    ) -> Actor:
        """An actor from a supervisor's scope rows: `team_of` maps agent usernames to teams."""
        teams = {t for t in scope_teams if t}
        agents = {u for u, team in (team_of or {}).items() if team and team in teams}
        return cls(username, role, frozenset(q for q in scope_queues if q), frozenset(agents))

    @property
    def unrestricted(self) -> bool:
        return self.role == ADMIN


@dataclass(frozen=True)
class Target:
    """An object a route names, described by what it belongs to."""

    kind: str  # attempt, contact, campaign, recording, evaluation, channel, agent, call...
    ident: str
    agents: frozenset[str] = frozenset()
    queues: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, kind: str, ident: object, *, agents: Iterable[str | None] = (), queues: Iterable[str | None] = ()
    ) -> Target:
        """Empty names are dropped: an attempt nobody answered belongs to no agent."""
        return cls(kind, str(ident), frozenset(a for a in agents if a), frozenset(q for q in queues if q))


def may_act(actor: Actor, target: Target) -> bool:
    if actor.role == ADMIN:
        return True
    if actor.role == AGENT:
        return bool(actor.username) and actor.username in target.agents
    if actor.role == SUPERVISOR:
        return bool(target.queues & actor.queues) or bool(target.agents & actor.agents)
    return False


def require(actor: Actor, target: Target, action: str = "act on") -> None:
    """Raise `Forbidden` unless `actor` may act on `target` (the message names the object)."""
    if may_act(actor, target):
        return
    if actor.role == AGENT:
        why = f"this {target.kind} is not yours"
    elif actor.role == SUPERVISOR:
        why = f"this {target.kind} is outside your queues and teams"
    else:
        why = f"the {actor.role} role may not {action} a {target.kind}"
    raise Forbidden(
        Text(
            "you may not %(action)s %(kind)s %(ident)s: %(why)s",
            action=action,
            kind=target.kind,
            ident=target.ident,
            why=why,
        ),
        kind=target.kind,
        id=target.ident,
        role=actor.role,
    )


def visible(actor: Actor, targets: Iterable[Target]) -> list[Target]:
    """The targets `actor` may see and act on, in their order."""
    return [t for t in targets if may_act(actor, t)]


def channel_target(
    uniqueid: str,
    linkedid: str,
    channel: str,
    calls: Iterable[tuple[str, str, str, str]],
    interfaces: Mapping[str, str],
) -> Target:
    """A live channel, described by the calls it takes part in and the agent phone it is.

    `calls`: (uniqueid, linkedid, queue, agent) of the calls being tracked; a channel belongs to
    a call when it is that call's channel or shares its linkedid. `interfaces`: agent phone
    interface (``PJSIP/1001``) -> agent username; ``PJSIP/1001-0000002a`` is that phone's
    channel. A channel of no call and no agent (an IVR, a test call) belongs to nobody: only
    admins see it."""
    agents: set[str] = set()
    queues: set[str] = set()
    keys = {k for k in (uniqueid, linkedid) if k}
    for call_uniqueid, call_linkedid, queue, agent in calls:
        if keys & {k for k in (call_uniqueid, call_linkedid) if k}:
            queues.add(queue)
            agents.add(agent)
    for interface, agent in interfaces.items():
        if interface and (channel == interface or channel.startswith(interface + "-")):
            agents.add(agent)
    return Target.of("channel", uniqueid, agents=agents, queues=queues)


def actor_for(username: str, role: str, scopes) -> Actor:
    """The actor with their scope read through the `scopes` port (``scopes_of(username) ->
    (queues, teams)``, ``teams() -> {agent: team}``; the ACD repository implements it).
    Only supervisors have a scope: admins reach everything, agents their own objects."""
    if role != SUPERVISOR:
        return Actor(username, role)
    queues, teams = scopes.scopes_of(username)
    return Actor.of(username, role, queues, teams, scopes.teams() if teams else {})
