"""Customers in the database: the customer file lookup (screen-pop path), search, writes, and
the all-or-nothing bulk import. Synchronous; the web layer calls it through ``asyncio.to_thread``.

Validation is the caller's (``capabilities.customers.model``): this module stores clean values.
Write transactions start with ``BEGIN IMMEDIATE`` on SQLite, so a read-then-write never fails on
a lock upgrade when another writer got in between.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ...capabilities.customers.errors import ImportConflict, NoSuchCustomer, NoSuchTicket
from ...capabilities.customers.model import (
    CallInfo,
    CustomerFile,
    CustomerRow,
    CustomerSummary,
    InteractionView,
    Phone,
    Rejection,
    TicketView,
)
from ...core.errors import Conflict
from ...core.text import Text
from .database import Database
from .tables import Call, Customer, CustomerPhone, Interaction, Ticket

logger = logging.getLogger(__name__)

HISTORY_LIMIT = 20
IMPORT_CHUNK = 500  # rows resolved and written per round trip


@dataclass(frozen=True)
class _Resolution:
    row: CustomerRow
    customer_id: int | None  # the existing customer the row updates, None: a new customer
    set_number: bool  # the existing customer had no customer number: give it the row's
    new_phones: tuple[tuple[str, str], ...]
    conflict: Rejection | None = None


_CALL_COLUMNS = (
    Call.uniqueid,
    Call.caller_number,
    Call.queue,
    Call.created_at,
    Call.answered_at,
    Call.ended_at,
    Call.outcome,
)


class CustomerRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _session(self, *, write: bool = False):
        """Reads (the screen-pop lookup) never wait for a writer; writes read first (is the
        number taken?) and take the write lock up front."""
        return self.db.write_session() if write else self.db.read_session()

    # --- the customer file -----------------------------------------------------------------

    def file_by_phone(self, e164: str) -> CustomerFile | None:
        """Three indexed queries in one transaction: identity + phones (found through the
        unique phone index), the last interactions with their calls, the open tickets."""
        matched = aliased(CustomerPhone)
        owner = select(matched.customer_id).where(matched.e164 == e164).scalar_subquery()
        with self._session() as session:
            return self._file(session, Customer.id == owner, matched_by="phone", matched_value=e164)

    def file_by_customer_number(self, number: str) -> CustomerFile | None:
        with self._session() as session:
            return self._file(
                session, Customer.customer_number == number, matched_by="customer_number", matched_value=number
            )

    def file(self, customer_id: int) -> CustomerFile:
        with self._session() as session:
            found = self._file(session, Customer.id == customer_id)
        if found is None:
            raise NoSuchCustomer(Text("no customer #%(customer_id)s", customer_id=customer_id), customer_id=customer_id)
        return found

    def _file(
        self, session: Session, where: Any, *, matched_by: str | None = None, matched_value: str | None = None
    ) -> CustomerFile | None:
        rows = session.execute(
            select(Customer, CustomerPhone.e164, CustomerPhone.label)
            .outerjoin(CustomerPhone, CustomerPhone.customer_id == Customer.id)
            .where(where)
            .order_by(CustomerPhone.id)
        ).all()
        if not rows:
            return None
        customer: Customer = rows[0][0]
        customer_id = customer.id
        phones = tuple(Phone(e164, label) for _c, e164, label in rows if e164 is not None)
        history = session.execute(
            select(Interaction, *_CALL_COLUMNS)
            .outerjoin(Call, Call.uniqueid == Interaction.call_uniqueid)
            .where(Interaction.customer_id == customer_id)
            .order_by(Interaction.at.desc(), Interaction.id.desc())
            .limit(HISTORY_LIMIT)
        ).all()
        tickets = (
            session.execute(
                select(Ticket)
                .where(Ticket.customer_id == customer_id, Ticket.status != "closed")
                .order_by(Ticket.opened_at.desc(), Ticket.id.desc())
            )
            .scalars()
            .all()
        )
        return CustomerFile(
            id=customer.id,
            customer_number=customer.customer_number,
            first_name=customer.first_name,
            last_name=customer.last_name,
            company=customer.company,
            email=customer.email,
            postcode=customer.postcode,
            notes=customer.notes,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
            phones=phones,
            interactions=tuple(_interaction_view(i, call) for i, *call in history),
            open_tickets=tuple(_ticket_view(t) for t in tickets),
            matched_by=matched_by,
            matched_value=matched_value,
        )

    # --- search ----------------------------------------------------------------------------

    def search(
        self, *, words: Sequence[str] = (), digits: str = "", limit: int = 50, offset: int = 0
    ) -> tuple[list[CustomerSummary], int]:
        """Customers whose name/company/email contain every word (case-insensitive), or whose
        customer number starts with / a phone number contains `digits`; newest change first.
        Returns (one page, total count)."""
        conditions = []
        for word in words:
            pattern = word.lower()
            conditions.append(
                or_(
                    *(
                        func.lower(column).contains(pattern, autoescape=True)
                        for column in (Customer.last_name, Customer.first_name, Customer.company, Customer.email)
                    )
                )
            )
        if digits:
            phone_part = digits[1:] if digits.startswith("0") and len(digits) > 1 else digits
            conditions.append(
                or_(
                    Customer.customer_number.startswith(digits, autoescape=True),
                    exists().where(
                        and_(
                            CustomerPhone.customer_id == Customer.id,
                            CustomerPhone.e164.contains(phone_part, autoescape=True),
                        )
                    ),
                )
            )
        where = and_(*conditions) if conditions else None
        query = select(Customer)
        count = select(func.count()).select_from(Customer)
        if where is not None:
            query, count = query.where(where), count.where(where)
        query = query.order_by(Customer.updated_at.desc(), Customer.id.desc()).limit(limit).offset(offset)
        with self._session() as session:
            customers = session.execute(query).scalars().all()
            total = session.execute(count).scalar_one()
            phones: dict[int, list[Phone]] = {}
            if customers:
                for cid, e164, label in session.execute(
                    select(CustomerPhone.customer_id, CustomerPhone.e164, CustomerPhone.label)
                    .where(CustomerPhone.customer_id.in_([c.id for c in customers]))
                    .order_by(CustomerPhone.id)
                ):
                    phones.setdefault(cid, []).append(Phone(e164, label))
        return [
            CustomerSummary(
                id=c.id,
                customer_number=c.customer_number,
                first_name=c.first_name,
                last_name=c.last_name,
                company=c.company,
                email=c.email,
                postcode=c.postcode,
                updated_at=c.updated_at,
                phones=tuple(phones.get(c.id, ())),
            )
            for c in customers
        ], total

    # --- writes ----------------------------------------------------------------------------

    def create(self, identity: dict[str, Any], phones: Sequence[tuple[str, str]], now: datetime) -> int:
        """Insert a customer and its phones; raises `Conflict` naming the field when the customer
        number or a phone already belongs to someone."""
        with self._conflicts(identity.get("customer_number"), [e for e, _ in phones]):
            with self._session(write=True) as session:
                self._check_taken(session, None, identity.get("customer_number"), [e for e, _ in phones])
                customer = Customer(**identity, created_at=now, updated_at=now)
                session.add(customer)
                session.flush()
                session.add_all(
                    CustomerPhone(customer_id=customer.id, e164=e164, label=label) for e164, label in phones
                )
                return customer.id

    def update(
        self, customer_id: int, changes: dict[str, Any], phones: Sequence[tuple[str, str]] | None, now: datetime
    ) -> None:
        """Change the given identity fields; `phones`, when given, replaces the phone list."""
        numbers = [e for e, _ in phones] if phones is not None else []
        with self._conflicts(changes.get("customer_number"), numbers):
            with self._session(write=True) as session:
                customer = session.get(Customer, customer_id)
                if customer is None:
                    raise NoSuchCustomer(
                        Text("no customer #%(customer_id)s", customer_id=customer_id), customer_id=customer_id
                    )
                self._check_taken(session, customer_id, changes.get("customer_number"), numbers)
                for name, value in changes.items():
                    setattr(customer, name, value)
                customer.updated_at = now
                if phones is not None:
                    existing = {
                        p.e164: p
                        for p in session.execute(
                            select(CustomerPhone).where(CustomerPhone.customer_id == customer_id)
                        ).scalars()
                    }
                    wanted = dict(phones)
                    for e164, phone in existing.items():
                        if e164 not in wanted:
                            session.delete(phone)
                        elif phone.label != wanted[e164]:
                            phone.label = wanted[e164]
                    session.flush()
                    session.add_all(
                        CustomerPhone(customer_id=customer_id, e164=e164, label=label)
                        for e164, label in phones
                        if e164 not in existing
                    )

    @staticmethod
    def _check_taken(session: Session, customer_id: int | None, number: str | None, phones: Sequence[str]) -> None:
        if number:
            owner = session.execute(select(Customer.id).where(Customer.customer_number == number)).scalar()
            if owner is not None and owner != customer_id:
                raise Conflict(
                    Text(
                        "customer number %(number)s already belongs to customer #%(owner)s", number=number, owner=owner
                    ),
                    field="customer_number",
                    value=number,
                    customer_id=owner,
                )
        if phones:
            for e164, owner in session.execute(
                select(CustomerPhone.e164, CustomerPhone.customer_id).where(CustomerPhone.e164.in_(list(phones)))
            ):
                if owner != customer_id:
                    raise Conflict(
                        Text("%(e164)s already belongs to customer #%(owner)s", e164=e164, owner=owner),
                        field=f"phones[{list(phones).index(e164)}]",
                        value=e164,
                        customer_id=owner,
                    )

    @contextmanager
    def _conflicts(self, number: str | None, phones: Sequence[str]) -> Iterator[None]:
        """A unique constraint hit by a concurrent writer becomes the same `Conflict`."""
        try:
            yield
        except IntegrityError as exc:
            raise Conflict(
                "the customer number or a phone number was just taken by another customer: reload and try again",
                field="customer_number" if number else "phones[0]",
                reason=str(exc.orig).splitlines()[0],
            ) from None

    def require_customer(self, session: Session, customer_id: int) -> None:
        if session.execute(select(Customer.id).where(Customer.id == customer_id)).scalar() is None:
            raise NoSuchCustomer(Text("no customer #%(customer_id)s", customer_id=customer_id), customer_id=customer_id)

    def save_interaction(self, values: dict[str, Any]) -> InteractionView:
        """Insert an interaction; with a call uniqueid, the same agent saving the same call
        again updates it (idempotent retries, edited notes)."""
        with self._session(write=True) as session:
            self.require_customer(session, values["customer_id"])
            row = None
            if values.get("call_uniqueid"):
                row = (
                    session.execute(
                        select(Interaction).where(
                            Interaction.customer_id == values["customer_id"],
                            Interaction.call_uniqueid == values["call_uniqueid"],
                            Interaction.agent == values["agent"],
                        )
                    )
                    .scalars()
                    .first()
                )
            if row is None:
                row = Interaction(**values)
                session.add(row)
            else:
                for name in ("direction", "queue", "disposition", "notes"):
                    setattr(row, name, values[name])
            session.flush()
            call = None
            if row.call_uniqueid:
                call = session.execute(select(*_CALL_COLUMNS).where(Call.uniqueid == row.call_uniqueid)).first()
            return _interaction_view(row, tuple(call) if call else (None,) * len(_CALL_COLUMNS))

    def call_started_at(self, uniqueid: str) -> datetime | None:
        with self._session() as session:
            return session.execute(select(Call.created_at).where(Call.uniqueid == uniqueid)).scalar()

    def insert_ticket(self, values: dict[str, Any]) -> TicketView:
        with self._session(write=True) as session:
            self.require_customer(session, values["customer_id"])
            ticket = Ticket(**values)
            session.add(ticket)
            session.flush()
            return _ticket_view(ticket)

    def ticket(self, ticket_id: int) -> TicketView:
        with self._session() as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                raise NoSuchTicket(Text("no ticket #%(ticket_id)s", ticket_id=ticket_id), ticket_id=ticket_id)
            return _ticket_view(ticket)

    def change_ticket(self, ticket_id: int, change: Callable[[Ticket], None]) -> TicketView:
        with self._session(write=True) as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                raise NoSuchTicket(Text("no ticket #%(ticket_id)s", ticket_id=ticket_id), ticket_id=ticket_id)
            change(ticket)
            session.flush()
            return _ticket_view(ticket)

    # --- import ----------------------------------------------------------------------------

    def conflicts(self, rows: Sequence[CustomerRow]) -> list[Rejection]:
        """Lines whose numbers point at two different existing customers (read-only check)."""
        found: list[Rejection] = []
        with self._session() as session:
            for start in range(0, len(rows), IMPORT_CHUNK):
                found.extend(
                    r.conflict
                    for r in self._resolve(session, rows[start : start + IMPORT_CHUNK])
                    if r.conflict is not None
                )
        return found

    def import_rows(
        self,
        rows: Sequence[CustomerRow],
        now: datetime,
        *,
        progress: Callable[[int, int], None] | None = None,
        progress_every: int = IMPORT_CHUNK,
    ) -> tuple[int, int, int]:
        """Create or update every row in ONE transaction: all of them or none (any error, a
        conflict found now, or `progress` raising rolls everything back). Existing customers are
        matched by customer number, then by phone; non-empty fields of the row overwrite theirs,
        new phones are added. Returns (created, updated, phones added)."""
        total = len(rows)
        created = updated = phones_added = done = 0
        next_report = progress_every
        chunk_size = max(1, min(IMPORT_CHUNK, progress_every))
        with self._session(write=True) as session:
            for start in range(0, total, chunk_size):
                chunk = rows[start : start + chunk_size]
                resolutions = self._resolve(session, chunk)
                bad = next((r.conflict for r in resolutions if r.conflict is not None), None)
                if bad is not None:
                    raise ImportConflict(
                        Text("line %(line)s: %(reason)s; nothing was imported", line=bad.line, reason=bad.reason),
                        line=bad.line,
                        field=bad.field,
                    )
                new = [r for r in resolutions if r.customer_id is None]
                phone_rows: list[dict[str, Any]] = []
                if new:
                    ids = (
                        session.execute(
                            insert(Customer).returning(Customer.id, sort_by_parameter_order=True),
                            [
                                {
                                    "customer_number": r.row.customer_number,
                                    **r.row.identity(),
                                    "created_at": now,
                                    "updated_at": now,
                                }
                                for r in new
                            ],
                        )
                        .scalars()
                        .all()
                    )
                    for customer_id, resolution in zip(ids, new):
                        phone_rows.extend(
                            {"customer_id": customer_id, "e164": e, "label": label}
                            for e, label in resolution.new_phones
                        )
                changes = []
                for r in resolutions:
                    if r.customer_id is None:
                        continue
                    values = {k: v for k, v in r.row.identity().items() if v}
                    if r.set_number:
                        values["customer_number"] = r.row.customer_number
                    changes.append({"id": r.customer_id, **values, "updated_at": now})
                    phone_rows.extend(
                        {"customer_id": r.customer_id, "e164": e, "label": label} for e, label in r.new_phones
                    )
                if changes:
                    session.execute(update(Customer), changes)
                if phone_rows:
                    session.execute(insert(CustomerPhone), phone_rows)
                created += len(new)
                updated += len(changes)
                phones_added += len(phone_rows)
                done += len(chunk)
                if progress is not None and (done >= next_report or done == total):
                    progress(done, total)
                    while next_report <= done:
                        next_report += progress_every
        return created, updated, phones_added

    def _resolve(self, session: Session, chunk: Sequence[CustomerRow]) -> list[_Resolution]:
        numbers = [r.customer_number for r in chunk if r.customer_number]
        e164s = [e for r in chunk for e, _ in r.phones]
        by_number: dict[str, int] = {}
        if numbers:
            by_number = dict(
                session.execute(
                    select(Customer.customer_number, Customer.id).where(Customer.customer_number.in_(numbers))
                ).all()
            )
        by_phone: dict[str, int] = {}
        if e164s:
            by_phone = dict(
                session.execute(
                    select(CustomerPhone.e164, CustomerPhone.customer_id).where(CustomerPhone.e164.in_(e164s))
                ).all()
            )
        owner_numbers: dict[int, str | None] = {}
        phone_owners = set(by_phone.values()) - set(by_number.values())
        if phone_owners:
            owner_numbers = dict(
                session.execute(
                    select(Customer.id, Customer.customer_number).where(Customer.id.in_(phone_owners))
                ).all()
            )
        resolutions = []
        for row in chunk:
            by_row_number = by_number.get(row.customer_number) if row.customer_number else None
            owners = {by_phone[e]: e for e, _ in row.phones if e in by_phone}
            conflict = None
            target = by_row_number
            if by_row_number is not None:
                other = next((e for cid, e in owners.items() if cid != by_row_number), None)
                if other is not None:
                    conflict = (
                        "phone",
                        f"customer number {row.customer_number} is customer "
                        f"#{by_row_number}, but {other} belongs to customer "
                        f"#{by_phone[other]}",
                    )
            elif len(owners) > 1:
                conflict = (
                    "phone",
                    "the numbers of this line belong to two different customers: "
                    + ", ".join(f"{e} (#{cid})" for cid, e in owners.items()),
                )
            elif owners:
                target = next(iter(owners))
                existing_number = owner_numbers.get(target)
                if row.customer_number and existing_number and existing_number != row.customer_number:
                    conflict = (
                        "customer_number",
                        f"{owners[target]} belongs to customer {existing_number}, not {row.customer_number}",
                    )
            if conflict is not None:
                resolutions.append(_Resolution(row, target, False, (), Rejection(row.line, *conflict)))
                continue
            set_number = bool(target is not None and by_row_number is None and row.customer_number)
            new_phones = tuple((e, label) for e, label in row.phones if e not in by_phone)
            resolutions.append(_Resolution(row, target, set_number, new_phones))
        return resolutions


def _interaction_view(row: Interaction, call: Sequence[Any]) -> InteractionView:
    info = None
    if call and call[0] is not None:
        uniqueid, caller_number, queue, started_at, answered_at, ended_at, outcome = call
        info = CallInfo(
            uniqueid=uniqueid,
            caller_number=caller_number,
            queue=queue,
            started_at=started_at,
            answered_at=answered_at,
            ended_at=ended_at,
            outcome=outcome,
        )
    return InteractionView(
        id=row.id,
        customer_id=row.customer_id,
        at=row.at,
        direction=row.direction,
        agent=row.agent,
        queue=row.queue,
        disposition=row.disposition,
        notes=row.notes,
        call_uniqueid=row.call_uniqueid,
        call=info,
    )


def _ticket_view(ticket: Ticket) -> TicketView:
    return TicketView(
        id=ticket.id,
        customer_id=ticket.customer_id,
        call_uniqueid=ticket.call_uniqueid,
        subject=ticket.subject,
        status=ticket.status,
        opened_at=ticket.opened_at,
        updated_at=ticket.updated_at,
        closed_at=ticket.closed_at,
        notes=ticket.notes,
    )
