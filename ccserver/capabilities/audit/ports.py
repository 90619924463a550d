"""What the audit capability needs from outside: the log itself (adapters/db/audit.py:
`AuditLog`). Synchronous: the service calls it through ``asyncio.to_thread``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from .model import Filters, Link, Verdict


class AuditRow(Protocol):
    id: int | None
    client_address: str
    entry_hash: str


class AuditStore(Protocol):
    def record(self, actor: str, action: str, target: str = "", **details: Any) -> Any: ...

    def search(self, filters: Filters, *, limit: int = 50, offset: int = 0) -> Sequence[Any]: ...

    def count(self, filters: Filters) -> int: ...

    def export(self, filters: Filters) -> Iterator[Link]: ...

    def verify(self) -> Verdict: ...

    def seal(self) -> int: ...
