"""The audit log's use cases: search a page, export as CSV (the export is itself logged), verify
the chain, seal the entries from before it. Talks to the `AuditStore` port only."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...core.clock import Clock
from .errors import ChainBroken
from .model import CSV_COLUMNS, Filters, Link, Verdict, csv_row, timestamp
from .ports import AuditStore


@dataclass(frozen=True)
class Page:
    entries: list[dict[str, Any]]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    def to_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "total": self.total, "page": self.page, "size": self.size, "pages": self.pages}


def entry_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": timestamp(row.at),
        "actor": row.actor,
        "action": row.action,
        "target": row.target,
        "client_address": row.client_address,
        "details": row.details_dict,
        "prev_hash": row.prev_hash,
        "entry_hash": row.entry_hash,
    }


class AuditService:
    def __init__(self, store: AuditStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._verdict: Verdict | None = None
        self.checked_at: datetime | None = None

    async def search(self, filters: Filters, page: int = 1, size: int = 50) -> Page:
        rows, total = await asyncio.gather(
            asyncio.to_thread(self.store.search, filters, limit=size, offset=(page - 1) * size),
            asyncio.to_thread(self.store.count, filters),
        )
        return Page([entry_dict(r) for r in rows], total, page, size)

    async def verify(self, max_age: float = 0) -> Verdict:
        """The chain checked from its first entry; a check younger than `max_age` seconds is
        reused (the page shows when it was made; the API and CLI always check anew)."""
        now = self.clock.now()
        if self._verdict is None or self.checked_at is None or (now - self.checked_at).total_seconds() >= max_age:
            self._verdict, self.checked_at = await asyncio.to_thread(self.store.verify), now
        return self._verdict

    def verify_or_raise(self) -> Verdict:
        """The verdict, or `ChainBroken` naming the first broken entry (the CLI's exit status)."""
        verdict = self.store.verify()
        if verdict.broken is not None:
            raise ChainBroken(verdict.summary(), **verdict.broken.to_dict())
        return verdict

    def export_csv(self, actor: str, filters: Filters) -> Iterator[str]:
        """The matching entries as CSV text chunks (',' separated, RFC 4180 quoting, a BOM so
        that Excel reads UTF-8; formula-like cells neutralised), oldest first; the export itself is logged first, as `actor`'s."""
        self.store.record(actor, "audit.export", "audit_log", filters=filters.to_query())
        return self.csv_lines(self.store.export(filters))

    @staticmethod
    def csv_lines(links: Iterator[Link]) -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        yield "\ufeff" + _drain(buffer)
        for count, link in enumerate(links, 1):
            writer.writerow(csv_row(link))
            if count % 500 == 0:
                yield _drain(buffer)
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
