"""What the customers capability needs from outside: its repository (implemented by
`ccserver.adapters.db.customers.CustomerRepository`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from .model import CustomerFile, CustomerRow, CustomerSummary, InteractionView, Rejection, TicketView


class CustomerRepository(Protocol):
    """Blocking (call it from a worker thread). Stores clean values: validation is the service's."""

    def file_by_phone(self, e164: str) -> CustomerFile | None: ...
    def file_by_customer_number(self, number: str) -> CustomerFile | None: ...
    def file(self, customer_id: int) -> CustomerFile: ...  # raises NoSuchCustomer
    def search(
        self, *, words: Sequence[str] = (), digits: str = "", limit: int = 50, offset: int = 0
    ) -> tuple[list[CustomerSummary], int]: ...
    def create(self, identity: dict[str, Any], phones: Sequence[tuple[str, str]], now: datetime) -> int: ...
    def update(
        self, customer_id: int, changes: dict[str, Any], phones: Sequence[tuple[str, str]] | None, now: datetime
    ) -> None: ...
    def save_interaction(self, values: dict[str, Any]) -> InteractionView: ...
    def call_started_at(self, uniqueid: str) -> datetime | None: ...
    def insert_ticket(self, values: dict[str, Any]) -> TicketView: ...
    def ticket(self, ticket_id: int) -> TicketView: ...  # raises NoSuchTicket
    # `change` edits the stored ticket (status, notes, subject, closed_at, updated_at) in place
    def change_ticket(self, ticket_id: int, change: Callable[[Any], None]) -> TicketView: ...
    def conflicts(self, rows: Sequence[CustomerRow]) -> list[Rejection]: ...
    def import_rows(
        self,
        rows: Sequence[CustomerRow],
        now: datetime,
        *,
        progress: Callable[[int, int], None] | None = None,
        progress_every: int = 500,
    ) -> tuple[int, int, int]: ...
