"""The customers capability's domain errors (stable ids; rendered by the web error middleware)."""

from __future__ import annotations

from ...core.errors import Conflict, NotFound


class NoSuchCustomer(NotFound):
    error_id = "no-such-customer"


class NoSuchTicket(NotFound):
    error_id = "no-such-ticket"


class ImportConflict(Conflict):
    """A line of an import file contradicts the database (its numbers belong to two customers)."""

    error_id = "import-conflict"
