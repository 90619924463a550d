"""Database access for outbound campaigns: campaigns, contact imports, contacts, attempts, the
compliance decisions (the proof), the consent ledger, the do-not-call list, Bloctel lists.

Synchronous, one short transaction per method (call through ``asyncio.to_thread``); a contact
import is committed in one transaction, so it lands whole or not at all.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from ...capabilities.outbound.errors import NoSuchAttempt, NoSuchCampaign, NoSuchContact, NoSuchImport
from ...core.errors import Conflict
from ...core.text import Text
from .database import Database
from .tables import (
    CampaignWrapupCode,
    ComplianceDecision,
    ConsentEntry,
    DncNumber,
    OppositionListEntry,
    OutboundAttempt,
    OutboundCampaign,
    OutboundCampaignAgent,
    OutboundContact,
    OutboundImport,
)

BATCH = 1000  # rows per INSERT / IN (...) list


CAMPAIGN_FIELDS = (
    "description",
    "language",
    "mode",
    "caller_ids",
    "amd",
    "abandon_cap_permille",
    "ring_seconds",
    "max_attempts",
    "retry_busy_minutes",
    "retry_no_answer_minutes",
    "retry_machine_minutes",
    "retry_abandoned_minutes",
    "retry_congestion_minutes",
    "abandon_message",
    "machine_message",
)


def _chunks(items: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class OutboundRepository:
    def __init__(self, db: Database, *, number_hash: Callable[[int], str] | None = None) -> None:
        self.db = db
        # the keyed hash of an NSN (privacy.ErasureService.hash_of): do-not-call entries whose
        # person was erased keep only that hash, and must still match their number
        self.number_hash = number_hash

    def _insert(self, table):
        return postgresql.insert(table) if self.db.dialect == "postgresql" else sqlite.insert(table)

    # --- campaigns -------------------------------------------------------------------------------
    def create_campaign(self, name: str, values: dict[str, Any], created_by: str, now: datetime) -> OutboundCampaign:
        row = OutboundCampaign(
            name=name,
            created_by=created_by,
            created_at=now,
            updated_at=now,
            **{k: v for k, v in values.items() if k in CAMPAIGN_FIELDS},
        )
        try:
            with self.db.write_session() as session:
                session.add(row)
        except IntegrityError:
            raise Conflict(
                Text("a campaign named %(name)r exists already", name=name), field="name", value=name
            ) from None
        return row

    def campaign(self, campaign_id: int) -> OutboundCampaign:
        with self.db.read_session() as session:
            row = session.get(OutboundCampaign, campaign_id)
        if row is None:
            raise NoSuchCampaign(Text("no campaign %(campaign_id)s", campaign_id=campaign_id), campaign_id=campaign_id)
        return row

    def campaigns(self, statuses: Iterable[str] | None = None) -> list[OutboundCampaign]:
        query = select(OutboundCampaign).order_by(OutboundCampaign.id)
        if statuses is not None:
            query = query.where(col(OutboundCampaign.status).in_(list(statuses)))
        with self.db.read_session() as session:
            return list(session.exec(query).all())

    def update_campaign(self, campaign_id: int, changes: dict[str, Any], now: datetime) -> OutboundCampaign:
        with self.db.write_session() as session:
            row = session.get(OutboundCampaign, campaign_id)
            if row is None:
                raise NoSuchCampaign(
                    Text("no campaign %(campaign_id)s", campaign_id=campaign_id), campaign_id=campaign_id
                )
            for key, value in changes.items():
                setattr(row, key, value)
            row.updated_at = now
            session.add(row)
        return row

    def campaign_agents(self, campaign_id: int) -> list[str]:
        with self.db.read_session() as session:
            rows = session.exec(
                select(OutboundCampaignAgent.username)
                .where(OutboundCampaignAgent.campaign_id == campaign_id)
                .order_by(OutboundCampaignAgent.username)
            ).all()
        return list(rows)

    def wrapup_codes(self, campaign_id: int) -> list[str]:
        """The campaign's wrap-up codes (an admin defines them: /admin/callcenter)."""
        with self.db.read_session() as session:
            rows = session.exec(
                select(CampaignWrapupCode.code)
                .where(CampaignWrapupCode.campaign_id == campaign_id)
                .order_by(CampaignWrapupCode.id)
            )
            return list(rows)

    def campaigns_of_agent(self, username: str) -> list[int]:
        with self.db.read_session() as session:
            return list(
                session.exec(
                    select(OutboundCampaignAgent.campaign_id).where(OutboundCampaignAgent.username == username)
                ).all()
            )

    def set_campaign_agents(self, campaign_id: int, usernames: Iterable[str]) -> list[str]:
        wanted = sorted(set(usernames))
        with self.db.write_session() as session:
            if session.get(OutboundCampaign, campaign_id) is None:
                raise NoSuchCampaign(
                    Text("no campaign %(campaign_id)s", campaign_id=campaign_id), campaign_id=campaign_id
                )
            current = {
                r.username: r
                for r in session.exec(
                    select(OutboundCampaignAgent).where(OutboundCampaignAgent.campaign_id == campaign_id)
                )
            }
            for name, row in current.items():
                if name not in wanted:
                    session.delete(row)
            for name in wanted:
                if name not in current:
                    session.add(OutboundCampaignAgent(campaign_id=campaign_id, username=name))
        return wanted

    # --- imports ---------------------------------------------------------------------------------
    def existing_numbers(self, campaign_id: int) -> dict[int, str]:
        """nsn -> description of the contacts a campaign already has (duplicates in a new file)."""
        with self.db.read_session() as session:
            rows = session.exec(
                select(
                    OutboundContact.nsn, OutboundContact.id, OutboundContact.import_id, OutboundContact.source_line
                ).where(OutboundContact.campaign_id == campaign_id)
            ).all()
        return {
            nsn: (f"line {line} of import {imp}" if imp and line else f"contact {cid}") for nsn, cid, imp, line in rows
        }

    def create_import(
        self,
        campaign_id: int,
        filename: str,
        encoding: str,
        total_lines: int,
        accepted: int,
        rejected: int,
        report: dict,
        payload: list,
        created_by: str,
        now: datetime,
    ) -> OutboundImport:
        row = OutboundImport(
            campaign_id=campaign_id,
            filename=filename[:255],
            encoding=encoding,
            total_lines=total_lines,
            accepted=accepted,
            rejected=rejected,
            report=json.dumps(report, ensure_ascii=False),
            payload=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
            created_by=created_by,
            created_at=now,
        )
        with self.db.write_session() as session:
            session.add(row)
        row.payload = ""  # not kept in memory
        return row

    def get_import(self, import_id: int, with_payload: bool = False) -> OutboundImport:
        with self.db.read_session() as session:
            row = session.get(OutboundImport, import_id)
        if row is None:
            raise NoSuchImport(Text("no import %(import_id)s", import_id=import_id), import_id=import_id)
        if not with_payload:
            row.payload = ""
        return row

    def imports(self, campaign_id: int) -> list[OutboundImport]:
        with self.db.read_session() as session:
            rows = list(
                session.exec(
                    select(OutboundImport)
                    .where(OutboundImport.campaign_id == campaign_id)
                    .order_by(col(OutboundImport.id).desc())
                ).all()
            )
        for row in rows:
            row.payload = ""
        return rows

    def commit_import(
        self,
        import_id: int,
        campaign_id: int,
        rows: list[Any],
        now: datetime,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[int, int]:
        """Insert the previewed contacts (imports.ContactRow) in ONE transaction; (inserted,
        skipped as duplicates of contacts added meanwhile). Refused unless the import is still a
        preview."""
        contacts = [contact_values(r, campaign_id, import_id, now) for r in rows]
        with self.db.write_session() as session:
            guard = session.exec(
                update(OutboundImport)
                .where(OutboundImport.id == import_id, OutboundImport.status == "preview")
                .values(status="committed", committed_at=now, payload="[]")
            )
            if guard.rowcount != 1:
                row = session.get(OutboundImport, import_id)
                if row is None:
                    raise NoSuchImport(Text("no import %(import_id)s", import_id=import_id), import_id=import_id)
                raise Conflict(
                    Text(
                        "import %(import_id)s is %(status)s, not a preview: nothing done",
                        import_id=import_id,
                        status=row.status,
                    ),
                    import_id=import_id,
                    status=row.status,
                )
            # one statement executed for many rows; with RETURNING, SQLAlchemy sends them as
            # multi-row INSERTs ("insertmanyvalues") on both databases, and the ids returned
            # are the rows really inserted (not the duplicates ON CONFLICT skipped)
            stmt = (
                self._insert(OutboundContact.__table__)
                .on_conflict_do_nothing(index_elements=["campaign_id", "nsn"])
                .returning(OutboundContact.__table__.c.id)
            )
            connection = session.connection()
            done = inserted = 0
            for batch in _chunks(contacts, 5000):
                inserted += len(connection.execute(stmt, batch).all())
                done += len(batch)
                if progress is not None:
                    progress(done, len(contacts))
            skipped = len(contacts) - inserted
        return inserted, skipped

    def cancel_import(self, import_id: int) -> None:
        with self.db.write_session() as session:
            result = session.exec(
                update(OutboundImport)
                .where(OutboundImport.id == import_id, OutboundImport.status == "preview")
                .values(status="cancelled", payload="[]")
            )
            if result.rowcount != 1:
                row = session.get(OutboundImport, import_id)
                if row is None:
                    raise NoSuchImport(Text("no import %(import_id)s", import_id=import_id), import_id=import_id)
                raise Conflict(
                    Text("import %(import_id)s is %(status)s", import_id=import_id, status=row.status),
                    import_id=import_id,
                )

    # --- contacts --------------------------------------------------------------------------------
    def contact(self, contact_id: int) -> OutboundContact:
        with self.db.read_session() as session:
            row = session.get(OutboundContact, contact_id)
        if row is None:
            raise NoSuchContact(Text("no contact %(contact_id)s", contact_id=contact_id), contact_id=contact_id)
        return row

    def contacts(
        self, campaign_id: int, *, status: str | None = None, search: str = "", offset: int = 0, limit: int = 100
    ) -> tuple[list[OutboundContact], int]:
        where = [OutboundContact.campaign_id == campaign_id]
        if status:
            where.append(OutboundContact.status == status)
        if search:
            like = f"%{search}%"
            where.append(or_(col(OutboundContact.number).like(like), col(OutboundContact.name).ilike(like)))
        with self.db.read_session() as session:
            total = session.exec(select(func.count()).select_from(OutboundContact).where(*where)).one()
            rows = list(
                session.exec(
                    select(OutboundContact).where(*where).order_by(OutboundContact.id).offset(offset).limit(limit)
                ).all()
            )
        return rows, int(total)

    def contacts_by_nsn(self, nsn: int) -> list[OutboundContact]:
        with self.db.read_session() as session:
            return list(session.exec(select(OutboundContact).where(OutboundContact.nsn == nsn)).all())

    def contact_counts(self, campaign_id: int) -> dict[str, int]:
        with self.db.read_session() as session:
            rows = session.exec(
                select(OutboundContact.status, func.count())
                .where(OutboundContact.campaign_id == campaign_id)
                .group_by(OutboundContact.status)
            ).all()
        return {status: int(n) for status, n in rows}

    def campaign_areas(self, campaign_id: int) -> tuple[set[str], bool]:
        """Areas of the contacts still to call, and whether some may be called outside hours."""
        with self.db.read_session() as session:
            areas = session.exec(
                select(OutboundContact.area)
                .distinct()
                .where(
                    OutboundContact.campaign_id == campaign_id, col(OutboundContact.status).in_(["pending", "callback"])
                )
            ).all()
            outside = session.exec(
                select(func.count())
                .select_from(OutboundContact)
                .where(
                    OutboundContact.campaign_id == campaign_id,
                    col(OutboundContact.status).in_(["pending", "callback"]),
                    OutboundContact.outside_hours_consent == True,
                )
            ).one()
        return set(areas), bool(outside)

    def due_contacts(
        self,
        campaign_id: int,
        now: datetime,
        areas: Iterable[str],
        limit: int,
        *,
        outside_hours: bool = True,
        agent: str | None = None,
    ) -> list[OutboundContact]:
        """Contacts to call now: pending and due (or an agent's callbacks), in an open area or
        with consent to calls outside the legal hours; oldest due first."""
        area_list = list(areas)
        where_area = col(OutboundContact.area).in_(area_list) if area_list else None
        reachable = where_area
        if outside_hours:
            clause = OutboundContact.outside_hours_consent == True
            reachable = clause if where_area is None else or_(where_area, clause)
        if reachable is None:
            return []
        if agent is None:
            status_clause = OutboundContact.status == "pending"
        else:
            status_clause = or_(
                OutboundContact.status == "pending",
                and_(OutboundContact.status == "callback", OutboundContact.callback_agent == agent),
            )
        query = (
            select(OutboundContact)
            .where(
                OutboundContact.campaign_id == campaign_id,
                status_clause,
                OutboundContact.next_attempt_at <= now,
                reachable,
            )
            .order_by(OutboundContact.next_attempt_at, OutboundContact.id)
            .limit(limit)
        )
        with self.db.read_session() as session:
            rows = list(session.exec(query).all())
        if agent is not None:  # the agent's own callbacks first
            rows.sort(key=lambda c: (c.status != "callback", c.next_attempt_at, c.id))
        return rows

    def due_callbacks(self, now: datetime) -> list[OutboundContact]:
        with self.db.read_session() as session:
            return list(
                session.exec(
                    select(OutboundContact).where(
                        OutboundContact.status == "callback", OutboundContact.next_attempt_at <= now
                    )
                ).all()
            )

    def claim_contact(
        self, contact_id: int, from_statuses: Iterable[str], to_status: str, now: datetime, **values: Any
    ) -> bool:
        """Atomically move a contact from one of `from_statuses` (several dialers, several
        agents: only one wins)."""
        with self.db.write_session() as session:
            result = session.exec(
                update(OutboundContact)
                .where(OutboundContact.id == contact_id, col(OutboundContact.status).in_(list(from_statuses)))
                .values(status=to_status, updated_at=now, **values)
            )
            return result.rowcount == 1

    def update_contact(self, contact_id: int, now: datetime, **values: Any) -> None:
        with self.db.write_session() as session:
            session.exec(
                update(OutboundContact).where(OutboundContact.id == contact_id).values(updated_at=now, **values)
            )

    def release_expired_reservations(self, now: datetime) -> int:
        with self.db.write_session() as session:
            result = session.exec(
                update(OutboundContact)
                .where(OutboundContact.status == "reserved", OutboundContact.reserved_until < now)
                .values(status="pending", reserved_by="", reserved_until=None, updated_at=now)
            )
            return result.rowcount

    def reset_dialing(self, now: datetime) -> int:
        """At start-up: contacts left 'dialing' by a stopped server go back to pending."""
        with self.db.write_session() as session:
            result = session.exec(
                update(OutboundContact)
                .where(OutboundContact.status == "dialing")
                .values(status="pending", updated_at=now)
            )
            return result.rowcount

    def unblock(
        self, now: datetime, rules: Iterable[str], nsn: int | None = None, campaign_id: int | None = None
    ) -> int:
        """Contacts blocked by one of `rules` are checked again (the facts changed)."""
        where = [OutboundContact.status == "blocked", col(OutboundContact.blocked_rule).in_(list(rules))]
        if nsn is not None:
            where.append(OutboundContact.nsn == nsn)
        if campaign_id is not None:
            where.append(OutboundContact.campaign_id == campaign_id)
        with self.db.write_session() as session:
            result = session.exec(
                update(OutboundContact)
                .where(*where)
                .values(status="pending", blocked_rule="", next_attempt_at=now, updated_at=now)
            )
            return result.rowcount

    def set_outside_hours(self, nsn_states: dict[int, bool], now: datetime) -> None:
        with self.db.write_session() as session:
            for state in (True, False):
                nsns = [n for n, s in nsn_states.items() if s is state]
                for batch in _chunks(nsns):
                    session.exec(
                        update(OutboundContact)
                        .where(col(OutboundContact.nsn).in_(batch))
                        .values(outside_hours_consent=state, updated_at=now)
                    )

    def campaign_nsns(self, campaign_id: int) -> list[tuple[int, int]]:
        with self.db.read_session() as session:
            return list(
                session.exec(
                    select(OutboundContact.id, OutboundContact.nsn).where(OutboundContact.campaign_id == campaign_id)
                ).all()
            )

    def apply_scrub(
        self, campaign_id: int, opposed_ids: list[int], kept_ids: list[int], scrubbed_at: datetime, now: datetime
    ) -> None:
        with self.db.write_session() as session:
            for ids, opposed in ((opposed_ids, True), (kept_ids, False)):
                for batch in _chunks(ids):
                    session.exec(
                        update(OutboundContact)
                        .where(col(OutboundContact.id).in_(batch))
                        .values(bloctel_opposed=opposed, bloctel_checked_at=scrubbed_at, updated_at=now)
                    )
            session.exec(
                update(OutboundCampaign)
                .where(OutboundCampaign.id == campaign_id)
                .values(bloctel_scrubbed_at=scrubbed_at, updated_at=now)
            )

    # --- attempts --------------------------------------------------------------------------------
    def create_attempt(self, **values: Any) -> OutboundAttempt:
        row = OutboundAttempt(**values)
        with self.db.write_session() as session:
            session.add(row)
        return row

    def update_attempt(self, attempt_id: int, **values: Any) -> None:
        with self.db.write_session() as session:
            session.exec(update(OutboundAttempt).where(OutboundAttempt.id == attempt_id).values(**values))

    def end_attempt(
        self,
        attempt_id: int,
        attempt_values: dict[str, Any],
        contact_id: int,
        contact_values: dict[str, Any],
        now: datetime,
    ) -> None:
        """An attempt's final state and its contact's next step, in ONE transaction."""
        with self.db.write_session() as session:
            if attempt_values:
                session.exec(update(OutboundAttempt).where(OutboundAttempt.id == attempt_id).values(**attempt_values))
            session.exec(
                update(OutboundContact).where(OutboundContact.id == contact_id).values(updated_at=now, **contact_values)
            )

    def attempt(self, attempt_id: int) -> OutboundAttempt:
        with self.db.read_session() as session:
            row = session.get(OutboundAttempt, attempt_id)
        if row is None:
            raise NoSuchAttempt(Text("no attempt %(attempt_id)s", attempt_id=attempt_id), attempt_id=attempt_id)
        return row

    def attempts_of_contact(self, contact_id: int) -> list[OutboundAttempt]:
        with self.db.read_session() as session:
            return list(
                session.exec(
                    select(OutboundAttempt).where(OutboundAttempt.contact_id == contact_id).order_by(OutboundAttempt.id)
                ).all()
            )

    def attempts(self, campaign_id: int, since: datetime | None = None, limit: int = 1000) -> list[OutboundAttempt]:
        where = [OutboundAttempt.campaign_id == campaign_id]
        if since is not None:
            where.append(OutboundAttempt.started_at >= since)
        with self.db.read_session() as session:
            return list(
                session.exec(
                    select(OutboundAttempt).where(*where).order_by(col(OutboundAttempt.id).desc()).limit(limit)
                ).all()
            )

    def history(
        self, nsns: Iterable[int], since: datetime, exclude_outcomes: Iterable[str]
    ) -> dict[int, list[tuple[datetime, bool]]]:
        """Past solicitations of each number by the company (all campaigns): (when, refused);
        refusals recorded in the consent ledger without an attempt count too."""
        nsn_list = list(set(nsns))
        out: dict[int, list[tuple[datetime, bool]]] = defaultdict(list)
        excluded = list(exclude_outcomes)
        with self.db.read_session() as session:
            for batch in _chunks(nsn_list):
                for nsn, started, refused in session.exec(
                    select(OutboundAttempt.nsn, OutboundAttempt.started_at, OutboundAttempt.refused).where(
                        col(OutboundAttempt.nsn).in_(batch),
                        OutboundAttempt.started_at >= since,
                        col(OutboundAttempt.outcome).not_in(excluded),
                    )
                ):
                    out[nsn].append((started, bool(refused)))
                for nsn, at in session.exec(
                    select(ConsentEntry.nsn, ConsentEntry.at).where(
                        col(ConsentEntry.nsn).in_(batch),
                        ConsentEntry.action == "refusal",
                        col(ConsentEntry.attempt_id).is_(None),
                        ConsentEntry.at >= since,
                    )
                ):
                    out[nsn].append((at, True))
        return out

    def outcome_counts(self, campaign_id: int, since: datetime | None = None) -> dict[str, int]:
        where = [OutboundAttempt.campaign_id == campaign_id]
        if since is not None:
            where.append(OutboundAttempt.started_at >= since)
        with self.db.read_session() as session:
            rows = session.exec(
                select(OutboundAttempt.outcome, func.count()).where(*where).group_by(OutboundAttempt.outcome)
            ).all()
        return {outcome: int(n) for outcome, n in rows}

    def open_attempts(self) -> list[OutboundAttempt]:
        with self.db.read_session() as session:
            return list(
                session.exec(
                    select(OutboundAttempt).where(
                        col(OutboundAttempt.outcome).in_(["dialing", "answered", "connected"])
                    )
                ).all()
            )

    # --- compliance decisions --------------------------------------------------------------------
    def store_decisions(self, rows: list[dict[str, Any]]) -> list[int]:
        objects = [ComplianceDecision(**values) for values in rows]
        with self.db.write_session() as session:
            session.add_all(objects)
        return [int(o.id) for o in objects]

    def link_decision(self, decision_id: int, attempt_id: int) -> None:
        with self.db.write_session() as session:
            session.exec(
                update(ComplianceDecision).where(ComplianceDecision.id == decision_id).values(attempt_id=attempt_id)
            )

    def decisions_of_contact(self, contact_id: int, limit: int = 200) -> list[ComplianceDecision]:
        with self.db.read_session() as session:
            return list(
                session.exec(
                    select(ComplianceDecision)
                    .where(ComplianceDecision.contact_id == contact_id)
                    .order_by(col(ComplianceDecision.id).desc())
                    .limit(limit)
                ).all()
            )

    def iter_decisions(
        self,
        *,
        campaign_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        number_nsn: int | None = None,
        batch: int = 2000,
    ) -> Iterator[list[ComplianceDecision]]:
        """Decisions in id order, a batch at a time (the export streams them)."""
        last = 0
        while True:
            where = [ComplianceDecision.id > last]
            if campaign_id is not None:
                where.append(ComplianceDecision.campaign_id == campaign_id)
            if since is not None:
                where.append(ComplianceDecision.at >= since)
            if until is not None:
                where.append(ComplianceDecision.at < until)
            if number_nsn is not None:
                where.append(ComplianceDecision.nsn == number_nsn)
            with self.db.read_session() as session:
                rows = list(
                    session.exec(
                        select(ComplianceDecision).where(*where).order_by(ComplianceDecision.id).limit(batch)
                    ).all()
                )
            if not rows:
                return
            yield rows
            last = rows[-1].id

    # --- consent ledger --------------------------------------------------------------------------
    def add_consents(self, entries: list[dict[str, Any]]) -> list[int]:
        rows = [ConsentEntry(**e) for e in entries]
        with self.db.write_session() as session:
            session.add_all(rows)
        return [int(r.id) for r in rows]

    def consent_entries(self, nsn: int) -> list[ConsentEntry]:
        with self.db.read_session() as session:
            return list(
                session.exec(
                    select(ConsentEntry).where(ConsentEntry.nsn == nsn).order_by(ConsentEntry.at, ConsentEntry.id)
                ).all()
            )

    def consent_state(self, nsns: Iterable[int], at: datetime) -> dict[int, dict[str, ConsentEntry]]:
        """For each number and scope, the last grant or revocation dated at or before `at`
        (the state in force at that moment)."""
        out: dict[int, dict[str, ConsentEntry]] = defaultdict(dict)
        with self.db.read_session() as session:
            for batch in _chunks(list(set(nsns))):
                rows = session.exec(
                    select(ConsentEntry)
                    .where(
                        col(ConsentEntry.nsn).in_(batch),
                        col(ConsentEntry.action).in_(["grant", "revoke"]),
                        ConsentEntry.at <= at,
                    )
                    .order_by(ConsentEntry.at, ConsentEntry.id)
                )
                for row in rows:
                    out[row.nsn][row.scope] = row
        return out

    def recent_consents(self, limit: int = 100) -> list[ConsentEntry]:
        with self.db.read_session() as session:
            return list(session.exec(select(ConsentEntry).order_by(col(ConsentEntry.id).desc()).limit(limit)).all())

    # --- company do-not-call list ----------------------------------------------------------------
    def dnc_add(self, numbers: list[tuple[int, str]], reason: str, source: str, added_by: str, now: datetime) -> int:
        values = [
            dict(nsn=nsn, number=number, reason=reason[:255], source=source[:64], added_by=added_by, added_at=now)
            for nsn, number in numbers
        ]
        count = select(func.count()).select_from(DncNumber)
        with self.db.write_session() as session:
            before = session.exec(count).one()
            stmt = self._insert(DncNumber.__table__).on_conflict_do_nothing(index_elements=["nsn"])
            connection = session.connection()
            for batch in _chunks(values, 5000):
                connection.execute(stmt, batch)
            return session.exec(count).one() - before

    def dnc_remove(self, nsn: int) -> bool:
        match = DncNumber.nsn == nsn
        if self.number_hash is not None:
            match = or_(match, DncNumber.number_hash == self.number_hash(nsn))
        with self.db.write_session() as session:
            rows = list(session.exec(select(DncNumber).where(match)))
            if not rows:
                return False
            for row in rows:
                session.delete(row)
        return True

    def dnc_members(self, nsns: Iterable[int]) -> set[int]:
        """The given numbers that are on the company's do-not-call list: by their NSN, or by
        the keyed hash an erased entry keeps."""
        wanted = list(set(nsns))
        found: set[int] = set()
        with self.db.read_session() as session:
            for batch in _chunks(wanted):
                found.update(session.exec(select(DncNumber.nsn).where(col(DncNumber.nsn).in_(batch))).all())
            if self.number_hash is None:
                return found
            hashed = set(session.exec(select(DncNumber.number_hash).where(DncNumber.number_hash != "")).all())
        if hashed:
            found.update(n for n in wanted if n not in found and n >= 0 and self.number_hash(n) in hashed)
        return found

    def dnc_list(self, offset: int = 0, limit: int = 100) -> tuple[list[DncNumber], int]:
        with self.db.read_session() as session:
            total = session.exec(select(func.count()).select_from(DncNumber)).one()
            rows = list(
                session.exec(select(DncNumber).order_by(col(DncNumber.id).desc()).offset(offset).limit(limit)).all()
            )
        return rows, int(total)

    # --- Bloctel lists ---------------------------------------------------------------------------
    def add_opposition_list(self, **values: Any) -> OppositionListEntry:
        row = OppositionListEntry(**values)
        with self.db.write_session() as session:
            previous = session.exec(
                select(OppositionListEntry).where(
                    OppositionListEntry.kind == row.kind,
                    OppositionListEntry.campaign_id == row.campaign_id
                    if row.campaign_id is not None
                    else col(OppositionListEntry.campaign_id).is_(None),
                    OppositionListEntry.active == True,
                )
            ).all()
            for old in previous:
                old.active = False
                session.add(old)
            session.add(row)
        return row

    def active_bloctel(self) -> OppositionListEntry | None:
        with self.db.read_session() as session:
            return session.exec(
                select(OppositionListEntry)
                .where(OppositionListEntry.kind == "bloctel", OppositionListEntry.active == True)
                .order_by(col(OppositionListEntry.id).desc())
            ).first()

    def opposition_lists(self, limit: int = 50) -> list[OppositionListEntry]:
        with self.db.read_session() as session:
            return list(
                session.exec(
                    select(OppositionListEntry).order_by(col(OppositionListEntry.id).desc()).limit(limit)
                ).all()
            )


def contact_values(row, campaign_id: int, import_id: int, now: datetime) -> dict[str, Any]:
    """Column values of a new contact from an import row (imports.ContactRow)."""
    return dict(
        campaign_id=campaign_id,
        nsn=row.nsn,
        number=row.number,
        name=row.name,
        postcode=row.postcode,
        area=row.area,
        timezone=row.timezone,
        area_source=row.area_source,
        fields=json.dumps(row.fields, ensure_ascii=False, sort_keys=True),
        contract=row.contract,
        outside_hours_consent=False,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        last_outcome="",
        blocked_rule="",
        callback_agent="",
        reserved_by="",
        import_id=import_id,
        source_line=row.line,
        created_at=now,
        updated_at=now,
    )
