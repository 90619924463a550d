"""What the IVR needs from outside: its statistics store, the stored script versions, the
customer directory, and (from
`core.ports`) the Stasis commands of the engine, the PBX commands (dialplan reload), the
configuration writer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from ccserver.core.ports import ConfigWriter, StasisCommands

from .model import ScriptVersion

__all__ = [
    "ConfigWriter",
    "CounterKey",
    "CustomerDirectory",
    "CustomerLookup",
    "NamesSource",
    "ScriptVersionStore",
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


class ScriptVersionStore(Protocol):
    """Every stored version of every IVR script and which one is active (the database adapter's
    `IvrVersionRepository`; `service.MemoryVersionStore` without a database). Blocking.

    `add` numbers the version (the script's last number + 1) and, with `activate`, makes it the
    active one in the same transaction. Versions are never changed nor deleted."""

    def add(
        self,
        *,
        script: str,
        content: str,
        author: str,
        origin: str,
        at: datetime,
        label: str = "",
        file: str = "",
        comment: str = "",
        rollback_of: int | None = None,
        activate: bool = True,
    ) -> ScriptVersion: ...
    def set_active(self, script: str, number: int, actor: str, at: datetime) -> None: ...
    def versions(self, script: str) -> list[ScriptVersion]: ...  # oldest first
    def version(self, script: str, number: int) -> ScriptVersion | None: ...
    def active_versions(self) -> list[ScriptVersion]: ...  # one per script that has one, by name
    def active_numbers(self) -> dict[str, int]: ...  # script -> active number
    def knows(self, script: str, checksum: str) -> bool: ...  # some version has this content
