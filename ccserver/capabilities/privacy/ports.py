"""What the GDPR erasure needs from outside: the database side (adapters/db/erasure.py
implements `ErasureRepository`), the database compaction, and the recording capability's live
calls and store. Synchronous repositories: the service calls them through ``asyncio.to_thread``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from .model import Person


@dataclass
class ErasedPerson:
    """What the transaction changed, and what the caller still has to do on disk."""

    recordings: list[tuple[int, str | None, str, str]] = field(default_factory=list)  # id, path, spool, status
    uniqueids: set[str] = field(default_factory=set)  # the person's calls (and their linkedids)
    counts: dict[str, int] = field(default_factory=dict)


class ErasureRepository(Protocol):
    def customer(self, customer_id: int) -> tuple[list[str], list[str]]:
        """(phones E.164, full names and e-mail) of a customer; NotFound if there is none."""
        ...

    def contact_names(self, nsns: Iterable[int]) -> list[str]: ...

    def erase(
        self, person: Person, hash_of: Callable[[int | str], str], live_uniqueids: Iterable[str] = ()
    ) -> ErasedPerson:
        """Everything in one transaction (all or nothing)."""
        ...


class Compactor(Protocol):
    """The database: rewrites its files so deleted rows do not linger (SQLite VACUUM)."""

    def compact(self, tables: Iterable[str]) -> None: ...


class LiveRecordings(Protocol):
    """The recording capability's side of an erasure (RecordingService)."""

    store: object

    async def forget_live(self, uniqueids: set[str]) -> list[str]: ...
