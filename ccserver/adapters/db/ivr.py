"""Database access for the IVR: the per-day counters of `ivr_stats` (migration 0005).

Synchronous, one short transaction per call: use through ``asyncio.to_thread``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlmodel import select

from .database import Database
from .tables import IvrStat

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
