"""Database access for the dialplans capability: versions of the admins' files and their
deployments on the live Asterisk (0017_dialplan_versions)."""

from __future__ import annotations

import json

from sqlmodel import col, select

from ...capabilities.dialplans.errors import NoSuchVersion
from ...capabilities.dialplans.model import Deployment, Version
from ...core.clock import Clock, SystemClock
from ...core.text import Text
from .database import Database
from .tables import DialplanDeployment, DialplanVersion

# the name of the DatabaseLock (locks.py) every process takes around a dialplan apply
DIALPLAN_APPLY_LOCK = "dialplan-apply"


def _version(row: DialplanVersion) -> Version:
    assert row.id is not None
    return Version(
        id=row.id, created_at=row.created_at, author=row.author, comment=row.comment, files=json.loads(row.files)
    )


def _deployment(row: DialplanDeployment) -> Deployment:
    assert row.id is not None
    return Deployment(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        version_id=row.version_id,
        previous_version_id=row.previous_version_id,
        outcome=row.outcome,
        comment=row.comment,
        detail=row.detail,
        seconds=row.seconds,
    )


class DialplanRepository:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def add_version(self, files: dict[str, str], author: str, comment: str) -> Version:
        row = DialplanVersion(
            created_at=self.clock.now(), author=author, comment=comment, files=json.dumps(files, sort_keys=True)
        )
        with self.db.session() as s:
            s.add(row)
            s.flush()
            return _version(row)

    def version(self, version_id: int) -> Version:
        with self.db.read_session() as s:
            row = s.get(DialplanVersion, version_id)
            if row is None:
                raise NoSuchVersion(
                    Text("no dialplan version %(version_id)s", version_id=version_id),
                    field="version",
                    version=version_id,
                )
            return _version(row)

    def versions(self) -> list[Version]:
        with self.db.read_session() as s:
            return [_version(r) for r in s.exec(select(DialplanVersion).order_by(col(DialplanVersion.id).desc()))]

    def add_deployment(
        self,
        *,
        actor: str,
        action: str,
        version_id: int,
        previous_version_id: int | None,
        outcome: str,
        comment: str = "",
        detail: str = "",
        seconds: float = 0.0,
    ) -> Deployment:
        row = DialplanDeployment(
            at=self.clock.now(),
            actor=actor,
            action=action,
            version_id=version_id,
            previous_version_id=previous_version_id,
            outcome=outcome,
            comment=comment,
            detail=detail,
            seconds=seconds,
        )
        with self.db.session() as s:
            s.add(row)
            s.flush()
            return _deployment(row)

    def deployments(self, limit: int = 200) -> list[Deployment]:
        with self.db.read_session() as s:
            rows = s.exec(select(DialplanDeployment).order_by(col(DialplanDeployment.id).desc()).limit(limit))
            return [_deployment(r) for r in rows]

    def running_version_id(self) -> int | None:
        with self.db.read_session() as s:
            row = s.exec(
                select(DialplanDeployment.version_id)
                .where(DialplanDeployment.outcome == "applied")
                .order_by(col(DialplanDeployment.id).desc())
                .limit(1)
            ).first()
            return row
