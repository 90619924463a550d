"""The database side of a GDPR erasure: every table that can hold a person's number, name or
calls, changed in ONE transaction (all or nothing). Synchronous: call through
``asyncio.to_thread``.

Kept, without the person: call rows (times, queue, agent, outcome, durations: the statistics),
dial attempts (the abandon-rate and frequency counts), audit entries (redacted). Kept with only
the keyed hash of the number (the proof the law requires): do-not-call entries, the consent
ledger, compliance decisions. Deleted: the customer file, phones, tickets, history, recordings
rows, callbacks, campaign contacts, the person's lines in contact files kept for preview.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from sqlalchemy import delete, or_, update
from sqlmodel import col, select

from ...capabilities.privacy.model import Person
from ...capabilities.privacy.ports import ErasedPerson
from ...core.errors import NotFound
from ...core.text import Text
from .audit import lock_chain, rechain
from .database import Database
from .tables import (
    AuditEntry,
    Call,
    CallbackRequest,
    ComplianceDecision,
    ConsentEntry,
    Customer,
    CustomerPhone,
    DncNumber,
    Interaction,
    OutboundAttempt,
    OutboundContact,
    OutboundImport,
    QaEvaluation,
    Recording,
    Ticket,
)


class ErasureRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def customer(self, customer_id: int) -> tuple[list[str], list[str]]:
        """(phones E.164, full names and e-mail) of a customer; NotFound if there is none."""
        with self.db.read_session() as s:
            row = s.get(Customer, customer_id)
            if row is None:
                raise NotFound(Text("no customer %(customer_id)s", customer_id=customer_id), customer=customer_id)
            phones = [p.e164 for p in s.exec(select(CustomerPhone).where(CustomerPhone.customer_id == customer_id))]
            names = [
                f"{row.first_name} {row.last_name}".strip(),
                f"{row.last_name} {row.first_name}".strip(),
                row.email,
            ]
            return phones, names

    def contact_names(self, nsns: Iterable[int]) -> list[str]:
        """The names the person's numbers carry in campaign contacts (to find them elsewhere)."""
        nsns = list(nsns)
        if not nsns:
            return []
        with self.db.read_session() as s:
            return sorted(
                {c.name for c in s.exec(select(OutboundContact).where(col(OutboundContact.nsn).in_(nsns))) if c.name}
            )

    def erase(
        self, person: Person, hash_of: Callable[[int | str], str], live_uniqueids: Iterable[str] = ()
    ) -> ErasedPerson:
        """Everything in one transaction. `hash_of(nsn or E.164)` is the keyed hash kept in
        place of a number; `live_uniqueids` are the person's calls still in progress."""
        out = ErasedPerson()
        counts = out.counts
        forms = list(person.digit_forms)
        nsns = list(person.nsns)
        cid = person.customer_id
        # the hash kept for each NSN (French numbers) and E.164 (others)
        kept_hash = hash_of(nsns[0]) if nsns else (hash_of(person.numbers[0]) if person.numbers else "")
        with self.db.write_session() as s:
            if cid is not None and s.get(Customer, cid) is None:
                raise NotFound(Text("no customer %(cid)s", cid=cid), customer=cid)
            # --- the person's calls: by customer, number, callbacks, dial attempts, live calls
            uniqueids = {u for u in live_uniqueids if u}
            callback_match = [col(CallbackRequest.number).in_(forms)] if forms else []
            callbacks = list(s.exec(select(CallbackRequest).where(or_(*callback_match)))) if callback_match else []
            uniqueids |= {c.caller_uniqueid for c in callbacks if c.caller_uniqueid}
            contacts = list(s.exec(select(OutboundContact).where(col(OutboundContact.nsn).in_(nsns)))) if nsns else []
            contact_ids = [c.id for c in contacts]
            attempt_match = []
            if nsns:
                attempt_match.append(col(OutboundAttempt.nsn).in_(nsns))
            if contact_ids:
                attempt_match.append(col(OutboundAttempt.contact_id).in_(contact_ids))
            attempts = list(s.exec(select(OutboundAttempt).where(or_(*attempt_match)))) if attempt_match else []
            uniqueids |= {a.uniqueid for a in attempts if a.uniqueid}
            call_match = []
            if cid is not None:
                call_match.append(Call.customer_id == cid)
            if forms:
                call_match.append(col(Call.caller_number).in_(forms))
                call_match += [col(Call.channel).contains(f) for f in forms]
            if uniqueids:
                call_match += [col(Call.uniqueid).in_(uniqueids), col(Call.linkedid).in_(uniqueids)]
            calls = list(s.exec(select(Call).where(or_(*call_match)))) if call_match else []
            linkedids = {c.linkedid for c in calls if c.linkedid}
            if linkedids:  # the other legs of the same calls
                calls += list(
                    s.exec(
                        select(Call).where(
                            col(Call.linkedid).in_(linkedids), col(Call.id).notin_([c.id for c in calls])
                        )
                    )
                )
            uniqueids |= {c.uniqueid for c in calls} | linkedids
            for c in calls:
                c.caller_number = None
                c.notes = None
                c.customer_id = None
                c.call_data = None
                c.channel = person.redact(c.channel or "") or None
                s.add(c)
            counts["calls_anonymized"] = len(calls)
            # --- recordings rows (the caller deletes the files after the commit)
            rec_match = []
            if cid is not None:
                rec_match.append(Recording.customer_id == cid)
            if uniqueids:
                rec_match += [col(Recording.call_uniqueid).in_(uniqueids), col(Recording.linkedid).in_(uniqueids)]
            recordings = list(s.exec(select(Recording).where(or_(*rec_match)))) if rec_match else []
            out.recordings = [(r.id, r.path, r.spool_name, r.status) for r in recordings]
            ids = [r.id for r in recordings]
            if ids:
                s.exec(update(QaEvaluation).where(col(QaEvaluation.recording_id).in_(ids)).values(recording_id=None))
                s.exec(delete(Recording).where(col(Recording.id).in_(ids)))
            counts["recordings"] = len(ids)
            # quality evaluations of those calls stay (the agent's scores), their comments lose the person
            if uniqueids:
                for evaluation in s.exec(select(QaEvaluation).where(col(QaEvaluation.call_uniqueid).in_(uniqueids))):
                    evaluation.comment = person.redact(evaluation.comment)
                    s.add(evaluation)
            # --- the customer file
            if cid is not None:
                counts["tickets"] = s.exec(delete(Ticket).where(Ticket.customer_id == cid)).rowcount or 0
                counts["interactions"] = s.exec(delete(Interaction).where(Interaction.customer_id == cid)).rowcount or 0
                counts["phones"] = s.exec(delete(CustomerPhone).where(CustomerPhone.customer_id == cid)).rowcount or 0
                s.exec(delete(Customer).where(Customer.id == cid))
            # phones of the numbers left on other files would pop this person up again
            if person.numbers:
                counts["phones"] = counts.get("phones", 0) + (
                    s.exec(delete(CustomerPhone).where(col(CustomerPhone.e164).in_(person.numbers))).rowcount or 0
                )
            # --- callbacks, campaign contacts, attempts
            if callbacks:
                s.exec(delete(CallbackRequest).where(col(CallbackRequest.id).in_([c.id for c in callbacks])))
            counts["callbacks"] = len(callbacks)
            for a in attempts:
                a.number = ""
                a.nsn = 0
                a.notes = ""
                s.add(a)
            counts["attempts_anonymized"] = len(attempts)
            if contact_ids:
                s.exec(delete(OutboundContact).where(col(OutboundContact.id).in_(contact_ids)))
            counts["contacts"] = len(contact_ids)
            # --- proof kept with the keyed hash only
            dec_match = []
            if nsns:
                dec_match.append(col(ComplianceDecision.nsn).in_(nsns))
            if contact_ids:
                dec_match.append(col(ComplianceDecision.contact_id).in_(contact_ids))
            if forms:
                dec_match.append(col(ComplianceDecision.number).in_(forms))
            decisions = list(s.exec(select(ComplianceDecision).where(or_(*dec_match)))) if dec_match else []
            for d in decisions:
                d.number = ""
                d.nsn = None
                d.number_hash = kept_hash
                d.decision = person.redact_json_text(d.decision) or "{}"
                s.add(d)
            counts["decisions_kept_hashed"] = len(decisions)
            consents = list(s.exec(select(ConsentEntry).where(col(ConsentEntry.nsn).in_(nsns)))) if nsns else []
            for c in consents:
                c.number_hash = hash_of(c.nsn)
                c.nsn = 0
                c.number = ""
                c.proof_ref = person.redact(c.proof_ref)
                s.add(c)
            counts["consents_kept_hashed"] = len(consents)
            dnc = list(s.exec(select(DncNumber).where(col(DncNumber.nsn).in_(nsns)))) if nsns else []
            for d in dnc:
                d.number_hash = hash_of(d.nsn)
                d.nsn = -d.id  # unique, and never a real number: the hash is what matches now
                d.number = ""
                d.reason = person.redact(d.reason)
                s.add(d)
            counts["dnc_kept_hashed"] = len(dnc)
            # --- contact files kept for preview/report: the person's lines go
            counts["import_lines"] = 0
            needles = forms + [str(n) for n in nsns]
            if needles:
                imports = s.exec(
                    select(OutboundImport).where(
                        or_(
                            *[col(OutboundImport.payload).contains(n) for n in needles],
                            *[col(OutboundImport.report).contains(n) for n in needles],
                        )
                    )
                )
                for imp in imports:
                    rows = json.loads(imp.payload or "[]")
                    kept = [r for r in rows if not person.mentions_row(r if isinstance(r, list) else [r])]
                    counts["import_lines"] += len(rows) - len(kept)
                    imp.payload = json.dumps(kept)
                    imp.report = person.redact_json_text(imp.report) or "{}"
                    s.add(imp)
            # --- the audit log: entries stay, the number and the name go; the chain is
            # recomputed from the first redacted entry on (adapters/db/audit.py: rechain)
            audit_match = []
            for needle in list(person.needles) + [str(n) for n in nsns]:
                audit_match += [col(AuditEntry.details).contains(needle), col(AuditEntry.target).contains(needle)]
            redacted = 0
            if audit_match:
                lock_chain(s, self.db.dialect)
                matching = set(s.exec(select(AuditEntry.id).where(or_(*audit_match))).all())
                if matching:

                    def redact(entry: AuditEntry) -> bool:
                        if entry.id not in matching:
                            return False
                        entry.details = person.redact_json_text(entry.details) or "{}"
                        entry.target = person.redact(entry.target)[:255]
                        return True

                    redacted = rechain(s, self.db.dialect, min(matching), redact)
            counts["audit_redacted"] = redacted
        out.uniqueids = uniqueids
        return out
