"""Fencing a resync snapshot: what events told while it was taken wins over it. Pure: no I/O.

A snapshot takes two AMI list requests (CoreShowChannels, then QueueStatus); under load that
is a while, and events keep arriving meanwhile. They go to the intake *before* the snapshot,
so a snapshot applied as is would undo them: a caller who joined after CoreShowChannels was
answered "vanished during outage", a caller who left after QueueStatus was put back in the
queue, a channel hung up meanwhile came back as a ghost. `SnapshotFence` watches every event
submitted (in intake order): `open()` marks the event sequence before the first request,
`close(snapshot)` after the last answer, and corrects the snapshot per channel, queue caller
and queue member with the newer truth the events in between carried. Nothing touched in that
window is undone; what nobody mentioned (a channel that really ended during an outage) is still
closed by the snapshot.

It also keeps the set of channels it knows (from the last snapshot and Newchannel/Hangup
since): an event about a channel it never heard of means events were missed, a reason to resync
(`drift`); a blind periodic overwrite is not needed otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ...core import events as ev

# channel-level events: their uniqueid must be a channel we know, else we missed its Newchannel
_CHANNEL_EVENTS = (ev.ChannelAnswered, ev.ChannelStateChanged, ev.ChannelHungup)


@dataclass
class _Window:
    start_seq: int
    channels: dict[str, ev.ChannelSnapshot | None] = field(default_factory=dict)  # None: hung up
    states: dict[str, str] = field(default_factory=dict)
    callers: dict[tuple[str, str], ev.QueueCallerJoined | None] = field(default_factory=dict)
    members: dict[tuple[str, str], ev.QueueMemberChanged | None] = field(default_factory=dict)


@dataclass(frozen=True)
class FenceReport:
    """What a fenced snapshot kept from the events of its window."""

    events: int  # events seen between open and close
    corrected: int  # channels, callers and members whose snapshot view was replaced by the events'


class SnapshotFence:
    def __init__(self) -> None:
        self.seq = 0  # events observed so far
        self._window: _Window | None = None
        self.known: set[str] | None = None  # live channel ids; None until the first snapshot
        self.drift = ""  # why a resync looks needed ("" when nothing suggests it)

    def observe(self, event: ev.Event) -> None:
        """Called for every event, in the order it is submitted to the intake."""
        self.seq += 1
        uniqueid = getattr(event, "uniqueid", "")
        if self.known is not None and uniqueid:
            if isinstance(event, ev.ChannelCreated):
                self.known.add(uniqueid)
            elif isinstance(event, _CHANNEL_EVENTS) and uniqueid not in self.known and not self.drift:
                self.drift = f"{event.topic} for channel {uniqueid} never seen created"
            if isinstance(event, ev.ChannelHungup):
                self.known.discard(uniqueid)
        if isinstance(event, ev.PbxLinkDown) and not self.drift:
            self.drift = f"{event.link} link down"
        window = self._window
        if window is None:
            return
        if isinstance(event, ev.ChannelCreated):
            window.channels[uniqueid] = ev.ChannelSnapshot(
                uniqueid=uniqueid,
                linkedid=event.linkedid,
                channel=event.channel,
                state=event.state,
                caller_number=event.caller_number,
                context=event.context,
                exten=event.exten,
            )
        elif isinstance(event, ev.ChannelAnswered):
            window.states[uniqueid] = "Up"
        elif isinstance(event, ev.ChannelStateChanged):
            window.states[uniqueid] = event.state
        elif isinstance(event, ev.ChannelHungup):
            window.channels[uniqueid] = None
            for key in [k for k in window.callers if k[1] == uniqueid]:
                window.callers[key] = None
        elif isinstance(event, ev.QueueCallerJoined):
            window.callers[(event.queue, uniqueid)] = event
        elif isinstance(event, (ev.QueueCallerLeft, ev.QueueCallerAbandoned)):
            window.callers[(event.queue, uniqueid)] = None
        elif isinstance(event, ev.QueueMemberChanged):
            window.members[(event.queue, event.interface)] = None if event.change == "removed" else event

    def open(self) -> int:
        """Mark the event sequence before the snapshot's first request; returns it."""
        self._window = _Window(start_seq=self.seq)
        return self.seq

    def close(self, snapshot: ev.PbxSnapshot) -> tuple[ev.PbxSnapshot, FenceReport]:
        """The snapshot with what the events of its window told about each channel, caller and
        member put over what it says (the events were applied before it and are newer)."""
        window, self._window = self._window, None
        if window is None:
            window = _Window(start_seq=self.seq)
        corrected = 0

        channels: dict[str, ev.ChannelSnapshot] = {}
        for channel in snapshot.channels:
            if window.channels.get(channel.uniqueid, channel) is None:
                corrected += 1  # hung up meanwhile: not a live channel
                continue
            state = window.states.get(channel.uniqueid)
            if state is not None and state != channel.state:
                channel = replace(channel, state=state)
                corrected += 1
            channels[channel.uniqueid] = channel
        for uniqueid, created in window.channels.items():
            if created is not None and uniqueid not in channels:
                state = window.states.get(uniqueid, created.state)
                channels[uniqueid] = replace(created, state=state)
                corrected += 1  # created after CoreShowChannels answered

        callers: dict[tuple[str, str], ev.QueueCallerJoined] = {}
        for caller in snapshot.queue_callers:
            key = (caller.queue, caller.uniqueid)
            if (key in window.callers and window.callers[key] is None) or caller.uniqueid not in channels:
                corrected += 1  # left the queue (or hung up) meanwhile
                continue
            callers[key] = caller
        for key, joined in window.callers.items():
            if joined is not None and key not in callers and joined.uniqueid in channels:
                callers[key] = replace(joined, node=snapshot.node)
                corrected += 1

        members: dict[tuple[str, str], ev.QueueMemberChanged] = {}
        for member in snapshot.queue_members:
            key = (member.queue, member.interface)
            if key in window.members:
                newer = window.members[key]
                corrected += 1
                if newer is None:
                    continue
                member = replace(newer, change="snapshot", node=snapshot.node)
            members[key] = member
        for key, newer in window.members.items():
            if newer is not None and key not in members:
                members[key] = replace(newer, change="snapshot", node=snapshot.node)
                corrected += 1

        fenced = replace(
            snapshot,
            channels=tuple(channels.values()),
            queue_members=tuple(members.values()),
            queue_callers=tuple(callers.values()),
        )
        self.known = set(channels)
        self.drift = ""
        return fenced, FenceReport(events=self.seq - window.start_seq, corrected=corrected)
