"""Database access for the call-center settings: skills (and the agents' levels), pause codes,
the queues' and the campaigns' wrap-up codes."""

from __future__ import annotations

import json

from sqlalchemy import delete
from sqlmodel import select

from ...capabilities.acd.errors import NoSuchAgent, NoSuchQueue
from ...capabilities.callcenter.errors import NoSuchPauseCode, NoSuchSkill, NoSuchWrapupCode
from ...capabilities.callcenter.model import PauseCode, Skill, WrapupCode, renamed_key
from ...capabilities.outbound.errors import NoSuchCampaign
from ...core.errors import Conflict
from ...core.text import Text
from .database import Database
from .tables import Agent, CampaignWrapupCode, OutboundCampaign, PauseReason, Queue, User
from .tables import Skill as SkillRow


def _pause_code(row: PauseReason) -> PauseCode:
    return PauseCode(row.code, row.label, bool(row.paid), int(row.max_minutes or 0), bool(row.active))


class CallCenterRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- skills ---------------------------------------------------------------------------------
    def skills(self) -> list[Skill]:
        with self.db.read_session() as s:
            return [Skill(r.name, r.label) for r in s.exec(select(SkillRow).order_by(SkillRow.name))]

    def add_skill(self, skill: Skill) -> None:
        with self.db.write_session() as s:
            if s.exec(select(SkillRow).where(SkillRow.name == skill.name)).first() is not None:
                raise Conflict(Text("a skill named %(name)r already exists", name=skill.name), field="name")
            s.add(SkillRow(name=skill.name, label=skill.label))

    def rename_skill(self, old: str, new: Skill) -> None:
        """The skill, every agent's level of it and every queue's requirement, in one transaction."""
        with self.db.write_session() as s:
            row = s.exec(select(SkillRow).where(SkillRow.name == old)).first()
            if row is None:
                raise NoSuchSkill(Text("no skill named %(old)r", old=old), field="name", skill=old)
            if new.name != old and s.exec(select(SkillRow).where(SkillRow.name == new.name)).first() is not None:
                raise Conflict(Text("a skill named %(name)r already exists", name=new.name), field="new_name")
            row.name, row.label = new.name, new.label
            s.add(row)
            if new.name != old:
                for agent in s.exec(select(Agent)):
                    levels = json.loads(agent.skills or "{}")
                    if old in levels:
                        agent.skills = json.dumps(renamed_key(levels, old, new.name), sort_keys=True)
                        s.add(agent)
                for queue in s.exec(select(Queue)):
                    required = json.loads(queue.required_skills or "{}")
                    if old in required:
                        queue.required_skills = json.dumps(renamed_key(required, old, new.name), sort_keys=True)
                        s.add(queue)

    def remove_skill(self, name: str) -> None:
        with self.db.write_session() as s:
            if s.exec(select(SkillRow).where(SkillRow.name == name)).first() is None:
                raise NoSuchSkill(Text("no skill named %(name)r", name=name), field="name", skill=name)
            s.exec(delete(SkillRow).where(SkillRow.name == name))

    def agents_levels(self) -> list[tuple[str, dict[str, int]]]:
        """(username, {skill: level}) of every user with an agent row."""
        with self.db.read_session() as s:
            rows = s.exec(select(Agent, User).join(User, User.id == Agent.user_id).order_by(User.username))
            return [(u.username, json.loads(a.skills or "{}")) for a, u in rows]

    def set_levels(self, username: str, levels: dict[str, int]) -> dict[str, int]:
        """Replace the agent's levels; returns the previous ones."""
        with self.db.write_session() as s:
            row = s.exec(select(Agent).join(User, User.id == Agent.user_id).where(User.username == username)).first()
            if row is None:
                raise NoSuchAgent(
                    Text("no agent named %(username)r", username=username), field="username", agent=username
                )
            before = json.loads(row.skills or "{}")
            row.skills = json.dumps(levels, sort_keys=True)
            s.add(row)
            return before

    # --- pause codes ----------------------------------------------------------------------------
    def pause_codes(self, active_only: bool = False) -> list[PauseCode]:
        with self.db.read_session() as s:
            query = select(PauseReason).order_by(PauseReason.code)
            if active_only:
                query = query.where(PauseReason.active == True)
            return [_pause_code(r) for r in s.exec(query)]

    def pause_code(self, code: str) -> PauseCode:
        with self.db.read_session() as s:
            row = s.exec(select(PauseReason).where(PauseReason.code == code)).first()
            if row is None:
                raise NoSuchPauseCode(Text("no pause code %(code)r", code=code), field="code", code=code)
            return _pause_code(row)

    def save_pause_code(self, code: PauseCode, *, create: bool) -> PauseCode | None:
        """Create (Conflict when it exists and is active; a retired one comes back) or update;
        returns the previous version (None for a new one)."""
        with self.db.write_session() as s:
            row = s.exec(select(PauseReason).where(PauseReason.code == code.code)).first()
            if row is None and not create:
                raise NoSuchPauseCode(Text("no pause code %(code)r", code=code.code), field="code", code=code.code)
            if row is not None and create and row.active:
                raise Conflict(Text("a pause code %(code)r already exists", code=code.code), field="code")
            before = _pause_code(row) if row is not None else None
            row = row or PauseReason(code=code.code)
            row.label, row.paid, row.max_minutes, row.active = code.label, code.paid, code.max_minutes, True
            s.add(row)
            return before

    def retire_pause_code(self, code: str) -> PauseCode:
        """No longer offered (kept: agents' history names it); returns it as it was."""
        with self.db.write_session() as s:
            row = s.exec(select(PauseReason).where(PauseReason.code == code)).first()
            if row is None or not row.active:
                raise NoSuchPauseCode(Text("no pause code %(code)r", code=code), field="code", code=code)
            before = _pause_code(row)
            row.active = False
            s.add(row)
            return before

    # --- wrap-up codes ----------------------------------------------------------------------------
    def queue_codes(self, queue: str) -> list[str]:
        with self.db.read_session() as s:
            row = s.exec(select(Queue).where(Queue.name == queue)).first()
            if row is None:
                raise NoSuchQueue(Text("no queue named %(queue)r", queue=queue), field="queue", queue=queue)
            return list(json.loads(row.dispositions or "[]"))

    def set_queue_codes(self, queue: str, codes: list[str]) -> None:
        with self.db.write_session() as s:
            row = s.exec(select(Queue).where(Queue.name == queue)).first()
            if row is None:
                raise NoSuchQueue(Text("no queue named %(queue)r", queue=queue), field="queue", queue=queue)
            row.dispositions = json.dumps(list(codes))
            s.add(row)

    def campaign_name(self, campaign_id: int) -> str:
        with self.db.read_session() as s:
            row = s.get(OutboundCampaign, campaign_id)
            if row is None:
                raise NoSuchCampaign(
                    Text("no campaign %(campaign_id)s", campaign_id=campaign_id), field="campaign", campaign=campaign_id
                )
            return row.name

    def campaign_codes(self, campaign_id: int) -> list[WrapupCode]:
        self.campaign_name(campaign_id)
        with self.db.read_session() as s:
            rows = s.exec(
                select(CampaignWrapupCode)
                .where(CampaignWrapupCode.campaign_id == campaign_id)
                .order_by(CampaignWrapupCode.id)
            )
            return [WrapupCode(r.code, r.label) for r in rows]

    def add_campaign_code(self, campaign_id: int, code: WrapupCode) -> None:
        self.campaign_name(campaign_id)
        with self.db.write_session() as s:
            exists = s.exec(
                select(CampaignWrapupCode).where(
                    CampaignWrapupCode.campaign_id == campaign_id, CampaignWrapupCode.code == code.code
                )
            ).first()
            if exists is not None:
                raise Conflict(
                    Text(
                        "campaign %(campaign_id)s already has the code %(code)r",
                        campaign_id=campaign_id,
                        code=code.code,
                    ),
                    field="code",
                )
            s.add(CampaignWrapupCode(campaign_id=campaign_id, code=code.code, label=code.label))

    def remove_campaign_code(self, campaign_id: int, code: str) -> WrapupCode:
        with self.db.write_session() as s:
            row = s.exec(
                select(CampaignWrapupCode).where(
                    CampaignWrapupCode.campaign_id == campaign_id, CampaignWrapupCode.code == code
                )
            ).first()
            if row is None:
                raise NoSuchWrapupCode(
                    Text("campaign %(campaign_id)s has no code %(code)r", campaign_id=campaign_id, code=code),
                    field="code",
                    code=code,
                )
            removed = WrapupCode(row.code, row.label)
            s.delete(row)
            return removed
