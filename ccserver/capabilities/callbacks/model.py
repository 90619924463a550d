"""Callback instead of waiting: the caller keeps their place. Pure: no I/O.

`WaitingLine` follows who waits in each queue and since when. A callback request keeps the time
its caller entered the queue; it becomes *due* when nobody who entered that queue before it is
still waiting. Then the service places a stand-in (a Local channel) in the queue at top
priority: the next free agent gets it and the customer is dialed as an outbound call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ...core import events as ev
from ...core.clock import Clock

STAND_IN_CONTEXT = "ccq-{queue}-cbqueue"


@dataclass(frozen=True)
class PendingCallback:
    id: int
    queue: str
    number: str
    entered_queue_at: datetime


class WaitingLine:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.waiting: dict[str, dict[str, tuple[datetime, str]]] = {}  # queue -> uniqueid -> (since, channel)

    def apply(self, event: ev.Event) -> list[ev.Event]:
        if isinstance(event, ev.QueueCallerJoined):
            self.waiting.setdefault(event.queue, {})[event.uniqueid] = (self.clock.now(), event.channel)
        elif isinstance(event, (ev.QueueCallerLeft, ev.QueueCallerAbandoned)):
            self.waiting.get(event.queue, {}).pop(event.uniqueid, None)
        elif isinstance(event, ev.PbxSnapshot):
            now = self.clock.now()
            fresh: dict[str, dict[str, tuple[datetime, str]]] = {}
            for caller in event.queue_callers:
                known = self.waiting.get(caller.queue, {}).get(caller.uniqueid)
                fresh.setdefault(caller.queue, {})[caller.uniqueid] = known or (now, caller.channel)
            self.waiting = fresh
        return []

    def oldest_waiting(self, queue: str, *, excluding_stand_ins: bool = True) -> datetime | None:
        prefix = "Local/"
        context = STAND_IN_CONTEXT.format(queue=queue)
        times = [
            since
            for since, channel in self.waiting.get(queue, {}).values()
            if not (excluding_stand_ins and channel.startswith(prefix) and f"@{context}-" in channel)
        ]
        return min(times) if times else None

    def register(self, intake) -> None:
        for event_type in (ev.QueueCallerJoined, ev.QueueCallerLeft, ev.QueueCallerAbandoned, ev.PbxSnapshot):
            intake.add_handler(event_type, self.apply)


def due_callbacks(pending: list[PendingCallback], line: WaitingLine, in_progress: set[str]) -> list[PendingCallback]:
    """Callbacks whose turn has come: at most one per queue at a time (the oldest), and only
    when no caller who entered that queue earlier is still waiting."""
    due: list[PendingCallback] = []
    for queue in sorted({p.queue for p in pending}):
        if queue in in_progress:
            continue
        first = min((p for p in pending if p.queue == queue), key=lambda p: (p.entered_queue_at, p.id))
        oldest = line.oldest_waiting(queue)
        if oldest is None or oldest >= first.entered_queue_at:
            due.append(first)
    return due


def retry_delay(attempts: int) -> timedelta:
    """A customer who did not answer is tried again after 2, 5, then 10 minutes."""
    return timedelta(minutes=(2, 5, 10)[min(attempts - 1, 2)]) if attempts > 0 else timedelta(0)
