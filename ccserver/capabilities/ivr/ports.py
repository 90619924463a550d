"""What the IVR needs from outside: its statistics store, the customer directory, and (from
`core.ports`) the Stasis commands of the engine, the PBX commands (dialplan reload), the
configuration writer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from ccserver.core.ports import ConfigWriter, StasisCommands

__all__ = [
    "ConfigWriter",
    "CounterKey",
    "CustomerDirectory",
    "CustomerLookup",
    "NamesSource",
    "StasisCommands",
    "StatsStore",
]

CounterKey = tuple[str, str, str, str]  # script, version, node ("" = the script), counter
NamesSource = Callable[[], Iterable[str] | None]
# (kind "phone" | "customer_id", value) -> a customer record (mapping, or an object with
# to_dict()) or None when nobody matches; raises when the directory cannot answer
CustomerLookup = Callable[[str, str], Awaitable[Any]]


class StatsStore(Protocol):
    """The per-day IVR counters (the database adapter's `IvrStatsRepository`). Blocking."""

    def add(self, deltas: dict[CounterKey, int], at: datetime) -> int: ...
    def totals(self, script: str | None = None) -> dict[CounterKey, int]: ...


class CustomerDirectory(Protocol):
    """What the IVR's lookups ask the customers capability (`CustomerService`). Blocking."""

    def find_by_number(self, number: str) -> Any: ...
    def find_by_customer_number(self, customer_number: str) -> Any: ...
