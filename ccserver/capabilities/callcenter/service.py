"""Call-center settings use cases: skills and agents' levels (penalties changed live in the
queues the agent is logged into), pause codes (and the alert when a pause outlasts its code's
maximum), wrap-up codes of queues and campaigns. Queues themselves are the ACD service's
(validated, tried on Asterisk, stored only when Asterisk runs them). Every change is audited
with what it was before and after.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ...core.alerts import PAUSE_OVERRUN, Alerts
from ...core.clock import Clock
from ...core.errors import Conflict, InvalidInput
from ...core.ports import AuditTrail
from ...core.text import Text
from ..acd.service import AcdService
from ..agents.model import AgentState
from .errors import SkillInUse
from .model import (
    PauseCode,
    PausedAgent,
    PauseOverrun,
    PenaltyPlan,
    Skill,
    WrapupCode,
    pause_overruns,
    penalty_plan,
    require_code,
    skill_usage,
    validate_levels,
    validate_pause_code,
    validate_skill,
    validate_wrapup_code,
)
from .ports import CallCenterRepository

logger = logging.getLogger(__name__)


class CallCenterService:
    def __init__(
        self,
        repo: CallCenterRepository,
        acd: AcdService,
        audit: AuditTrail,
        clock: Clock,
        alerts: Alerts | None = None,
    ) -> None:
        self.repo = repo
        self.acd = acd
        self.audit = audit
        self.clock = clock
        self.alerts = alerts
        self.overrun_listeners: list[Callable[[PauseOverrun], None]] = []  # live pushes
        # other places naming a skill (IVR scripts...): skill -> ["ivr NAME node N", ...]
        self.skill_users: list[Callable[[str], list[str]]] = []
        self._overruns_noted: set[tuple[str, str]] = set()  # (agent, pause start) already alerted

    async def _audit(self, actor: str, action: str, target: str, **details: Any) -> None:
        await asyncio.to_thread(self.audit.record, actor, action, target, **details)

    # --- skills ----------------------------------------------------------------------------------
    async def skills(self) -> list[Skill]:
        return await asyncio.to_thread(self.repo.skills)

    async def create_skill(self, name: str, label: str, actor: str) -> Skill:
        skill = validate_skill(Skill(name, label))
        await asyncio.to_thread(self.repo.add_skill, skill)
        await self._audit(actor, "skill.create", name, after=skill.to_dict())
        return skill

    async def rename_skill(self, name: str, new_name: str, label: str | None, actor: str) -> Skill:
        """A new name (and/or label); the agents' levels and the queues' requirements follow."""
        before = {s.name: s for s in await self.skills()}.get(name)
        if before is None:
            from .errors import NoSuchSkill

            raise NoSuchSkill(Text("no skill named %(name)r", name=name), field="name", skill=name)
        after = Skill(new_name or name, before.label if label is None else label)
        try:
            validate_skill(after)
        except InvalidInput as exc:
            raise InvalidInput(exc.message, **{**exc.details, "field": "new_name"}) from None
        scripts = [where for users in self.skill_users for where in users(name)] if after.name != name else []
        if scripts:  # their files name it: they would send callers with a skill nobody has
            raise SkillInUse(
                f"skill {name!r} is named by {', '.join(scripts)}: change those first", field="name", used_by=scripts
            )
        await asyncio.to_thread(self.repo.rename_skill, name, after)
        await self._audit(actor, "skill.update", name, before=before.to_dict(), after=after.to_dict())
        return after

    async def remove_skill(self, name: str, actor: str) -> None:
        """Refused while an agent has it or a queue requires it (the error says where)."""
        agents = await asyncio.to_thread(self.repo.agents_levels)
        used = skill_usage(name, agents, await self.acd.queues())
        used += [where for users in self.skill_users for where in users(name)]
        if used:
            raise SkillInUse(f"skill {name!r} is still used by {', '.join(used)}", field="name", used_by=used)
        before = {s.name: s for s in await self.skills()}.get(name)
        await asyncio.to_thread(self.repo.remove_skill, name)
        await self._audit(actor, "skill.remove", name, before=before.to_dict() if before else {"name": name})

    async def set_levels(self, username: str, levels: dict[str, Any], actor: str) -> dict:
        """The agent's skill levels; in each queue they are logged into, their penalty changes
        at once (QueuePenalty), and they leave the queues whose skills they no longer have."""
        known = [s.name for s in await self.skills()]
        clean = validate_levels(levels, known)
        status = self.acd.status_of(username)
        plan = penalty_plan(clean, status.queues if status else (), await self.acd.queues())
        before = await asyncio.to_thread(self.repo.set_levels, username, clean)
        applied = await self._apply_penalties(username, plan) if status is not None else {"penalties": {}, "left": []}
        await self._audit(actor, "agent.skills", username, before=before, after=clean, live=applied)
        return {"username": username, "skills": clean, **applied}

    async def _apply_penalties(self, username: str, plan: PenaltyPlan) -> dict:
        status = self.acd.status_of(username)
        pbx = self.acd.pbx
        if status is None or not status.queues or pbx is None or not pbx.is_up:
            return {"penalties": {}, "left": []}
        for queue, penalty in plan.penalties.items():
            await pbx.queue_penalty(queue, status.interface, penalty)
        for queue in plan.leave:
            await pbx.queue_remove(queue, status.interface)
        if plan.leave:
            kept = set(status.queues) - set(plan.leave)
            paused = status.state == AgentState.PAUSED
            if kept:
                await asyncio.to_thread(self.acd.repo.store_login, username, kept, paused, status.pause_reason)
            else:
                await asyncio.to_thread(self.acd.repo.clear_login, username)
        return {"penalties": dict(plan.penalties), "left": list(plan.leave)}

    # --- pause codes ---------------------------------------------------------------------------
    async def pause_codes(self, include_retired: bool = False) -> list[PauseCode]:
        return await asyncio.to_thread(self.repo.pause_codes, not include_retired)

    async def create_pause_code(self, code: PauseCode, actor: str) -> PauseCode:
        validate_pause_code(code)
        before = await asyncio.to_thread(self.repo.save_pause_code, code, create=True)
        await self._audit(
            actor, "pause_code.create", code.code, before=before.to_dict() if before else None, after=code.to_dict()
        )
        return code

    async def update_pause_code(self, code: str, changes: dict[str, Any], actor: str) -> PauseCode:
        current = await asyncio.to_thread(self.repo.pause_code, code)
        unknown = set(changes) - {"label", "paid", "max_minutes"}
        if unknown:
            raise InvalidInput(
                Text("unknown field(s): %(value)s", value=", ".join(sorted(unknown))), field=sorted(unknown)[0]
            )
        updated = validate_pause_code(replace(current, **changes, active=True))
        before = await asyncio.to_thread(self.repo.save_pause_code, updated, create=False)
        await self._audit(
            actor, "pause_code.update", code, before=before.to_dict() if before else None, after=updated.to_dict()
        )
        return updated

    async def retire_pause_code(self, code: str, actor: str) -> None:
        """No longer offered to agents (the history keeps it). Refused while an agent is paused
        with it (they would be left with a code nobody can choose again)."""
        paused = sorted(
            s.username
            for s in self.acd.board.agents.values()
            if s.state == AgentState.PAUSED and s.pause_reason == code
        )
        if paused:
            raise Conflict(
                Text("pause code %(code)r is in use: %(value)s paused with it", code=code, value=", ".join(paused)),
                field="code",
                used_by=paused,
            )
        before = await asyncio.to_thread(self.repo.retire_pause_code, code)
        await self._audit(actor, "pause_code.remove", code, before=before.to_dict())

    async def check_pause_overruns(self) -> list[PauseOverrun]:
        """Alert (wallboard counter, live push to supervisors) once per pause that lasts longer
        than its code's maximum. Run every few seconds by the plugin's job."""
        maximums = {c.code: c.max_minutes for c in await self.pause_codes()}
        paused = [
            PausedAgent(s.username, s.pause_reason, s.since)
            for s in self.acd.board.agents.values()
            if s.state == AgentState.PAUSED and s.since is not None
        ]
        current = {(p.username, p.since.isoformat()) for p in paused}
        self._overruns_noted &= current  # a new pause can alert again
        new = []
        for overrun in pause_overruns(paused, maximums, self.clock.now()):
            key = (overrun.username, overrun.since.isoformat())
            if key in self._overruns_noted:
                continue
            self._overruns_noted.add(key)
            new.append(overrun)
            logger.warning(
                "agent %s paused (%s) for %d min, more than the %d min allowed",
                overrun.username,
                overrun.reason,
                overrun.minutes,
                overrun.max_minutes,
            )
            if self.alerts is not None:
                self.alerts.note(PAUSE_OVERRUN, self.clock.now(), **overrun.to_dict())
            for listener in self.overrun_listeners:
                listener(overrun)
        return new

    # --- wrap-up codes ---------------------------------------------------------------------------
    async def wrapup_codes(self, *, queue: str | None = None, campaign: int | None = None) -> list[WrapupCode]:
        if (queue is None) == (campaign is None):
            raise InvalidInput("give either queue or campaign", field="queue")
        if queue is not None:
            return [WrapupCode(c) for c in await asyncio.to_thread(self.repo.queue_codes, queue)]
        return await asyncio.to_thread(self.repo.campaign_codes, campaign)

    async def add_wrapup_code(
        self, code: WrapupCode, actor: str, *, queue: str | None = None, campaign: int | None = None
    ) -> WrapupCode:
        validate_wrapup_code(code)
        before = [c.code for c in await self.wrapup_codes(queue=queue, campaign=campaign)]
        if code.code in before:
            raise Conflict(
                Text("%(value)s already has the code %(code)r", value=_where(queue, campaign), code=code.code),
                field="code",
            )
        if queue is not None:
            await asyncio.to_thread(self.repo.set_queue_codes, queue, [*before, code.code])
        else:
            await asyncio.to_thread(self.repo.add_campaign_code, campaign, code)
        await self._audit(
            actor, "wrapup_code.create", _where(queue, campaign), before=before, after=[*before, code.code]
        )
        return code

    async def remove_wrapup_code(
        self, code: str, actor: str, *, queue: str | None = None, campaign: int | None = None
    ) -> None:
        before = [c.code for c in await self.wrapup_codes(queue=queue, campaign=campaign)]
        require_code(code, before, _where(queue, campaign))
        after = [c for c in before if c != code]
        if queue is not None:
            await asyncio.to_thread(self.repo.set_queue_codes, queue, after)
        else:
            await asyncio.to_thread(self.repo.remove_campaign_code, campaign, code)
        await self._audit(actor, "wrapup_code.remove", _where(queue, campaign), before=before, after=after)

    def campaign_codes_now(self, campaign_id: int) -> list[str]:
        """The campaign's codes (blocking: the outbound capability asks from its threads)."""
        return [c.code for c in self.repo.campaign_codes(campaign_id)]


def _where(queue: str | None, campaign: int | None) -> str:
    return f"queue {queue}" if queue is not None else f"campaign {campaign}"
