"""Database access for the IVR: the per-day counters of `ivr_stats` (migration 0005) and the
stored script versions, `ivr_script_versions` and `ivr_active_scripts` (migration 0014).

Synchronous, one short transaction per call: use through ``asyncio.to_thread``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select

from ...capabilities.ivr.errors import NoSuchIvrVersion
from ...capabilities.ivr.model import VERSION_ORIGINS, ScriptVersion, content_checksum
from ...core.errors import Conflict
from ...core.text import Text
from .database import Database
from .tables import IvrActiveScript, IvrScriptVersion, IvrStat

# (script, version, node, counter) -> value; node "" holds the script-level counters
CounterKey = tuple[str, str, str, str]

_UPSERT = text(
    "INSERT INTO ivr_stats (day, script, version, node, counter, value, updated_at) "
    "VALUES (:day, :script, :version, :node, :counter, :value, :updated_at) "
    "ON CONFLICT (day, script, version, node, counter) "
    "DO UPDATE SET value = ivr_stats.value + excluded.value, updated_at = excluded.updated_at"
)

_LIMITS = (100, 64, 100, 100)


def _fit(key: CounterKey) -> CounterKey:
    return tuple(part[:limit] for part, limit in zip(key, _LIMITS))  # type: ignore[return-value]


class IvrStatsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, deltas: dict[CounterKey, int], at: datetime) -> int:
        """Add each delta to its counter for the UTC day of `at` (created at 0 when new).
        Returns the number of counters written."""
        at = at.astimezone(UTC)
        rows = [
            {
                "day": at.date().isoformat(),
                "script": s,
                "version": v,
                "node": n,
                "counter": c,
                "value": value,
                "updated_at": at.replace(tzinfo=None),
            }
            for (s, v, n, c), value in ((_fit(k), value) for k, value in deltas.items())
            if value
        ]
        if not rows:
            return 0
        with self.db.engine.begin() as conn:
            conn.execute(_UPSERT, rows)
        return len(rows)

    def totals(
        self, script: str | None = None, since: str | None = None, until: str | None = None
    ) -> dict[CounterKey, int]:
        """Counters summed over days (`since`/`until`: ISO dates, inclusive)."""
        with self.db.read_session() as session:
            query = select(IvrStat)
            if script is not None:
                query = query.where(IvrStat.script == script)
            if since is not None:
                query = query.where(IvrStat.day >= since)
            if until is not None:
                query = query.where(IvrStat.day <= until)
            out: dict[CounterKey, int] = {}
            for row in session.exec(query):
                key = (row.script, row.version, row.node, row.counter)
                out[key] = out.get(key, 0) + row.value
            return out

    def rows(self, script: str | None = None) -> list[IvrStat]:
        with self.db.read_session() as session:
            query = select(IvrStat).order_by(
                IvrStat.day, IvrStat.script, IvrStat.version, IvrStat.node, IvrStat.counter
            )
            if script is not None:
                query = query.where(IvrStat.script == script)
            return list(session.exec(query))


def merge_counters(*parts: Iterable[tuple[CounterKey, int]]) -> dict[CounterKey, int]:
    out: dict[CounterKey, int] = {}
    for part in parts:
        for key, value in part:
            out[key] = out.get(key, 0) + value
    return out


def _version(row: IvrScriptVersion, active: int | None) -> ScriptVersion:
    return ScriptVersion(
        script=row.script,
        number=row.number,
        content=row.content,
        checksum=row.checksum,
        author=row.author,
        created_at=row.created_at,
        origin=row.origin,
        label=row.label,
        file=row.file,
        comment=row.comment,
        rollback_of=row.rollback_of,
        active=row.number == active,
    )


ADD_ATTEMPTS = 5


class IvrVersionRepository:
    """The `ScriptVersionStore` of the IVR on the database: versions are only ever added; the
    active pointer (one row per script) moves in the same transaction as the version it names."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self,
        *,
        script: str,
        content: str,
        author: str,
        origin: str,
        at: datetime,
        label: str = "",
        file: str = "",
        comment: str = "",
        rollback_of: int | None = None,
        activate: bool = True,
    ) -> ScriptVersion:
        """Store a new version numbered after the script's last one. Two writers racing for the
        same number are serialised (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped
        advisory lock per script); should one still fail on the unique (script, number), it is
        retried with the next number (up to `ADD_ATTEMPTS` times)."""
        if origin not in VERSION_ORIGINS:
            raise ValueError(
                Text("origin must be one of %(value)s, not %(origin)r", value=", ".join(VERSION_ORIGINS), origin=origin)
            )
        for attempt in range(ADD_ATTEMPTS):
            try:
                with self.db.write_session() as s:
                    self._serialize(s, script)
                    last = s.exec(
                        select(func.max(IvrScriptVersion.number)).where(IvrScriptVersion.script == script)
                    ).one()
                    row = IvrScriptVersion(
                        script=script,
                        number=(last or 0) + 1,
                        label=label[:64],
                        file=file[:200],
                        content=content,
                        checksum=content_checksum(content),
                        author=author[:64],
                        comment=comment[:500],
                        origin=origin,
                        rollback_of=rollback_of,
                        created_at=at,
                    )
                    s.add(row)
                    if activate:
                        self._point(s, script, row.number, author, at)
                    s.flush()
                    return _version(row, row.number if activate else self._active_number(s, script))
            except IntegrityError:
                if attempt == ADD_ATTEMPTS - 1:
                    raise Conflict(
                        Text("another version of %(script)r was stored at the same time", script=script), script=script
                    ) from None
        raise AssertionError("unreachable")

    @staticmethod
    def _serialize(s, script: str) -> None:
        if s.get_bind().dialect.name == "postgresql":
            s.connection().execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"ivr:{script}"})

    @staticmethod
    def _point(s, script: str, number: int, actor: str, at: datetime) -> None:
        pointer = s.exec(select(IvrActiveScript).where(IvrActiveScript.script == script)).first()
        if pointer is None:
            pointer = IvrActiveScript(script=script, number=number, activated_by=actor[:64], activated_at=at)
        else:
            pointer.number, pointer.activated_by, pointer.activated_at = number, actor[:64], at
        s.add(pointer)

    @staticmethod
    def _active_number(s, script: str) -> int | None:
        return s.exec(select(IvrActiveScript.number).where(IvrActiveScript.script == script)).first()

    def set_active(self, script: str, number: int, actor: str, at: datetime) -> None:
        with self.db.write_session() as s:
            self._serialize(s, script)
            exists = s.exec(
                select(IvrScriptVersion.id).where(IvrScriptVersion.script == script, IvrScriptVersion.number == number)
            ).first()
            if exists is None:
                raise NoSuchIvrVersion(
                    Text("%(script)r has no version %(number)s", script=script, number=number),
                    script=script,
                    version=number,
                )
            self._point(s, script, number, actor, at)

    def versions(self, script: str) -> list[ScriptVersion]:
        with self.db.read_session() as s:
            active = self._active_number(s, script)
            rows = s.exec(
                select(IvrScriptVersion).where(IvrScriptVersion.script == script).order_by(IvrScriptVersion.number)
            )
            return [_version(row, active) for row in rows]

    def version(self, script: str, number: int) -> ScriptVersion | None:
        with self.db.read_session() as s:
            row = s.exec(
                select(IvrScriptVersion).where(IvrScriptVersion.script == script, IvrScriptVersion.number == number)
            ).first()
            return None if row is None else _version(row, self._active_number(s, script))

    def active_versions(self) -> list[ScriptVersion]:
        with self.db.read_session() as s:
            rows = s.exec(
                select(IvrScriptVersion)
                .join(
                    IvrActiveScript,
                    (IvrActiveScript.script == IvrScriptVersion.script)
                    & (IvrActiveScript.number == IvrScriptVersion.number),
                )
                .order_by(IvrScriptVersion.script)
            )
            return [_version(row, row.number) for row in rows]

    def active_numbers(self) -> dict[str, int]:
        with self.db.read_session() as s:
            return dict(s.exec(select(IvrActiveScript.script, IvrActiveScript.number)).all())

    def knows(self, script: str, checksum: str) -> bool:
        with self.db.read_session() as s:
            return (
                s.exec(
                    select(IvrScriptVersion.id).where(
                        IvrScriptVersion.script == script, IvrScriptVersion.checksum == checksum
                    )
                ).first()
                is not None
            )
