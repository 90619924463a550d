"""The audit log in the database: append-only, each entry chained to the one before it
(capabilities/audit/model.py has the rules; this module only reads and writes rows).

Appending is serialised so that two processes writing at once still make one chain: the
transaction that reads the last entry and inserts the next holds a lock until it commits
(``pg_advisory_xact_lock`` on PostgreSQL; on SQLite every write transaction starts with
``BEGIN IMMEDIATE``, which takes the database's write lock at once). Ids are taken inside that
lock, so id order is chain order.

There is no update and no delete here. The one rewrite is a GDPR erasure (adapters/db/erasure.py):
the person's number and name leave the entries that mention them, then `rechain` recomputes the
hashes from the first redacted entry on, in the same transaction and under the same lock, and the
erasure's own entry says how many it redacted. A chain already broken is not laundered by it:
only the entries before the first broken one are re-chained.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, text
from sqlmodel import Session, col, select

from ...capabilities.audit.model import (
    CLIENT_ADDRESS,
    GENESIS,
    Filters,
    Link,
    Verdict,
    chained,
    normalise_address,
    verify_chain,
)
from ...core.clock import Clock, SystemClock
from .database import Database
from .tables import AuditEntry

# any constant, distinct from the migrations' lock: the key of the audit chain's advisory lock
_PG_AUDIT_LOCK = 0x61756469745F6C67  # "audit_lg"
_BATCH = 1000


def lock_chain(session: Session, dialect: str) -> None:
    """Hold the chain's lock until this transaction ends (SQLite: already held, see above)."""
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_AUDIT_LOCK})


def link_of(entry: AuditEntry) -> Link:
    return Link(
        id=entry.id or 0,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        details=entry.details,
        client_address=entry.client_address,
        prev_hash=entry.prev_hash,
        entry_hash=entry.entry_hash,
    )


def _stamp(entry: AuditEntry, link: Link) -> None:
    entry.prev_hash, entry.entry_hash = link.prev_hash, link.entry_hash


def _iter_entries(session: Session, first_id: int = 0) -> Iterator[AuditEntry]:
    """Every entry from `first_id` on, in id order, read in batches (the log can be long)."""
    after = first_id - 1
    while True:
        batch = session.exec(
            select(AuditEntry).where(AuditEntry.id > after).order_by(col(AuditEntry.id)).limit(_BATCH)
        ).all()
        if not batch:
            return
        yield from batch
        after = batch[-1].id


def _seal_legacy(session: Session) -> int:
    """Chain the entries written before the chain existed, if no entry is chained yet (then every
    unchained entry is a legacy one; after that, an unchained entry is a forgery, left to
    `verify` to name, never sealed)."""
    if session.exec(select(AuditEntry.id).where(AuditEntry.entry_hash != "").limit(1)).first() is not None:
        return 0
    prev, count = GENESIS, 0
    for entry in _iter_entries(session):
        placed = chained(link_of(entry), prev)
        _stamp(entry, placed)
        session.add(entry)
        prev, count = placed.entry_hash, count + 1
    return count


def rechain(session: Session, dialect: str, first_id: int, rewrite: Callable[[AuditEntry], bool]) -> int:
    """Rewrite entries from `first_id` on (`rewrite` changes one in place and says whether it did)
    and re-chain them; returns how many were rewritten. Entries from the first one that was
    already broken on are rewritten but not re-chained: the break stays where it was."""
    lock_chain(session, dialect)
    before = session.exec(
        select(AuditEntry).where(AuditEntry.id < first_id).order_by(col(AuditEntry.id).desc()).limit(1)
    ).first()
    entries = builtins.list(_iter_entries(session, first_id))
    verdict = verify_chain((link_of(e) for e in entries), after=link_of(before) if before else None)
    stop = verdict.broken.id if verdict.broken else None
    prev = before.entry_hash if before is not None else GENESIS
    changed = 0
    for entry in entries:
        if rewrite(entry):
            changed += 1
        if (stop is None or entry.id < stop) and entry.entry_hash and prev:
            placed = chained(link_of(entry), prev)
            _stamp(entry, placed)
            prev = placed.entry_hash
        session.add(entry)
    return changed


