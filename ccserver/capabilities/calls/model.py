"""Call records: one row per call, built from queue and channel events. Pure: no I/O.

A record opens when a caller joins a queue and closes when the caller's channel hangs up (or a
resync shows it is gone). A held customer whose agent's phone hung up is put back in the queue
([ccserver-requeue]): the same record goes on, keeping its first answer (agent, wait, the first
agent's talk seconds, as after a transfer); the later agents' parts are in the call's legs. When
that requeue fails (queue closed, nobody logged in) the record's end reason says so. Each change is published so the database writer can upsert by
uniqueid: a record is stored when it opens (nothing lost if the server stops mid-call) and
overwritten when it ends (never duplicated).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, ClassVar

from ...core import events as ev
from ...core.clock import Clock

OUTCOMES = ("answered", "abandoned", "callback", "overflow", "refused")
REFUSED_CAUSE = 34  # Q.850 "no circuit/channel available": what the admission dialplan hangs up with


@dataclass(frozen=True)
class CallRecord:
    uniqueid: str
    linkedid: str
    channel: str
    caller_number: str
    queue: str
    entered_queue_at: datetime
    direction: str = "inbound"
    overflowed_from: str = ""
    agent: str = ""
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    wait_seconds: int | None = None
    talk_seconds: int | None = None
    outcome: str = ""
    hangup_cause: int | None = None  # Q.850 code (16 normal clearing)
    hangup_reason: str = ""
    data: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["data"] = dict(self.data)
        return row


@dataclass(slots=True)
class CallRecordChanged(ev.DomainEvent):
    """A call record opened or changed (`ended` when it is final)."""

    topic: ClassVar[str] = "call_record_changed"
    record: CallRecord | None = None
    ended: bool = False


# why a requeue failed ([ccserver-requeue]'s status), as the call record's end reason
REQUEUE_FAILURES = {
    "CLOSED": "queue closed",
    "JOINEMPTY": "nobody logged in to the queue",
    "LEAVEEMPTY": "nobody logged in to the queue",
    "JOINUNAVAIL": "nobody available in the queue",
    "LEAVEUNAVAIL": "nobody available in the queue",
    "FULL": "queue full",
    "TIMEOUT": "nobody answered in time",
    "NOQUEUE": "no queue to go back to",
}


def requeue_failure(status: str) -> str:
    """The end reason of a call whose customer could not be put back in their queue."""
    return "requeue failed: " + REQUEUE_FAILURES.get(status, (status or "unknown").lower())


def _direction(channel: str, queue: str) -> str:
    """A callback's stand-in (Local/<number>@ccq-<queue>-cbqueue) is a callback leg, a customer
    answering a campaign call joins the campaign's queue (camp-<id>): both are outbound for the
    agent; everything else joining a queue is an inbound caller."""
    if channel.startswith("Local/") and "-cbqueue-" in channel:
        return "callback"
    if queue.startswith("camp-"):
        return "outbound"
    return "inbound"


class CallTracker:
    def __init__(self, clock: Clock, agent_of_interface: Callable[[str], str] | None = None) -> None:
        self.clock = clock
        self.open: dict[str, CallRecord] = {}
        # data the IVR attached before the caller reached a queue (the record opens at the queue)
        self.pending_data: dict[str, dict[str, str]] = {}
        self._agent_of = agent_of_interface or (lambda interface: "")
        # calls whose person was erased (GDPR): uniqueid -> what redacts their channel name
        # (a callback leg's carries the number); their records never carry the caller again
        self.erased: dict[str, Callable[[str], str]] = {}
        # calls put back in their queue after an answer: uniqueid -> how many times
        self.requeued: dict[str, int] = {}
        # why a call is ending, said by the dialplan before the hang-up (a failed requeue)
        self.end_reasons: dict[str, str] = {}

    def load_open(self, records: list[CallRecord]) -> None:
        """Records stored as open by a previous run: the next resync closes the vanished ones."""
        for record in records:
            self.open[record.uniqueid] = record

    def apply(self, event: ev.Event) -> list[ev.Event]:
        handler = self._handlers.get(type(event))
        return handler(self, event) if handler else []

    def erase(self, uniqueids: Iterable[str], redact: Callable[[str], str]) -> None:
        """Forget the caller of these calls (live, or ended with an event still on its way to
        the database): the records written from now on are anonymous."""
        uniqueids = [u for u in uniqueids if u]
        self.erased.update(dict.fromkeys(uniqueids, redact))
        for uniqueid in uniqueids:
            self.pending_data.pop(uniqueid, None)
            record = self.open.get(uniqueid)
            if record is not None:
                self.open[uniqueid] = self.anonymous(record)

    def anonymous(self, record: CallRecord) -> CallRecord:
        """`record` as it may be stored: without the caller if that person was erased."""
        if record.uniqueid not in self.erased:
            return record
        return replace(record, caller_number="", data=(), channel=self.erased[record.uniqueid](record.channel))

    def _changed(self, record: CallRecord, ended: bool = False) -> list[ev.Event]:
        record = self.anonymous(record)
        if ended:
            self.open.pop(record.uniqueid, None)
        else:
            self.open[record.uniqueid] = record
        return [CallRecordChanged(record=record, ended=ended)]

    def _joined(self, e: ev.QueueCallerJoined) -> list[ev.Event]:
        record = self.open.get(e.uniqueid)
        if record is None:
            data = self.pending_data.pop(e.uniqueid, {})
            record = CallRecord(
                uniqueid=e.uniqueid,
                linkedid=e.linkedid or e.uniqueid,
                channel=e.channel,
                caller_number=e.caller_number,
                queue=e.queue,
                entered_queue_at=self.clock.now(),
                data=tuple(sorted(data.items())),
                direction=_direction(e.channel, e.queue),
            )
        elif record.queue != e.queue:
            record = replace(record, overflowed_from=record.queue, queue=e.queue, outcome="")
        else:
            return []
        return self._changed(record)

    def _connected(self, e: ev.AgentConnected) -> list[ev.Event]:
        record = self.open.get(e.uniqueid)
        if record is None or (e.uniqueid in self.requeued and record.answered_at is not None):
            return []  # a requeued call answered again: the record keeps its first answer
        record = replace(
            record,
            answered_at=self.clock.now(),
            wait_seconds=e.hold_time,
            agent=self._agent_of(e.interface) or e.member_name,
            outcome="answered",
        )
        return self._changed(record)

    def _completed(self, e: ev.AgentCompleted) -> list[ev.Event]:
        record = self.open.get(e.uniqueid)
        if record is None or (e.uniqueid in self.requeued and record.talk_seconds is not None):
            return []  # a later agent of a requeued call: their part is their leg's
        return self._changed(replace(record, talk_seconds=e.talk_time))

    def _abandoned(self, e: ev.QueueCallerAbandoned) -> list[ev.Event]:
        record = self.open.get(e.uniqueid)
        if record is None:
            return []
        return self._changed(replace(record, outcome="abandoned", wait_seconds=e.hold_time))

    def _overflowed(self, e: ev.QueueOverflowed) -> list[ev.Event]:
        record = self.open.get(e.uniqueid)
        if record is None:
            return []
        return self._changed(replace(record, outcome="overflow", wait_seconds=self._waited(record)))

    def _callback(self, e: ev.CallbackRequested) -> list[ev.Event]:
        record = self.open.get(e.uniqueid)
        if record is None:
            return []
        return self._changed(replace(record, outcome="callback", wait_seconds=self._waited(record)))

    def _data(self, e: ev.CallDataSet) -> list[ev.Event]:
        record = self.open.get(e.uniqueid)
        if record is None:
            if len(self.pending_data) >= 10_000:  # callers who never reached a queue
                self.pending_data.pop(next(iter(self.pending_data)))
            self.pending_data.setdefault(e.uniqueid, {}).update(e.data)
            return []
        merged = dict(record.data)
        merged.update(e.data)
        return self._changed(replace(record, data=tuple(sorted(merged.items()))))

    def _refused(self, e: ev.CallRefused) -> list[ev.Event]:
        """Refused at admission (before any queue): a record of its own, ended at once."""
        self.pending_data.pop(e.uniqueid, None)
        now = self.clock.now()
        record = CallRecord(
            uniqueid=e.uniqueid,
            linkedid=e.linkedid or e.uniqueid,
            channel=e.channel,
            caller_number=e.caller_number,
            queue="",
            entered_queue_at=now,
            ended_at=now,
            wait_seconds=0,
            outcome="refused",
            hangup_cause=REFUSED_CAUSE,
            hangup_reason=f"refused: {e.reason or 'capacity'} (max_concurrent_calls {e.limit})",
        )
        self.open.pop(e.uniqueid, None)
        return [CallRecordChanged(record=record, ended=True)]

    def _closed(self, e: ev.QueueClosed) -> list[ev.Event]:
        """A caller who found the queue closed: a record of its own (outcome 'closed'), ended
        at once; the call data the IVR attached on the way comes with it."""
        data = self.pending_data.pop(e.uniqueid, {})
        now = self.clock.now()
        record = CallRecord(
            uniqueid=e.uniqueid,
            linkedid=e.linkedid or e.uniqueid,
            channel=e.channel,
            caller_number=e.caller_number,
            queue=e.queue,
            entered_queue_at=now,
            ended_at=now,
            wait_seconds=0,
            outcome="closed",
            hangup_reason="queue closed",
            data=tuple(sorted(data.items())),
            direction=_direction(e.channel, e.queue),
        )
        self.open.pop(e.uniqueid, None)
        return [CallRecordChanged(record=record, ended=True)]

    def _requeued(self, e: ev.CallRequeued) -> list[ev.Event]:
        if e.uniqueid in self.open:
            self.requeued[e.uniqueid] = self.requeued.get(e.uniqueid, 0) + 1
        return []

    def _requeue_failed(self, e: ev.RequeueFailed) -> list[ev.Event]:
        if e.uniqueid in self.open:
            self.end_reasons[e.uniqueid] = requeue_failure(e.status)
        return []

    def _hungup(self, e: ev.ChannelHungup) -> list[ev.Event]:
        self.pending_data.pop(e.uniqueid, None)
        record = self.open.get(e.uniqueid)
        if record is None:
            return []
        return self._close(record, e.cause, self.end_reasons.get(e.uniqueid) or e.cause_text)

    def _snapshot(self, snapshot: ev.PbxSnapshot) -> list[ev.Event]:
        alive = {c.uniqueid for c in snapshot.channels}
        out: list[ev.Event] = []
        for record in list(self.open.values()):
            if record.uniqueid not in alive:
                out += self._close(record, None, "vanished during outage")
        return out

    def _close(self, record: CallRecord, cause: int | None, reason: str) -> list[ev.Event]:
        self.requeued.pop(record.uniqueid, None)
        self.end_reasons.pop(record.uniqueid, None)
        now = self.clock.now()
        outcome = record.outcome
        if record.answered_at is not None:
            outcome = "answered"
        elif outcome not in ("callback", "overflow"):
            outcome = "abandoned"
        wait = record.wait_seconds if record.wait_seconds is not None else self._waited(record)
        talk = record.talk_seconds
        if record.answered_at is not None and talk is None:
            talk = max(0, int((now - record.answered_at).total_seconds()))
        return self._changed(
            replace(
                record,
                ended_at=now,
                outcome=outcome,
                wait_seconds=wait,
                talk_seconds=talk,
                hangup_cause=cause,
                hangup_reason=reason,
            ),
            ended=True,
        )

    def _waited(self, record: CallRecord) -> int:
        return max(0, int((self.clock.now() - record.entered_queue_at).total_seconds()))

    _handlers: ClassVar[dict] = {
        ev.QueueCallerJoined: _joined,
        ev.AgentConnected: _connected,
        ev.AgentCompleted: _completed,
        ev.QueueCallerAbandoned: _abandoned,
        ev.QueueOverflowed: _overflowed,
        ev.CallbackRequested: _callback,
        ev.CallDataSet: _data,
        ev.ChannelHungup: _hungup,
        ev.CallRefused: _refused,
        ev.QueueClosed: _closed,
        ev.CallRequeued: _requeued,
        ev.RequeueFailed: _requeue_failed,
        ev.PbxSnapshot: _snapshot,
    }

    def register(self, intake) -> None:
        for event_type in self._handlers:
            intake.add_handler(event_type, self.apply)
