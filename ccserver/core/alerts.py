"""Alerts: what went wrong for a caller and needs a human, counted since the server started.

A warning in a log is read by nobody during a busy day; these counters are shown on the
wallboard and in /status. The capability that notes one also writes its own record (a failed
recording row, a refused call record, an audit entry) and one log line. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .text import Text

RECORDING_MISSED = "recording_missed"  # a call whose policy says "record" was not recorded
CALL_REFUSED = "call_refused"  # a caller refused by Asterisk for lack of resources

PAUSE_OVERRUN = "pause_overrun"  # an agent paused longer than their pause code allows

KINDS = (RECORDING_MISSED, CALL_REFUSED, PAUSE_OVERRUN)


class Alerts:
    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.last: dict[str, dict[str, Any]] = {}
        self.listeners: list[Callable[[str], None]] = []  # told the kind each time one is noted

    def note(self, kind: str, at: datetime, **details: Any) -> int:
        """Count one occurrence of `kind` (one of KINDS); returns the new count."""
        if kind not in self.counts:
            raise ValueError(Text("unknown alert kind %(kind)r", kind=kind))
        self.counts[kind] += 1
        self.last[kind] = {"at": at.isoformat(), **details}
        for listener in self.listeners:
            listener(kind)
        return self.counts[kind]

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {kind: {"count": self.counts[kind], "last": self.last.get(kind)} for kind in KINDS}
