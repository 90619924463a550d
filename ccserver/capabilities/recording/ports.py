"""What the recording capability needs from outside: its repository (adapters/db/recordings.py
implements it), the supervisors' scopes, the customer lookup. The PBX commands it issues are
`core.ports.PbxCommands.mix_monitor`, `mix_monitor_mute` and `stop_mix_monitor`.

Synchronous repositories: the service calls them through ``asyncio.to_thread``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .model import RecordingPolicy


@dataclass(frozen=True)
class RecordingFilter:
    """A search of the recordings (the web's list and API)."""

    agent: str | None = None
    queue: str | None = None
    customer_id: int | None = None
    uniqueid: str | None = None
    caller: str | None = None  # digits of the caller's number (contains)
    since: datetime | None = None
    until: datetime | None = None
    min_seconds: int | None = None
    status: str | None = "stored"
    # a supervisor's scope: recordings of these queues or of these agents (None: everything)
    scope_queues: frozenset[str] | None = None
    scope_agents: frozenset[str] | None = None


class RecordingRepository(Protocol):
    """Rows are the database's (Recording, Call, QaGrid, QaEvaluation): the service reads their
    attributes only. `get`, `grid`, `evaluation` raise the NoSuchX errors of `.errors`."""

    # policies
    def policy_for_queue(self, queue: str) -> RecordingPolicy: ...
    def queue_policies(self) -> dict[str, RecordingPolicy]: ...
    def campaign_policies(self) -> dict[int, RecordingPolicy]: ...
    def set_campaign_policy(self, campaign_id: int, policy: RecordingPolicy, actor: str) -> None: ...
    # recordings
    def insert(self, **fields: Any) -> Any: ...
    def update(self, recording_id: int, **fields: Any) -> Any: ...
    def get(self, recording_id: int) -> Any: ...
    def unfinished(self) -> list[Any]: ...
    def call(self, uniqueid: str) -> Any | None: ...
    def search(
        self, f: RecordingFilter, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[tuple[Any, Any | None]], int]: ...
    def expired(self, now: datetime) -> list[Any]: ...
    def delete(self, recording_ids: Sequence[int]) -> int: ...
    # quality grids and evaluations
    def grids(self, active_only: bool = False) -> list[Any]: ...
    def grid(self, grid_id: int) -> Any: ...
    def save_grid(
        self, grid_id: int | None, name: str, description: str, definition: dict, actor: str, active: bool = True
    ) -> Any: ...
    def add_evaluation(self, **fields: Any) -> Any: ...
    def evaluation(self, evaluation_id: int) -> Any: ...
    def update_evaluation(self, evaluation_id: int, **fields: Any) -> Any: ...
    def evaluations(
        self,
        *,
        agent: str | None = None,
        grid_id: int | None = None,
        recording_id: int | None = None,
        since: datetime | None = None,
        limit: int = 200,
    ) -> list[Any]: ...
    def score_rows(self, since: datetime | None = None) -> list[tuple[str, int, str, float, bool, str]]: ...


class Scopes(Protocol):
    """The supervisors' queues and teams (AcdRepository)."""

    def scopes_of(self, username: str) -> tuple[set[str], set[str]]: ...
    def teams(self) -> dict[str, str]: ...


class CustomerLookup(Protocol):
    def find_by_number(self, raw: str) -> Any: ...
