"""What every part of the outbound capability shares: who may act on which campaign, contact,
import or attempt (the rules live in core/permissions.py), the audit trail, the pushes to the
browsers, and the cached list of running campaigns.

Every method a user reaches through a route that names a campaign, contact, import or attempt
takes the user's `role`; None means an internal caller (the dialer, the CLI, tests of the engine)
and skips the check.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from ...core.errors import Forbidden
from ...core.permissions import Actor, Target, actor_for, may_act, require
from ...core.ports import AuditTrail
from ...core.text import Text
from .dialer import queue_name
from .ports import OutboundRepositoryPort, ScopeSource


class Notifier:
    """Pushes to the browsers (``notify(message, roles=..., usernames=...)``); a no-op until the
    web layer sets ``target`` (the plugin's live(hub))."""

    def __init__(self) -> None:
        self.target: Callable[..., Any] = lambda message, **kw: None

    def __call__(self, message: dict, **kw: Any) -> None:
        self.target(message, **kw)


class RunningCampaigns:
    """The running campaigns, read at most every 5 s (the dialer ticks every second)."""

    def __init__(self, repo: OutboundRepositoryPort) -> None:
        self.repo = repo
        self._rows: list[Any] = []
        self._at = 0.0

    def invalidate(self) -> None:
        self._at = 0.0

    async def get(self, force: bool = False) -> list[Any]:
        if force or time.monotonic() - self._at > 5.0:
            self._rows = await asyncio.to_thread(self.repo.campaigns, ["running"])
            self._at = time.monotonic()
        return self._rows


class Access:
    def __init__(
        self, repo: OutboundRepositoryPort, *, audit: AuditTrail | None = None, scopes: ScopeSource | None = None
    ) -> None:
        self.repo = repo
        self.audit = audit
        # supervisors' queues and teams (the ACD repository): a campaign is in a supervisor's
        # scope when its queue camp-<id> is; None: no scope source, supervisors reach nothing
        self.scopes = scopes

    async def record(self, actor: str, action: str, target: str, **details: Any) -> None:
        """An entry in the audit trail (none when there is no trail: some tests, the CLI)."""
        if self.audit is not None:
            await asyncio.to_thread(self.audit.record, actor, action, target, **details)

    def _actor(self, username: str, role: str) -> Actor:
        if role == "supervisor" and self.scopes is None:
            return Actor(username, role)
        return actor_for(username, role, self.scopes)

    async def actor(self, username: str, role: str) -> Actor:
        return await asyncio.to_thread(self._actor, username, role)

    async def require_campaign(self, campaign_id: int, username: str, role: str | None, action: str = "act on") -> None:
        """A campaign belongs to its queue camp-<id>; its assigned agents may see it."""
        if role is None:
            return

        def read() -> tuple[list[str], Actor]:
            self.repo.campaign(campaign_id)  # 404 before 403
            agents = self.repo.campaign_agents(campaign_id) if role == "agent" else []
            return agents, self._actor(username, role)

        agents, actor = await asyncio.to_thread(read)
        require(actor, Target.of("campaign", campaign_id, agents=agents, queues=[queue_name(campaign_id)]), action)

    async def require_contact(self, contact_id: int, username: str, role: str | None, action: str = "act on"):
        """A contact is its campaign's; for an agent, it is theirs once they handled it: it is
        reserved for them, its callback is theirs, or one of its attempts rang them."""

        def read():
            contact = self.repo.contact(contact_id)
            if role is None:
                return contact, set(), None
            agents: set[str] = set()
            if role == "agent":
                attempts = self.repo.attempts_of_contact(contact_id)
                agents = {contact.reserved_by or "", contact.callback_agent or ""} | {a.agent or "" for a in attempts}
            return contact, agents, self._actor(username, role)

        contact, agents, actor = await asyncio.to_thread(read)
        if role is not None:
            require(
                actor, Target.of("contact", contact_id, agents=agents, queues=[queue_name(contact.campaign_id)]), action
            )
        return contact

    async def require_import(self, import_id: int, username: str, role: str | None, action: str = "act on") -> None:
        imp = await asyncio.to_thread(self.repo.get_import, import_id)
        if role is not None:
            require(
                await self.actor(username, role),
                Target.of("import", import_id, queues=[queue_name(imp.campaign_id)]),
                action,
            )

    async def require_attempt(self, attempt_id: int, username: str, role: str | None, action: str = "act on"):
        """An attempt is the agent's who took the call, and its campaign's."""
        attempt = await asyncio.to_thread(self.repo.attempt, attempt_id)
        if role is not None:
            require(
                await self.actor(username, role),
                Target.of("attempt", attempt_id, agents=[attempt.agent], queues=[queue_name(attempt.campaign_id)]),
                action,
            )
        return attempt

    async def require_assigned(self, campaign_id: int, username: str) -> None:
        agents = await asyncio.to_thread(self.repo.campaign_agents, campaign_id)
        if username not in agents:
            raise Forbidden(
                Text(
                    "%(username)s is not assigned to campaign %(campaign_id)s",
                    username=username,
                    campaign_id=campaign_id,
                ),
                campaign_id=campaign_id,
            )

    async def visible(self, rows: list[dict], username: str, role: str) -> list[dict]:
        """The campaigns (dicts) this user may see in the list (a supervisor: their scope's)."""
        if role == "admin":
            return rows
        if role != "supervisor":
            return []  # agents see their campaigns through my-campaigns
        actor = await self.actor(username, role)
        return [c for c in rows if may_act(actor, Target.of("campaign", c["id"], queues=[c["queue"]]))]
