"""What supervision needs from outside: the day's calls, the queues' targets, the supervisors'
scopes and SIP phones (implemented by `ccserver.adapters.db.acd.AcdRepository`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from ..acd.model import AgentAccount, QueueDefinition


class SupervisionRepository(Protocol):
    """Blocking: call it from a worker thread. `scopes_of` and `teams` are also the scopes port
    of `core.permissions.actor_for`."""

    def calls(self, *, queue: str | None = None, since: datetime | None = None) -> list[Any]: ...
    def queues(self) -> list[QueueDefinition]: ...
    def scopes_of(self, username: str) -> tuple[set[str], set[str]]: ...
    def teams(self) -> dict[str, str]: ...
    def sip_account_of(self, username: str) -> AgentAccount | None: ...
