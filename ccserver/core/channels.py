"""The live channels Asterisk holds, kept from events and reconciled with snapshots.

Pure state: `apply(event)` returns the events to publish. After an outage, a snapshot shows
which channels ended while we were not listening (they get a `ChannelHungup` with cause text
``vanished during outage``) and which appeared (a `ChannelCreated`, plus `ChannelAnswered` when up).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import events as ev

VANISHED = "vanished during outage"


@dataclass(slots=True)
class LiveChannel:
    uniqueid: str
    linkedid: str
    channel: str
    state: str
    caller_number: str = ""


class ChannelRegistry:
    def __init__(self) -> None:
        self.channels: dict[str, LiveChannel] = {}

    def on_created(self, event: ev.ChannelCreated) -> None:
        self.channels[event.uniqueid] = LiveChannel(
            event.uniqueid, event.linkedid, event.channel, event.state, event.caller_number
        )

    def on_answered(self, event: ev.ChannelAnswered) -> None:
        live = self.channels.get(event.uniqueid)
        if live is not None:
            live.state = "Up"

    def on_state(self, event: ev.ChannelStateChanged) -> None:
        live = self.channels.get(event.uniqueid)
        if live is not None:
            live.state = event.state

    def on_hungup(self, event: ev.ChannelHungup) -> None:
        self.channels.pop(event.uniqueid, None)

    def on_snapshot(self, snapshot: ev.PbxSnapshot) -> list[ev.Event]:
        differences: list[ev.Event] = []
        present = {c.uniqueid: c for c in snapshot.channels}
        for uniqueid, live in list(self.channels.items()):
            if uniqueid not in present:
                del self.channels[uniqueid]
                differences.append(
                    ev.ChannelHungup(
                        uniqueid=uniqueid,
                        linkedid=live.linkedid,
                        channel=live.channel,
                        cause=0,
                        cause_text=VANISHED,
                        node=snapshot.node,
                    )
                )
        for uniqueid, snap in present.items():
            live = self.channels.get(uniqueid)
            if live is None:
                self.channels[uniqueid] = LiveChannel(
                    snap.uniqueid, snap.linkedid, snap.channel, snap.state, snap.caller_number
                )
                differences.append(
                    ev.ChannelCreated(
                        uniqueid=snap.uniqueid,
                        linkedid=snap.linkedid,
                        channel=snap.channel,
                        caller_number=snap.caller_number,
                        context=snap.context,
                        exten=snap.exten,
                        state=snap.state,
                        node=snapshot.node,
                    )
                )
                if snap.state == "Up":
                    differences.append(
                        ev.ChannelAnswered(
                            uniqueid=snap.uniqueid, linkedid=snap.linkedid, channel=snap.channel, node=snapshot.node
                        )
                    )
            elif live.state != snap.state:
                live.state = snap.state
                if snap.state == "Up":
                    differences.append(
                        ev.ChannelAnswered(
                            uniqueid=uniqueid, linkedid=live.linkedid, channel=live.channel, node=snapshot.node
                        )
                    )
                else:
                    differences.append(
                        ev.ChannelStateChanged(
                            uniqueid=uniqueid,
                            linkedid=live.linkedid,
                            channel=live.channel,
                            state=snap.state,
                            node=snapshot.node,
                        )
                    )
        differences.append(ev.ResyncCompleted(differences=len(differences), node=snapshot.node))
        return differences

    def register(self, intake) -> None:
        """Wire the handlers into the intake (composition root calls this)."""
        intake.add_handler(ev.ChannelCreated, self.on_created)
        intake.add_handler(ev.ChannelAnswered, self.on_answered)
        intake.add_handler(ev.ChannelStateChanged, self.on_state)
        intake.add_handler(ev.ChannelHungup, self.on_hungup)
        intake.add_handler(ev.PbxSnapshot, self.on_snapshot)
