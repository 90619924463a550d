"""Typed events.

`PbxEvent`s are what the telephony adapters make of raw AMI/ARI messages: raw dicts never go
past `ccserver/adapters/pbx/`. Each event class has a stable `topic` (``<noun>_<past verb>``) that
bus subscribers filter on; capability handlers may publish further domain events (subclasses of
`DomainEvent`) computed from them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


@dataclass(slots=True)
class Event:
    topic: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["topic"] = self.topic
        return data


@dataclass(slots=True)
class PbxEvent(Event):
    """Something Asterisk reported. `node` names the Asterisk instance it came from."""

    node: str = field(default="", kw_only=True)


@dataclass(slots=True)
class DomainEvent(Event):
    """Something the server decided or computed (an agent paused, a call queued...)."""


# --- links -------------------------------------------------------------------------------


@dataclass(slots=True)
class PbxLinkUp(PbxEvent):
    """An AMI or ARI connection is logged in (`link` is ``ami`` or ``ari``)."""

    topic: ClassVar[str] = "pbx_link_up"
    link: str = ""


@dataclass(slots=True)
class PbxLinkDown(PbxEvent):
    topic: ClassVar[str] = "pbx_link_down"
    link: str = ""
    reason: str = ""


@dataclass(slots=True)
class PbxFullyBooted(PbxEvent):
    topic: ClassVar[str] = "pbx_fully_booted"


@dataclass(slots=True)
class ResyncCompleted(PbxEvent):
    """A resync from Asterisk finished; `differences` counts the events it emitted."""

    topic: ClassVar[str] = "resync_completed"
    differences: int = 0


# --- channels ----------------------------------------------------------------------------


@dataclass(slots=True)
class ChannelCreated(PbxEvent):
    topic: ClassVar[str] = "channel_created"
    uniqueid: str = ""
    linkedid: str = ""
    channel: str = ""
    caller_number: str = ""
    caller_name: str = ""
    context: str = ""
    exten: str = ""
    state: str = ""


@dataclass(slots=True)
class ChannelAnswered(PbxEvent):
    topic: ClassVar[str] = "channel_answered"
    uniqueid: str = ""
    linkedid: str = ""
    channel: str = ""


@dataclass(slots=True)
class ChannelStateChanged(PbxEvent):
    topic: ClassVar[str] = "channel_state_changed"
    uniqueid: str = ""
    linkedid: str = ""
    channel: str = ""
    state: str = ""


@dataclass(slots=True)
class ChannelHungup(PbxEvent):
    topic: ClassVar[str] = "channel_hungup"
    uniqueid: str = ""
    linkedid: str = ""
    channel: str = ""
    cause: int = 0
    cause_text: str = ""


@dataclass(slots=True)
class DtmfReceived(PbxEvent):
    topic: ClassVar[str] = "dtmf_received"
    uniqueid: str = ""
    channel: str = ""
    digit: str = ""


@dataclass(slots=True)
class BridgeEntered(PbxEvent):
    topic: ClassVar[str] = "bridge_entered"
    bridge_id: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    channel: str = ""


@dataclass(slots=True)
class BridgeLeft(PbxEvent):
    topic: ClassVar[str] = "bridge_left"
    bridge_id: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    channel: str = ""


# --- queues ------------------------------------------------------------------------------


@dataclass(slots=True)
class QueueCallerJoined(PbxEvent):
    topic: ClassVar[str] = "queue_caller_joined"
    queue: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    channel: str = ""
    caller_number: str = ""
    position: int = 0


@dataclass(slots=True)
class QueueCallerLeft(PbxEvent):
    topic: ClassVar[str] = "queue_caller_left"
    queue: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    position: int = 0


@dataclass(slots=True)
class QueueCallerAbandoned(PbxEvent):
    topic: ClassVar[str] = "queue_caller_abandoned"
    queue: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    position: int = 0
    hold_time: int = 0


@dataclass(slots=True)
class AgentCalled(PbxEvent):
    """A queue rings an agent: the screen-pop trigger."""

    topic: ClassVar[str] = "agent_called"
    queue: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    caller_number: str = ""
    caller_name: str = ""
    interface: str = ""
    member_name: str = ""
    dest_channel: str = ""


@dataclass(slots=True)
class AgentConnected(PbxEvent):
    topic: ClassVar[str] = "agent_connected"
    queue: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    interface: str = ""
    member_name: str = ""
    hold_time: int = 0
    ring_time: int = 0


@dataclass(slots=True)
class AgentCompleted(PbxEvent):
    topic: ClassVar[str] = "agent_completed"
    queue: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    interface: str = ""
    member_name: str = ""
    talk_time: int = 0
    hold_time: int = 0
    reason: str = ""


@dataclass(slots=True)
class AgentRingNoAnswer(PbxEvent):
    topic: ClassVar[str] = "agent_ring_no_answer"
    queue: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    interface: str = ""
    member_name: str = ""
    ring_time: int = 0


@dataclass(slots=True)
class QueueMemberChanged(PbxEvent):
    """A queue member was added, removed, paused or changed status.

    `status` is Asterisk's device state code (1 not in use, 2 in use, 5 unavailable, 6 ringing...);
    `change` is ``added``, ``removed``, ``paused``, ``status`` or ``snapshot`` (from a resync).
    """

    topic: ClassVar[str] = "queue_member_changed"
    change: str = ""
    queue: str = ""
    interface: str = ""
    member_name: str = ""
    status: int = 0
    paused: bool = False
    paused_reason: str = ""
    in_call: bool = False
    penalty: int = 0


# --- supervision / recording --------------------------------------------------------------


@dataclass(slots=True)
class ChanSpyStarted(PbxEvent):
    topic: ClassVar[str] = "chanspy_started"
    spyer_channel: str = ""
    spyee_channel: str = ""
    spyee_uniqueid: str = ""


@dataclass(slots=True)
class ChanSpyStopped(PbxEvent):
    topic: ClassVar[str] = "chanspy_stopped"
    spyer_channel: str = ""
    spyee_channel: str = ""
    spyee_uniqueid: str = ""


@dataclass(slots=True)
class MixMonitorStarted(PbxEvent):
    topic: ClassVar[str] = "mixmonitor_started"
    uniqueid: str = ""
    linkedid: str = ""
    channel: str = ""


# --- ARI / Stasis --------------------------------------------------------------------------


# ARI only reports channels in our Stasis application. The channel id is Asterisk's uniqueid.
# DTMF on a Stasis channel is `DtmfReceived` (above).


@dataclass(slots=True)
class StasisStarted(PbxEvent):
    """A channel entered our Stasis application (``Stasis(<app>,<args>...)``). `state` is the
    channel's state then (``Ring``, ``Up``...)."""

    topic: ClassVar[str] = "stasis_started"
    app: str = ""
    uniqueid: str = ""
    channel: str = ""
    caller_number: str = ""
    caller_name: str = ""
    exten: str = ""
    args: tuple[str, ...] = ()
    state: str = ""


