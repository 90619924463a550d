"""Take a snapshot of what Asterisk holds, to reconcile after a (re)connect and periodically."""

from __future__ import annotations

import logging

from ...core import events as ev
from .ami import AmiLink
from .ari import AriLink
from .translate import _member, _number

logger = logging.getLogger(__name__)
_snapshot_member = _member("snapshot")


async def take_snapshot(ami: AmiLink, ari: AriLink | None, node: str) -> ev.PbxSnapshot:
    channels = await ami.list_action({"Action": "CoreShowChannels"})
    queue = await ami.list_action({"Action": "QueueStatus"})
    members, callers = [], []
    for fields in queue:
        name = fields.get("event")
        if name == "QueueMember":
            members.append(_snapshot_member(fields, node))
        elif name == "QueueEntry":
            callers.append(
                ev.QueueCallerJoined(
                    queue=fields.get("queue", ""),
                    uniqueid=fields.get("uniqueid", ""),
                    linkedid=fields.get("linkedid", ""),
                    channel=fields.get("channel", ""),
                    caller_number=_number(fields.get("calleridnum")),
                    position=int(fields.get("position") or 0),
                    node=node,
                )
            )
    stasis: list[str] = []
    if ari is not None and ari.is_up:
        stasis = await ari.channel_ids()
    return ev.PbxSnapshot(
        channels=tuple(
            ev.ChannelSnapshot(
                uniqueid=c.get("uniqueid", ""),
                linkedid=c.get("linkedid", ""),
                channel=c.get("channel", ""),
                state=c.get("channelstatedesc", ""),
                caller_number=_number(c.get("calleridnum")),
                context=c.get("context", ""),
                exten=c.get("exten", ""),
            )
            for c in channels
            if c.get("event") == "CoreShowChannel"
        ),
        queue_members=tuple(members),
        queue_callers=tuple(callers),
        stasis_channel_ids=tuple(stasis),
        node=node,
    )
