"""Customer use cases: the CTI lookup, the customer file, contacts and tickets, CSV import.

Synchronous (SQLAlchemy): call the methods from async code through ``asyncio.to_thread``.
Bad input raises `InvalidInput` naming the field before anything is written; every write is one
transaction (an import is ONE transaction for the whole file).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ...core.clock import Clock, SystemClock
from ...core.errors import Conflict, InvalidInput
from ...core.ports import AuditTrail
from ...core.text import Text
from . import model
from .errors import ImportConflict, NoSuchCustomer, NoSuchTicket  # noqa: F401  (raised by the repository)
from .model import CustomerFile, CustomerSummary, ImportPreview, ImportReport, InteractionView, TicketView
from .ports import CustomerRepository

logger = logging.getLogger(__name__)

SUBJECT_LIMIT = 200
NOTES_LIMIT = 20_000
SHORT_LIMITS = {"agent": 64, "queue": 128, "disposition": 64, "call_uniqueid": 64}


class ImportNeedsConfirmation(Conflict):
    """The file has rejected lines: importing only the good ones needs the user's say-so."""

    error_id = "import-needs-confirmation"


def _short(value: Any, field: str, *, required: bool = False) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise InvalidInput(Text("%(value)s is required", value=field.replace("_", " ")), field=field)
    if len(text) > SHORT_LIMITS.get(field, SUBJECT_LIMIT):
        raise InvalidInput(
            Text(
                "%(value)s is longer than %(value2)s characters",
                value=field.replace("_", " "),
                value2=SHORT_LIMITS.get(field, SUBJECT_LIMIT),
            ),
            field=field,
        )
    return text


def _notes(value: Any, field: str = "notes") -> str:
    text = str(value or "").replace("\r\n", "\n").strip()
    if len(text) > NOTES_LIMIT:
        raise InvalidInput(
            Text("%(field)s is longer than %(NOTES_LIMIT)s characters", field=field, NOTES_LIMIT=NOTES_LIMIT),
            field=field,
        )
    return text


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
        raise InvalidInput(Text("%(field)s must be a timezone-aware date and time", field=field), field=field)
    return value