@dataclass(slots=True)
class StasisEnded(PbxEvent):
    topic: ClassVar[str] = "stasis_ended"
    app: str = ""
    uniqueid: str = ""
    channel: str = ""


@dataclass(slots=True)
class PlaybackFinished(PbxEvent):
    """A playback started through ARI ended: `state` ``done`` (played or stopped) or
    ``failed`` (e.g. a missing file). `uniqueid` is the channel it played on ("" when the
    target was not a channel)."""

    topic: ClassVar[str] = "playback_finished"
    playback_id: str = ""
    uniqueid: str = ""
    state: str = ""


@dataclass(slots=True)
class ChannelHangupRequested(PbxEvent):
    """A hang-up was asked for a channel in Stasis (the caller hung up, or a command did)."""

    topic: ClassVar[str] = "channel_hangup_requested"
    uniqueid: str = ""
    channel: str = ""
    cause: int = 0


@dataclass(slots=True)
class ChannelDestroyed(PbxEvent):
    """A channel known to ARI is gone (ARI's counterpart of AMI's Hangup: `ChannelHungup`)."""

    topic: ClassVar[str] = "channel_destroyed"
    uniqueid: str = ""
    channel: str = ""
    cause: int = 0


# --- resync --------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class ChannelSnapshot:
    uniqueid: str
    linkedid: str
    channel: str
    state: str
    caller_number: str = ""
    context: str = ""
    exten: str = ""


@dataclass(slots=True)
class PbxSnapshot(PbxEvent):
    """What Asterisk holds right now (QueueStatus, CoreShowChannels, ARI channels), taken after
    every (re)connect and periodically; handlers reconcile their state with it."""

    topic: ClassVar[str] = "pbx_snapshot"
    channels: tuple[ChannelSnapshot, ...] = ()
    queue_members: tuple[QueueMemberChanged, ...] = ()
    queue_callers: tuple[QueueCallerJoined, ...] = ()
    stasis_channel_ids: tuple[str, ...] = ()


# --- dialplan signals (AMI UserEvent sent by the generated dialplans) ------------------------


@dataclass(slots=True)
class QueueOverflowed(PbxEvent):
    """A caller waited the queue's maximum and was sent to its overflow destination."""

    topic: ClassVar[str] = "queue_overflowed"
    queue: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    destination: str = ""