class AuditLog:
    """Who did what to what, from where: the `AuditTrail` port, plus search and verification."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def record(self, actor: str, action: str, target: str = "", **details: Any) -> AuditEntry:
        """Append that `actor` (a username, or ``system``) did `action` (``user.create``...) to
        `target`; `details` must be JSON-serialisable (other values are stored as strings). The
        client address is the one of the web request being served (model.CLIENT_ADDRESS), else a
        ``remote`` detail; the time never goes back before the previous entry's."""
        address = normalise_address(CLIENT_ADDRESS.get() or str(details.get("remote") or ""))
        with self.db.write_session() as session:
            lock_chain(session, self.db.dialect)
            last = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(1)).first()
            if last is not None and not last.entry_hash and _seal_legacy(session):
                session.flush()
            now = self.clock.now()
            entry = AuditEntry(
                at=max(now, last.at) if last is not None else now,
                actor=str(actor)[:64],
                action=str(action)[:64],
                target=str(target)[:255],
                details=json.dumps(details, default=str, sort_keys=True),
                client_address=address,
            )
            session.add(entry)
            session.flush()  # the id, taken under the lock
            _stamp(entry, chained(link_of(entry), last.entry_hash if last is not None else GENESIS))
            session.add(entry)
        return entry

    def seal(self) -> int:
        """Chain the entries from before the chain (migration 0013); how many. Run at start."""
        with self.db.write_session() as session:
            lock_chain(session, self.db.dialect)
            return _seal_legacy(session)

    def verify(self) -> Verdict:
        """The chain checked from the first entry to the last (read in batches)."""
        with self.db.read_session() as session:
            return verify_chain(link_of(e) for e in _iter_entries(session))

    # --- reading ---------------------------------------------------------------------------

    @staticmethod
    def _where(query, filters: Filters):
        if filters.actor:
            query = query.where(AuditEntry.actor == filters.actor)
        if filters.action:
            query = query.where(
                or_(
                    AuditEntry.action == filters.action,
                    col(AuditEntry.action).startswith(filters.action + ".", autoescape=True),
                )
            )
        if filters.target:
            query = query.where(AuditEntry.target == filters.target)
        if filters.since is not None:
            query = query.where(AuditEntry.at >= filters.since)
        if filters.until is not None:
            query = query.where(AuditEntry.at < filters.until)
        if filters.text:
            query = query.where(
                or_(
                    col(AuditEntry.target).icontains(filters.text, autoescape=True),
                    col(AuditEntry.details).icontains(filters.text, autoescape=True),
                    col(AuditEntry.actor).icontains(filters.text, autoescape=True),
                    col(AuditEntry.client_address).icontains(filters.text, autoescape=True),
                )
            )
        return query

    def search(self, filters: Filters, *, limit: int = 50, offset: int = 0) -> builtins.list[AuditEntry]:
        """Entries newest first."""
        query = self._where(select(AuditEntry), filters)
        query = query.order_by(col(AuditEntry.id).desc()).limit(limit).offset(offset)
        with self.db.read_session() as session:
            return builtins.list(session.exec(query).all())

    def count(self, filters: Filters) -> int:
        with self.db.read_session() as session:
            return session.exec(self._where(select(func.count()).select_from(AuditEntry), filters)).one()

    def export(self, filters: Filters) -> Iterator[Link]:
        """Every matching entry, oldest first, read in batches (a CSV export of any size)."""
        after = 0
        while True:
            query = self._where(select(AuditEntry).where(AuditEntry.id > after), filters)
            with self.db.read_session() as session:
                batch = session.exec(query.order_by(col(AuditEntry.id)).limit(_BATCH)).all()
            if not batch:
                return
            yield from (link_of(e) for e in batch)
            after = batch[-1].id or after

    def list(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[AuditEntry]:
        """Entries newest first, filtered by the given fields (exact `action`; `since` inclusive,
        `until` exclusive): the older callers' shape of `search`."""
        query = select(AuditEntry)
        if actor is not None:
            query = query.where(AuditEntry.actor == actor)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        if target is not None:
            query = query.where(AuditEntry.target == target)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        if until is not None:
            query = query.where(AuditEntry.at < until)
        query = query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc()).limit(limit).offset(offset)
        with self.db.read_session() as session:
            return builtins.list(session.exec(query).all())
