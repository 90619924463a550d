"""What the callbacks capability needs from outside: where requests are kept (implemented by
`ccserver.adapters.db.acd.AcdRepository`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class CallbackRepository(Protocol):
    """Blocking: call it from a worker thread."""

    def add_callback(self, queue: str, number: str, caller_uniqueid: str, entered_queue_at: datetime) -> int: ...
    def callbacks(self, status: str | None = None) -> list[Any]: ...
    def update_callback(self, callback_id: int, **fields: Any) -> None: ...  # raises NoSuchCallback