@dataclass(slots=True)
class QueueClosed(PbxEvent):
    """A caller reached a queue while it was closed (a closed day, a public holiday, outside
    its opening hours) and heard its closed message (``UserEvent(CcsClosed,...)``)."""

    topic: ClassVar[str] = "queue_closed"
    queue: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    channel: str = ""
    caller_number: str = ""


@dataclass(slots=True)
class CallRefused(PbxEvent):
    """The dialplan refused a customer's call for lack of resources (``[ccserver-admission]``:
    more than max_concurrent_calls at once); its channel is hung up with cause 34."""

    topic: ClassVar[str] = "call_refused"
    uniqueid: str = ""
    linkedid: str = ""
    channel: str = ""
    caller_number: str = ""
    exten: str = ""
    reason: str = ""  # capacity
    limit: int = 0


@dataclass(slots=True)
class CallbackRequested(PbxEvent):
    """A waiting caller pressed the callback key (and confirmed a number)."""

    topic: ClassVar[str] = "callback_requested"
    queue: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    number: str = ""
    entered_at: str = ""  # epoch seconds when the caller joined the queue (keeps their place)


@dataclass(slots=True)
class CallDataSet(PbxEvent):
    """Call data a dialplan or the IVR attached to a call (customer id, menu path, language)."""

    topic: ClassVar[str] = "call_data_set"
    uniqueid: str = ""
    linkedid: str = ""
    data: tuple[tuple[str, str], ...] = ()


# --- call control from the desk (capabilities/callcontrol) ------------------------------------


@dataclass(slots=True)
class ChannelHeld(PbxEvent):
    """A channel put its call on hold (AMI Hold): the desk's hold, or a phone's own hold key."""

    topic: ClassVar[str] = "channel_held"
    uniqueid: str = ""
    linkedid: str = ""
    channel: str = ""


@dataclass(slots=True)
class ChannelUnheld(PbxEvent):
    topic: ClassVar[str] = "channel_unheld"
    uniqueid: str = ""
    linkedid: str = ""
    channel: str = ""


@dataclass(slots=True)
class TransferFailed(PbxEvent):
    """A transfer did not reach its target (``UserEvent(CcsTransferFailed,...)`` from
    [ccserver-xfer-failed]): `status` is the DIALSTATUS or QUEUESTATUS (BUSY, NOANSWER,
    CHANUNAVAIL, JOINEMPTY, TIMEOUT...), `back` the SIP user the call goes back to (blind)."""

    topic: ClassVar[str] = "transfer_failed"
    uniqueid: str = ""
    linkedid: str = ""
    channel: str = ""
    status: str = ""
    back: str = ""
    xfer_id: str = ""


@dataclass(slots=True)
class CallRequeued(PbxEvent):
    """A held customer whose agent's phone hung up is put back in their queue, at the front
    (``UserEvent(CcsRequeued,...)`` from [ccserver-requeue], just before its Queue())."""

    topic: ClassVar[str] = "call_requeued"
    queue: str = ""
    uniqueid: str = ""
    linkedid: str = ""


@dataclass(slots=True)
class RequeueFailed(PbxEvent):
    """A held customer whose agent's phone hung up could not be put back in their queue
    (``UserEvent(CcsRequeueFailed,...)`` from [ccserver-requeue]): `status` is why (CLOSED,
    JOINEMPTY: nobody logged in, NOQUEUE, or the QUEUESTATUS the second wait ended with); the
    customer hears "sorry" and the call ends."""

    topic: ClassVar[str] = "requeue_failed"
    queue: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    status: str = ""


# --- outbound dialer ------------------------------------------------------------------------


@dataclass(slots=True)
class OriginateResponded(PbxEvent):
    """The end of an asynchronous Originate: answered (`reason` 4) or why not (5 busy, 3 no
    answer, 8 congestion, 1 hung up, 0 failure)."""

    topic: ClassVar[str] = "originate_responded"
    action_id: str = ""
    success: bool = False
    reason: int = 0
    uniqueid: str = ""
    channel: str = ""


@dataclass(slots=True)
class DialerReported(PbxEvent):
    """A step the dialer's dialplan reports (UserEvent CcsDialer): ``amd`` (result HUMAN,
    MACHINE, NOTSURE), ``abandoned`` (no agent within the wait: message played), ``dialresult``
    (preview mode: the DIALSTATUS of the customer's leg)."""

    topic: ClassVar[str] = "dialer_reported"
    attempt: str = ""
    stage: str = ""
    result: str = ""
    cause: str = ""
    uniqueid: str = ""
    linkedid: str = ""
