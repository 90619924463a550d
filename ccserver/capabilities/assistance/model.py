"""Asking a supervisor for help during a call. Pure: no I/O.

An agent on a call asks (optionally with a short reason): a request opens, tied to that call
(its id is the customer's channel uniqueid, the call record's). It stays open until one of:
- a supervisor takes it (they listen or whisper to the call from their SIP phone): ``taken``;
- the agent cancels it: ``cancelled``;
- the call ends: ``call_ended``.
Each end is final: a request ends once. One open request per call at most (asking again while
one is open is refused: the supervisors already see it).

`AssistanceDesk` holds the open requests (in memory: they live no longer than their call) and
returns the domain events each transition makes: `SupervisorAsked`, `SupervisorRequestEnded`.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import ClassVar

from ...core import events as ev
from ...core.errors import Conflict, InvalidInput, NotFound
from ...core.text import Text

REASON_MAX = 200  # characters: a short note for the supervisor, not a report
END_REASONS = ("taken", "cancelled", "call_ended")
TAKE_MODES = ("listen", "whisper")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_reason(value: object) -> str:
    """The agent's reason: optional text of at most REASON_MAX characters, one line, no control
    characters (it is shown on the wallboards and written to the audit log)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("reason must be text", field="reason")
    text = value.strip()
    if len(text) > REASON_MAX:
        raise InvalidInput(
            Text("reason: at most %(REASON_MAX)s characters (%(count)s given)", REASON_MAX=REASON_MAX, count=len(text)),
            field="reason",
        )
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in text):
        raise InvalidInput("reason: one line of text, without control characters", field="reason")
    return text


def check_mode(value: object) -> str:
    """How the supervisor joins the call on taking a request: listen (default) or whisper."""
    if value is None or value == "":
        return "listen"
    if value not in TAKE_MODES:
        raise InvalidInput(Text("mode: one of %(value)s", value=", ".join(TAKE_MODES)), field="mode")
    return str(value)


def check_request_id(value: object) -> str:
    if not isinstance(value, str) or not REQUEST_ID_RE.match(value):
        raise NotFound(Text("no request %(value)r", value=value), request=str(value)[:64])
    return value


@dataclass(frozen=True)
class AssistanceRequest:
    id: str
    agent: str
    queue: str
    call: str  # the customer's channel uniqueid (the call record's id)
    customer_number: str
    reason: str
    asked_at: datetime
    ended_at: datetime | None = None
    end_reason: str = ""  # taken, cancelled, call_ended
    taken_by: str = ""

    @property
    def open(self) -> bool:
        return self.ended_at is None

    def waiting_seconds(self, now: datetime) -> int:
        end = self.ended_at or now
        return max(0, int((end - self.asked_at).total_seconds()))

    def to_dict(self, now: datetime | None = None) -> dict:
        row = {
            "id": self.id,
            "agent": self.agent,
            "queue": self.queue,
            "call": self.call,
            "customer_number": self.customer_number,
            "reason": self.reason,
            "asked_at": self.asked_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "end_reason": self.end_reason,
            "taken_by": self.taken_by,
            "open": self.open,
        }
        if now is not None:
            row["waiting_seconds"] = self.waiting_seconds(now)
        return row


@dataclass(slots=True)
class SupervisorAsked(ev.DomainEvent):
    """An agent on a call asked for a supervisor (delivered live to the wallboards whose scope
    covers the queue or the agent, and to the agent's desk)."""

    topic: ClassVar[str] = "supervisor_asked"
    id: str = ""
    agent: str = ""
    queue: str = ""
    call: str = ""
    customer_number: str = ""
    reason: str = ""
    at: datetime | None = None


@dataclass(slots=True)
class SupervisorRequestEnded(ev.DomainEvent):
    """A request for a supervisor ended: `reason` taken (by `taken_by`), cancelled by the agent,
    or call_ended."""

    topic: ClassVar[str] = "supervisor_request_ended"
    id: str = ""
    agent: str = ""
    queue: str = ""
    call: str = ""
    reason: str = ""
    taken_by: str = ""
    at: datetime | None = None


def _counter() -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: str(next(numbers))


class AssistanceDesk:
    """The open requests. `new_id` names each request (the service gives unguessable ids)."""

    def __init__(self, new_id: Callable[[], str] | None = None) -> None:
        self.new_id = new_id or _counter()
        self.open: dict[str, AssistanceRequest] = {}  # id -> open request

    def for_call(self, call: str) -> AssistanceRequest | None:
        return next((r for r in self.open.values() if r.call == call), None)

    def get(self, request_id: str) -> AssistanceRequest:
        request = self.open.get(request_id)
        if request is None:
            raise NotFound(
                Text("no open request %(request_id)s (it may have ended)", request_id=request_id), request=request_id
            )
        return request

    def ask(
        self, *, agent: str, queue: str, call: str, customer_number: str, reason: str, now: datetime
    ) -> tuple[AssistanceRequest, list[ev.Event]]:
        if self.for_call(call) is not None:
            raise Conflict("a supervisor was already asked for this call", call=call)
        request = AssistanceRequest(
            id=self.new_id(),
            agent=agent,
            queue=queue,
            call=call,
            customer_number=customer_number,
            reason=reason,
            asked_at=now,
        )
        self.open[request.id] = request
        event = SupervisorAsked(
            id=request.id,
            agent=agent,
            queue=queue,
            call=call,
            customer_number=customer_number,
            reason=reason,
            at=now,
        )
        return request, [event]

    def _end(self, request: AssistanceRequest, why: str, now: datetime, taken_by: str = ""):
        assert why in END_REASONS
        self.open.pop(request.id, None)
        ended = replace(request, ended_at=now, end_reason=why, taken_by=taken_by)
        event = SupervisorRequestEnded(
            id=ended.id, agent=ended.agent, queue=ended.queue, call=ended.call, reason=why, taken_by=taken_by, at=now
        )
        return ended, [event]

    def take(self, request_id: str, supervisor: str, now: datetime) -> tuple[AssistanceRequest, list[ev.Event]]:
        return self._end(self.get(request_id), "taken", now, taken_by=supervisor)

    def cancel(self, call: str, now: datetime) -> tuple[AssistanceRequest, list[ev.Event]]:
        request = self.for_call(call)
        if request is None:
            raise NotFound(Text("no open request for call %(call)s", call=call), call=call)
        return self._end(request, "cancelled", now)

    def call_ended(self, call: str, now: datetime) -> tuple[AssistanceRequest | None, list[ev.Event]]:
        """The call ended: its open request (if any) ends with it; nothing otherwise."""
        request = self.for_call(call)
        if request is None:
            return None, []
        return self._end(request, "call_ended", now)
