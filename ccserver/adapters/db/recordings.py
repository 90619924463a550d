"""Database access for recordings, their policies, quality grids and evaluations (the GDPR
erasure is in erasure.py). Synchronous: call through ``asyncio.to_thread``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlmodel import col, select

from ...capabilities.recording.errors import NoSuchEvaluation, NoSuchGrid, NoSuchRecording
from ...capabilities.recording.model import (
    DEFAULT_POLICY,
    DEFAULT_RETENTION_DAYS,
    RecordingPolicy,
    campaign_of_queue,
    purge_cutoff,
)
from ...capabilities.recording.ports import RecordingFilter
from ...core.clock import Clock, SystemClock
from ...core.errors import Conflict
from ...core.text import Text
from .database import Database
from .tables import Call, CampaignRecordingPolicy, QaEvaluation, QaGrid, Queue, Recording


class RecordingRepository:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def _write(self):
        """Writes read first: they take SQLite's write lock up front (Database.write_session)."""
        return self.db.write_session()

    # --- policies -------------------------------------------------------------------------------
    def policy_for_queue(self, queue: str) -> RecordingPolicy:
        """A queue's policy; a campaign's (queue camp-<id>); the default for unknown queues."""
        with self.db.read_session() as s:
            campaign = campaign_of_queue(queue)
            if campaign is not None:
                row = s.exec(
                    select(CampaignRecordingPolicy).where(CampaignRecordingPolicy.campaign_id == campaign)
                ).first()
                if row is not None:
                    return RecordingPolicy(row.policy, row.retention_days)
                return RecordingPolicy(DEFAULT_POLICY, DEFAULT_RETENTION_DAYS)
            row = s.exec(select(Queue).where(Queue.name == queue)).first()
            if row is None:
                return RecordingPolicy(DEFAULT_POLICY, DEFAULT_RETENTION_DAYS)
            return RecordingPolicy(row.recording_policy, row.retention_days)

    def campaign_policies(self) -> dict[int, RecordingPolicy]:
        with self.db.read_session() as s:
            return {
                r.campaign_id: RecordingPolicy(r.policy, r.retention_days)
                for r in s.exec(select(CampaignRecordingPolicy))
            }

    def set_campaign_policy(self, campaign_id: int, policy: RecordingPolicy, actor: str) -> None:
        with self._write() as s:
            row = s.exec(
                select(CampaignRecordingPolicy).where(CampaignRecordingPolicy.campaign_id == campaign_id)
            ).first()
            if row is None:
                row = CampaignRecordingPolicy(campaign_id=campaign_id, updated_at=self.clock.now())
            row.policy, row.retention_days = policy.policy, policy.retention_days
            row.updated_by, row.updated_at = actor[:64], self.clock.now()
            s.add(row)

    def queue_policies(self) -> dict[str, RecordingPolicy]:
        with self.db.read_session() as s:
            return {q.name: RecordingPolicy(q.recording_policy, q.retention_days) for q in s.exec(select(Queue))}

    # --- recordings -----------------------------------------------------------------------------
    def insert(self, **fields: Any) -> Recording:
        with self._write() as s:
            row = Recording(**fields)
            s.add(row)
            s.flush()
            return row

    def update(self, recording_id: int, **fields: Any) -> Recording:
        with self._write() as s:
            row = s.get(Recording, recording_id)
            if row is None:
                raise NoSuchRecording(
                    Text("no recording %(recording_id)s", recording_id=recording_id), recording=recording_id
                )
            for key, value in fields.items():
                setattr(row, key, value)
            s.add(row)
            return row

    def get(self, recording_id: int) -> Recording:
        with self.db.read_session() as s:
            row = s.get(Recording, recording_id)
            if row is None:
                raise NoSuchRecording(
                    Text("no recording %(recording_id)s", recording_id=recording_id), recording=recording_id
                )
            return row

    def for_call(self, uniqueid: str) -> list[Recording]:
        with self.db.read_session() as s:
            return list(s.exec(select(Recording).where(Recording.call_uniqueid == uniqueid).order_by(Recording.id)))

    def unfinished(self) -> list[Recording]:
        with self.db.read_session() as s:
            return list(s.exec(select(Recording).where(col(Recording.status).in_(("recording", "paused")))))

    def call(self, uniqueid: str) -> Call | None:
        with self.db.read_session() as s:
            return s.exec(select(Call).where(Call.uniqueid == uniqueid)).first()

    def search(
        self, f: RecordingFilter, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[tuple[Recording, Call | None]], int]:
        """Recordings (newest first) with their call rows, and how many match in all."""
        query = select(Recording, Call).join(Call, Call.uniqueid == Recording.call_uniqueid, isouter=True)
        if f.status:
            query = query.where(Recording.status == f.status)
        if f.scope_queues is not None or f.scope_agents is not None:
            query = query.where(
                or_(
                    col(Recording.queue).in_(sorted(f.scope_queues or ())),
                    col(Recording.agent).in_(sorted(f.scope_agents or ())),
                )
            )
        if f.agent:
            query = query.where(Recording.agent == f.agent)
        if f.queue:
            query = query.where(Recording.queue == f.queue)
        if f.customer_id is not None:
            query = query.where(or_(Recording.customer_id == f.customer_id, Call.customer_id == f.customer_id))
        if f.uniqueid:
            query = query.where(or_(Recording.call_uniqueid == f.uniqueid, Recording.linkedid == f.uniqueid))
        if f.caller:
            query = query.where(col(Call.caller_number).contains(f.caller))
        if f.since is not None:
            query = query.where(Recording.started_at >= f.since)
        if f.until is not None:
            query = query.where(Recording.started_at < f.until)
        if f.min_seconds:
            query = query.where(Recording.duration_ms >= f.min_seconds * 1000)
        with self.db.read_session() as s:
            total = s.exec(select(func.count()).select_from(query.subquery())).one()
            rows = s.exec(
                query.order_by(col(Recording.started_at).desc(), col(Recording.id).desc()).limit(limit).offset(offset)
            ).all()
            return [(r, c) for r, c in rows], int(total)

    def expired(self, now: datetime) -> list[Recording]:
        """Recordings past their retention: their queue's (or campaign's) current retention
        applies; a recording whose queue no longer exists keeps the retention it was made with.
        Recordings still running are never expired."""
        queues = self.queue_policies()
        campaigns = self.campaign_policies()
        conditions = []
        known = []
        for name, policy in queues.items():
            known.append(name)
            cutoff = purge_cutoff(policy.retention_days, now)
            if cutoff is not None:
                conditions.append((Recording.queue == name) & (Recording.started_at < cutoff))
        for campaign, policy in campaigns.items():
            name = f"camp-{campaign}"
            known.append(name)
            cutoff = purge_cutoff(policy.retention_days, now)
            if cutoff is not None:
                conditions.append((Recording.queue == name) & (Recording.started_at < cutoff))
        with self.db.read_session() as s:
            found: dict[int, Recording] = {}
            finished = col(Recording.status).notin_(("recording", "paused"))
            if conditions:
                for row in s.exec(select(Recording).where(finished).where(or_(*conditions))):
                    found[row.id] = row
            # queues/campaigns gone (or never known): the retention stored with the recording
            orphans = select(Recording).where(finished).where(Recording.retention_days > 0)
            if known:
                orphans = orphans.where(col(Recording.queue).notin_(known))
            for row in s.exec(orphans):
                cutoff = purge_cutoff(row.retention_days, now)
                if cutoff is not None and row.started_at < cutoff:
                    found[row.id] = row
            return sorted(found.values(), key=lambda r: r.id)

    def delete(self, recording_ids: Sequence[int]) -> int:
        if not recording_ids:
            return 0
        with self._write() as s:
            s.exec(
                update(QaEvaluation).where(col(QaEvaluation.recording_id).in_(recording_ids)).values(recording_id=None)
            )
            result = s.exec(delete(Recording).where(col(Recording.id).in_(recording_ids)))
            return result.rowcount or 0

    # --- quality grids ---------------------------------------------------------------------------
    def grids(self, active_only: bool = False) -> list[QaGrid]:
        with self.db.read_session() as s:
            query = select(QaGrid).order_by(QaGrid.name)
            if active_only:
                query = query.where(QaGrid.active == True)
            return list(s.exec(query))

    def grid(self, grid_id: int) -> QaGrid:
        with self.db.read_session() as s:
            row = s.get(QaGrid, grid_id)
            if row is None:
                raise NoSuchGrid(Text("no grid %(grid_id)s", grid_id=grid_id), grid=grid_id)
            return row

    def save_grid(
        self, grid_id: int | None, name: str, description: str, definition: dict, actor: str, active: bool = True
    ) -> QaGrid:
        now = self.clock.now()
        with self._write() as s:
            clash = s.exec(select(QaGrid).where(QaGrid.name == name)).first()
            if clash is not None and clash.id != grid_id:
                raise Conflict(Text("a grid named %(name)r already exists", name=name), field="name")
            if grid_id is None:
                row = QaGrid(
                    name=name,
                    description=description,
                    definition=json.dumps(definition),
                    version=1,
                    active=active,
                    created_by=actor[:64],
                    created_at=now,
                    updated_at=now,
                )
            else:
                row = s.get(QaGrid, grid_id)
                if row is None:
                    raise NoSuchGrid(Text("no grid %(grid_id)s", grid_id=grid_id), grid=grid_id)
                text = json.dumps(definition)
                if text != row.definition:
                    row.version += 1
                row.name, row.description, row.definition = name, description, text
                row.active, row.updated_at = active, now
            s.add(row)
            s.flush()
            return row

    # --- evaluations ---------------------------------------------------------------------------
    def add_evaluation(self, **fields: Any) -> QaEvaluation:
        with self._write() as s:
            row = QaEvaluation(**fields)
            s.add(row)
            s.flush()
            return row

    def evaluation(self, evaluation_id: int) -> QaEvaluation:
        with self.db.read_session() as s:
            row = s.get(QaEvaluation, evaluation_id)
            if row is None:
                raise NoSuchEvaluation(
                    Text("no evaluation %(evaluation_id)s", evaluation_id=evaluation_id), evaluation=evaluation_id
                )
            return row

    def update_evaluation(self, evaluation_id: int, **fields: Any) -> QaEvaluation:
        with self._write() as s:
            row = s.get(QaEvaluation, evaluation_id)
            if row is None:
                raise NoSuchEvaluation(
                    Text("no evaluation %(evaluation_id)s", evaluation_id=evaluation_id), evaluation=evaluation_id
                )
            for key, value in fields.items():
                setattr(row, key, value)
            s.add(row)
            return row

    def evaluations(
        self,
        *,
        agent: str | None = None,
        grid_id: int | None = None,
        recording_id: int | None = None,
        since: datetime | None = None,
        limit: int = 200,
    ) -> list[QaEvaluation]:
        query = select(QaEvaluation)
        if agent:
            query = query.where(QaEvaluation.agent == agent)
        if grid_id is not None:
            query = query.where(QaEvaluation.grid_id == grid_id)
        if recording_id is not None:
            query = query.where(QaEvaluation.recording_id == recording_id)
        if since is not None:
            query = query.where(QaEvaluation.created_at >= since)
        with self.db.read_session() as s:
            return list(
                s.exec(query.order_by(col(QaEvaluation.created_at).desc(), col(QaEvaluation.id).desc()).limit(limit))
            )

    def score_rows(self, since: datetime | None = None) -> list[tuple[str, int, str, float, bool, str]]:
        """(agent, grid id, grid name, score, fatal, queue) of every evaluation (since a date)."""
        query = select(
            QaEvaluation.agent,
            QaEvaluation.grid_id,
            QaGrid.name,
            QaEvaluation.score,
            QaEvaluation.fatal,
            QaEvaluation.queue,
        ).join(QaGrid, QaGrid.id == QaEvaluation.grid_id)
        if since is not None:
            query = query.where(QaEvaluation.created_at >= since)
        with self.db.read_session() as s:
            return [tuple(r) for r in s.exec(query)]