class CustomerService:
    def __init__(
        self,
        repository: CustomerRepository,
        clock: Clock | None = None,
        *,
        default_region: str = "FR",
        audit: AuditTrail | None = None,
    ) -> None:
        self.repository = repository
        self.clock = clock or SystemClock()
        self.default_region = default_region
        self.audit = audit

    # --- lookup (the screen-pop path) -----------------------------------------------------

    def find_by_number(self, raw: str) -> CustomerFile | None:
        """The customer owning this phone number, however it is written; None if nobody.
        Raises `InvalidInput` (field ``number``) when `raw` is not a phone number."""
        return self.repository.file_by_phone(model.normalize_number(raw, self.default_region, field="number"))

    def find_by_customer_number(self, customer_number: str) -> CustomerFile | None:
        """The customer with this 8-digit number (as typed in the IVR); None if nobody."""
        number = model.clean_customer_number(customer_number)
        if number is None:
            raise InvalidInput("a customer number is required", field="customer_number")
        return self.repository.file_by_customer_number(number)

    def screen_pop(self, caller_number: str | None = None, customer_number: str | None = None) -> dict[str, Any]:
        """What the agent's page shows when the phone rings. Never raises for a bad caller ID
        (anonymous, an extension): the customer id typed in the IVR wins, then the caller's
        number. ``{"found": true, "customer": CustomerFile.to_dict()}`` or ``{"found": false,
        "prefill": {"phone", "phone_display", "customer_number"}, "number_error": str|None}``."""
        number_error = None
        number = None
        if customer_number:
            try:
                number = model.clean_customer_number(customer_number)
            except InvalidInput as exc:
                number_error = exc.message
            if number:
                found = self.repository.file_by_customer_number(number)
                if found is not None:
                    return {"found": True, "customer": found.to_dict()}
        e164 = None
        if caller_number:
            try:
                e164 = model.normalize_number(caller_number, self.default_region, field="number")
            except InvalidInput as exc:
                number_error = number_error or exc.message
            if e164:
                found = self.repository.file_by_phone(e164)
                if found is not None:
                    return {"found": True, "customer": found.to_dict()}
        return {
            "found": False,
            "number_error": number_error,
            "prefill": {
                "phone": e164 or "",
                "phone_display": model.display_number(e164) if e164 else "",
                "customer_number": number or "",
            },
        }

    def customer_file(self, customer_id: int) -> CustomerFile:
        return self.repository.file(self._id(customer_id, "customer_id"))

    def search(self, query: str = "", *, limit: int = 50, offset: int = 0) -> tuple[list[CustomerSummary], int]:
        """By name, company or email words; by customer number or phone digits (``06 12``,
        ``0612345678``, ``12345678``)."""
        text = " ".join(str(query or "").split())[:100]
        limit = max(1, min(int(limit), 200))
        offset = max(0, int(offset))
        if text and re.fullmatch(r"[0-9+ .\-/()]+", text):
            digits = re.sub(r"\D", "", text)
            try:  # a complete number: search its E.164 digits
                digits = model.normalize_number(text, self.default_region)[1:]
            except InvalidInput:
                pass
            return self.repository.search(digits=digits, limit=limit, offset=offset)
        return self.repository.search(words=text.split(), limit=limit, offset=offset)

    # --- identity ---------------------------------------------------------------------------

    def create_customer(
        self,
        *,
        phones: Sequence[Any] = (),
        customer_number: str | None = None,
        first_name: str = "",
        last_name: str = "",
        company: str = "",
        email: str = "",
        postcode: str = "",
        notes: str = "",
        actor: str | None = None,
    ) -> CustomerFile:
        """Raises `InvalidInput` naming the bad field (``phones[0]``, ``email``...), `Conflict`
        when the customer number or a phone already belongs to another customer. With `actor`,
        the creation is audit-logged as theirs."""
        identity = model.clean_identity(
            {
                "customer_number": customer_number,
                "first_name": first_name,
                "last_name": last_name,
                "company": company,
                "email": email,
                "postcode": postcode,
                "notes": notes,
            }
        )
        clean_phones = model.clean_phones(phones, default_region=self.default_region)
        if not clean_phones and not identity["customer_number"] and not (identity["last_name"] or identity["company"]):
            raise InvalidInput("a customer needs a phone number, a customer number or a name", field="phones[0]")
        customer_id = self.repository.create(identity, clean_phones, self.clock.now())
        logger.info(
            "customer #%s created (number %s, %d phones)", customer_id, identity["customer_number"], len(clean_phones)
        )
        file = self.repository.file(customer_id)
        if actor is not None and self.audit is not None:
            self.audit.record(actor, "customer.create", f"customer:{file.id}", customer_number=file.customer_number)
        return file

    def update_customer(self, customer_id: int, *, phones: Sequence[Any] | None = None, **changes: Any) -> CustomerFile:
        """Change the given fields (`IDENTITY_FIELDS`); `phones`, when given, replaces the list."""
        customer_id = self._id(customer_id, "customer_id")
        cleaned = model.clean_identity(changes)
        clean_phones = model.clean_phones(phones, default_region=self.default_region) if phones is not None else None
        self.repository.update(customer_id, cleaned, clean_phones, self.clock.now())
        return self.repository.file(customer_id)

    # --- contacts and tickets ---------------------------------------------------------------

    def record_interaction(
        self,
        customer_id: int,
        call_uniqueid: str | None,
        agent: str,
        queue: str | None = None,
        disposition: str | None = None,
        notes: str | None = None,
        direction: str = "inbound",
        at: datetime | None = None,
    ) -> InteractionView:
        """Save what happened in a contact. With a call uniqueid, saving the same call again (same
        agent) updates the earlier record instead of adding one."""
        values = {
            "customer_id": self._id(customer_id, "customer_id"),
            "call_uniqueid": _short(call_uniqueid, "call_uniqueid") or None,
            "agent": _short(agent, "agent", required=True),
            "queue": _short(queue, "queue"),
            "disposition": _short(disposition, "disposition"),
            "notes": _notes(notes),
            "direction": model.clean_direction(direction),
            "at": _aware(at, "at") or self.clock.now(),
        }
        return self.repository.save_interaction(values)

    def open_ticket(
        self,
        customer_id: int,
        call_uniqueid: str | None,
        subject: str,
        notes: str | None = None,
        opened_at: datetime | None = None,
    ) -> TicketView:
        """Open an incident ticket. Its timer runs from `opened_at`; by default the start of the
        call `call_uniqueid` when the platform knows it, else now."""
        uniqueid = _short(call_uniqueid, "call_uniqueid") or None
        values = {
            "customer_id": self._id(customer_id, "customer_id"),
            "call_uniqueid": uniqueid,
            "subject": _short(subject, "subject", required=True),
            "notes": _notes(notes),
            "status": "open",
        }
        now = self.clock.now()
        start = _aware(opened_at, "opened_at")
        if start is None and uniqueid:
            start = self.repository.call_started_at(uniqueid)
        values.update(opened_at=start or now, updated_at=now)
        ticket = self.repository.insert_ticket(values)
        logger.info("ticket #%s opened for customer #%s (call %s)", ticket.id, ticket.customer_id, uniqueid)
        return ticket

    def ticket(self, ticket_id: int) -> TicketView:
        """One ticket (`NoSuchTicket` when there is none)."""
        return self.repository.ticket(self._id(ticket_id, "ticket_id"))

    def update_ticket(
        self,
        ticket_id: int,
        status: str | None = None,
        notes: str | None = None,
        *,
        subject: str | None = None,
        append_note: str | None = None,
        author: str = "",
    ) -> TicketView:
        """Change status (closing stamps `closed_at`, reopening clears it), replace `notes`, or
        append a dated line signed by `author`."""
        ticket_id = self._id(ticket_id, "ticket_id")
        new_status = model.clean_ticket_status(status) if status is not None else None
        new_notes = _notes(notes) if notes is not None else None
        new_subject = _short(subject, "subject", required=True) if subject is not None else None
        addition = _notes(append_note, "append_note") if append_note else ""
        now = self.clock.now()

        def change(ticket: Any) -> None:
            if new_status is not None and new_status != ticket.status:
                ticket.status = new_status
                ticket.closed_at = now if new_status == "closed" else None
            if new_notes is not None:
                ticket.notes = new_notes
            if new_subject is not None:
                ticket.subject = new_subject
            if addition:
                stamp = now.strftime("%Y-%m-%d %H:%M UTC")
                line = f"[{stamp}{' ' + author if author else ''}] {addition}"
                ticket.notes = f"{ticket.notes}\n{line}" if ticket.notes else line
            ticket.updated_at = now

        return self.repository.change_ticket(ticket_id, change)

    # --- import -----------------------------------------------------------------------------

    def preview_import(self, data: bytes, filename: str = "") -> ImportPreview:
        """Parse the file and check its good lines against the database too (a line whose numbers
        belong to two different customers is rejected). Writes nothing."""
        preview = model.parse_customer_csv(data, filename, default_region=self.default_region)
        return preview.reject(self.repository.conflicts(preview.rows))

    def import_customers(
        self,
        preview: ImportPreview,
        confirm_partial: bool = False,
        progress: Callable[[int, int], None] | None = None,
        *,
        progress_every: int = 500,
    ) -> ImportReport:
        """Import the good lines of `preview` in ONE transaction. A file with rejected lines
        imports nothing unless `confirm_partial` (`ImportNeedsConfirmation`). Customers matched
        by customer number or phone are updated, not duplicated. `progress(done, total)` is
        called every `progress_every` rows and at the end; if it raises, nothing is imported."""
        if preview.rejected and not confirm_partial:
            raise ImportNeedsConfirmation(
                f"{preview.rejected_count} lines of {preview.filename or 'the file'} are rejected: "
                f"confirm to import only the {preview.good_count} good lines",
                rejected_lines=preview.rejected_count,
                good=preview.good_count,
            )
        if not preview.rows:
            raise InvalidInput("the file has no good line to import", field="file")
        started = time.perf_counter()
        created, updated, phones = self.repository.import_rows(
            preview.rows, self.clock.now(), progress=progress, progress_every=max(1, progress_every)
        )
        report = ImportReport(
            filename=preview.filename,
            data_lines=preview.data_lines,
            imported=created + updated,
            created=created,
            updated=updated,
            phones_added=phones,
            rejected_lines=preview.rejected_count,
            confirm_partial=confirm_partial,
            duration_seconds=time.perf_counter() - started,
        )
        logger.info(
            "import of %s: %d created, %d updated, %d lines rejected, %.0f rows/s",
            preview.filename,
            created,
            updated,
            report.rejected_lines,
            report.rows_per_second,
        )
        return report

    def audit_import(self, owner: str, succeeded: bool, filename: str, **details: Any) -> None:
        """The audit line of an import, done or failed (`details`: counts, seconds, error)."""
        if self.audit is not None:
            self.audit.record(
                owner, "customers.import" if succeeded else "customers.import-failed", filename, **details
            )

    @staticmethod
    def _id(value: Any, field: str) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise InvalidInput(
                Text("%(field)s must be a number", field=field), field=field, value=str(value)[:20]
            ) from None
        if isinstance(value, bool) or number < 1 or number > 2**31 - 1:
            raise InvalidInput(
                Text("%(field)s must be a positive number", field=field), field=field, value=str(value)[:20]
            )
        return number
