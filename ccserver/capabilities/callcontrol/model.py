"""Call control from the agent desk: pure rules and the live state of each controlled call.

A call is known by its id, the customer's channel uniqueid (the call record's). Hold is an
attended transfer to the silent [ccserver-hold] extension: the customer stays alone in the call's
bridge and hears music on hold from Asterisk, the queue call (its record, queue_log, the
customer's MixMonitor) goes on untouched; resume cancels it. Should the agent's phone hang up
while holding, the customer goes back to the call's queue at the front ([ccserver-requeue]),
when the call came from one of the call center's queues (`requeue_queue`). Transfers go through
[ccserver-xfer] with a target the server checked (never text a user typed)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import ClassVar

from ...core import events as ev
from ...core.errors import InvalidInput
from ...core.text import Text

DTMF_RE = re.compile(r"^[0-9*#A-D]{1,32}$")
SIP_USER_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
QUEUE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
HOLD_CONTEXT, HOLD_EXTEN = "ccserver-hold", "1"
XFER_CONTEXT = "ccserver-xfer"
THREEWAY_CODE = "*3"  # features.conf atxferthreeway: typed on the agent's channel by the server
XFER_EXTEN = {"agent": "1", "queue": "2", "external": "3"}
TRANSFER_KINDS = tuple(XFER_EXTEN)
# why a transfer failed, as the desk says it (DIALSTATUS / QUEUESTATUS)
REASONS = {
    "BUSY": "the target is busy",
    "NOANSWER": "the target did not answer",
    "CHANUNAVAIL": "the target's phone is unreachable",
    "CONGESTION": "the line is congested",
    "JOINEMPTY": "nobody is logged in to the queue",
    "LEAVEEMPTY": "the queue emptied",
    "JOINUNAVAIL": "nobody in the queue is available",
    "LEAVEUNAVAIL": "nobody in the queue is available",
    "TIMEOUT": "nobody in the queue answered in time",
    "FULL": "the queue is full",
    "CLOSED": "the queue is closed now (opening hours)",
    "CANCEL": "the transfer was cancelled",
}


def requeue_queue(queue: str, direction: str, queues: set[str] | frozenset[str]) -> str:
    """The queue a held customer goes back to if the agent's phone hangs up: the call's own
    queue when it is one of `queues` (the call center's) and the call an inbound or callback
    one; "" otherwise (a click-to-dial or campaign call: it ends, as before)."""
    if direction not in ("inbound", "callback") or queue not in queues or not QUEUE_RE.match(queue):
        return ""
    return queue


def check_digits(digits: object) -> str:
    """DTMF to send: 0-9, *, #, A-D, at most 32."""
    if not isinstance(digits, str) or not DTMF_RE.match(digits):
        raise InvalidInput("digits: 1 to 32 of 0-9 * # A-D", field="digits")
    return digits


def external_number(number: object, region: str = "FR") -> str:
    """An external number in E.164, checked with phonenumbers (a valid number, nothing else)."""
    import phonenumbers  # pure computation; imported here so the model's import stays light

    if not isinstance(number, str) or not number.strip() or len(number) > 32:
        raise InvalidInput("target: a phone number", field="target")
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        raise InvalidInput(Text("target: %(number)r is not a phone number", number=number), field="target") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput(Text("target: %(number)r is not a valid phone number", number=number), field="target")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class TransferTarget:
    kind: str  # agent, queue, external
    name: str  # the agent's username, the queue's name, the E.164 number
    dest: str  # what [ccserver-xfer] dials: SIP user, queue name, E.164 number

    @property
    def exten(self) -> str:
        return XFER_EXTEN[self.kind]

    def label(self) -> str:
        return f"{self.kind} {self.name}"


def check_kind(kind: object) -> str:
    if kind not in XFER_EXTEN:
        raise InvalidInput(Text("kind: one of %(value)s", value=", ".join(TRANSFER_KINDS)), field="kind")
    return str(kind)


def reason_of(status: str) -> str:
    return REASONS.get(status, f"the transfer failed ({status or 'unknown reason'})")


@dataclass(frozen=True)
class ControlledCall:
    """What the desk shows of a call it controls."""

    uniqueid: str
    agent: str
    agent_channel: str = ""
    held: bool = False
    muted: bool = False
    consulting: str = ""  # an attended transfer in progress: its target's label
    # the hold (or consultation) leg is in place: the agent's channel entered its bridge. Until
    # then Asterisk is still taking the transfer's digits, and a cancel would be lost
    settled: bool = False
    transfer: str = ""  # the last transfer: "blind agent bob", "failed: ...", "completed"...
    reason: str = ""  # why the last transfer failed
    conference: str = ""  # a three-way call (consultation merged): the third party's label

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(slots=True)
class CallControlChanged(ev.DomainEvent):
    """A controlled call's state changed (held, resumed, muted, consulting, transferred, a
    transfer failed with its reason): pushed to the agent's desk."""

    topic: ClassVar[str] = "call_control_changed"
    call: ControlledCall | None = None
    ended: bool = False


class CallControlBoard:
    """Controlled calls by id. `apply` takes PBX events and returns what to publish."""

    def __init__(self) -> None:
        self.calls: dict[str, ControlledCall] = {}
        self.by_agent_channel: dict[str, str] = {}

    def track(self, call: ControlledCall) -> ControlledCall:
        old = self.calls.get(call.uniqueid)
        if old is not None and old.agent_channel != call.agent_channel:
            self.by_agent_channel.pop(old.agent_channel, None)
        self.calls[call.uniqueid] = call
        if call.agent_channel:
            self.by_agent_channel[call.agent_channel] = call.uniqueid
        return call

    def update(self, uniqueid: str, **changes) -> list[ev.Event]:
        call = self.calls.get(uniqueid)
        if call is None:
            return []
        new = replace(call, **changes)
        if new == call:
            return []
        self.track(new)
        return [CallControlChanged(call=new)]

    def apply(self, event: ev.Event) -> list[ev.Event]:
        if isinstance(event, ev.ChannelHeld):
            uniqueid = self.by_agent_channel.get(event.channel)
            return self.update(uniqueid, held=True) if uniqueid else []
        if isinstance(event, ev.ChannelUnheld):
            uniqueid = self.by_agent_channel.get(event.channel)
            return self.update(uniqueid, held=False, consulting="", settled=False) if uniqueid else []
        if isinstance(event, ev.BridgeEntered):
            uniqueid = self.by_agent_channel.get(event.channel)
            call = self.calls.get(uniqueid) if uniqueid else None
            return self.update(uniqueid, settled=True) if call is not None and call.held else []
        if isinstance(event, ev.TransferFailed):
            uniqueid = event.xfer_id if event.xfer_id in self.calls else ""
            if not uniqueid:
                return []
            return self.update(uniqueid, transfer="failed", reason=reason_of(event.status), consulting="")
        if isinstance(event, ev.CallRequeued):
            # the customer went back to the queue (their agent's phone hung up while holding):
            # no longer that agent's call; the next agent's desk takes it from the queue
            call = self.calls.pop(event.uniqueid, None)
            if call is None:
                return []
            if self.by_agent_channel.get(call.agent_channel) == call.uniqueid:
                del self.by_agent_channel[call.agent_channel]
            return [CallControlChanged(call=call, ended=True)]
        if isinstance(event, ev.ChannelHungup):
            call = self.calls.pop(event.uniqueid, None)
            if call is not None:  # the customer's channel: the call is over
                self.by_agent_channel.pop(call.agent_channel, None)
                return [CallControlChanged(call=call, ended=True)]
            uniqueid = self.by_agent_channel.pop(event.channel, None)
            if uniqueid and uniqueid in self.calls:
                # the agent left the call (a blind or completed transfer, or a hang-up); the
                # call stays known until the customer's channel ends (a failed transfer's
                # reason still reaches the desk)
                return self.update(
                    uniqueid, agent_channel="", held=False, muted=False, consulting="", settled=False, conference=""
                )
            return []
        return []
