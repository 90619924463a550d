"""Raw AMI messages -> typed PbxEvents (ARI: `ari_translate`). Nothing raw goes past this module.

AMI messages arrive as panoramisk `Message` objects (case-insensitive dicts); ARI events as the
JSON dicts aioari hands us. Each translator reads only the fields the domain needs. Whatever a
caller controls (caller-ID name and number, DTMF, call data and numbers the dialplan passes on
in UserEvents) is normalized here by `core.untrusted`, once: past this module it holds no control
characters and has a sane length.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ...core import events as ev
from ...core.untrusted import ami_unescape, caller_name, caller_number, clean_text, for_log

logger = logging.getLogger(__name__)

_NO_VALUE = ("", "")
# A channel snapshot in an AMI event is always these headers, in this order (after Channel,
# ChannelState, ChannelStateDesc), each name with the same prefix ("", "Dest", "Spyee"...).
# Asterisk writes CallerIDNum and ConnectedLineNum unescaped: a caller whose number holds CR/LF
# (a SIP From user "06%0D%0AQueue: x") adds headers of their own right after it. Such an event
# is refused as a whole (`tampered`). manager.conf's eventfilter already drops events where the
# caller wrote a blank line (a whole forged event); the dialplan cleans the number on entry.
_SNAPSHOT_TAIL = (
    "calleridnum",
    "calleridname",
    "connectedlinenum",
    "connectedlinename",
    "language",
    "accountcode",
    "context",
    "exten",
    "priority",
    "uniqueid",
    "linkedid",
)
# Replies that carry caller-ID in a layout of their own, not a channel snapshot: QueueStatus's
# QueueEntry (app_queue, Asterisk 22) ends with these headers, then ActionID when the action had one.
_OWN_CALLER_LAYOUTS = {
    "QueueEntry": ("calleridnum", "calleridname", "connectedlinenum", "connectedlinename", "wait", "priority"),
}


def ami_fields(message: Any) -> dict[str, str]:
    """Lower-cased field name -> value, read once (panoramisk's dict is case-insensitive but slow)."""
    store = getattr(message, "_store", None)
    if store is not None:
        fields = {key: value for key, (_, value) in store.items()}
    else:
        fields = {str(k).lower(): v for k, v in message.items()}
    for key, value in fields.items():
        if isinstance(value, list):  # a header repeated: the first one is Asterisk's own
            fields[key] = value[0]
    return fields


def _snapshot_keys(prefix: str) -> tuple[list[str], list[str]]:
    found = _SNAPSHOT_KEYS.get(prefix)
    if found is None:
        found = _SNAPSHOT_KEYS[prefix] = (
            [prefix + name for name in _SNAPSHOT_TAIL],
            [prefix + "calleridnum", prefix + "calleridname"],
        )
    return found


_SNAPSHOT_KEYS: dict[str, tuple[list[str], list[str]]] = {}


def tampered(message: Any) -> str | None:
    """Why this AMI message cannot be Asterisk's own (headers injected by caller data), or None.

    A header repeated with the same spelling, or a caller-ID number not followed by the rest of
    its snapshot in Asterisk's fixed order (or, in OriginateResponse, by the name alone, last; in
    QueueEntry, by its own layout), means a value carried line breaks."""
    store = getattr(message, "_store", None)
    if store is None:
        store = {str(k).lower(): (k, v) for k, v in message.items()}
    keys = list(store)
    if keys and keys[-1] == "content":  # panoramisk's body, not a header
        keys.pop()
    for key, (_, value) in store.items():
        if value.__class__ is list:
            return f"header {key!r} repeated"
    own = _OWN_CALLER_LAYOUTS.get(store.get("event", _NO_VALUE)[1])
    for index, key in enumerate(keys):
        if own is not None and key == "calleridnum":
            rest = keys[index:]
            if rest[: len(own)] != list(own) or rest[len(own) :] not in ([], ["actionid"]):
                return f"headers after {key!r} out of order"
            continue
        if key.endswith("calleridnum"):
            prefix = key[:-11]
            full, short = _snapshot_keys(prefix)
            if short[1] not in store:
                continue  # not an Asterisk snapshot (Asterisk always sends both)
            if keys[index : index + 11] != full and keys[index:] != short:
                return f"headers after {key!r} out of order"
    return None


# what Asterisk writes for a caller-ID part it does not have: "<unknown>" in events and
# CoreShowChannel, "unknown" in QueueStatus's QueueEntry (app_queue)
_ABSENT = ("<unknown>", "unknown")


def _number(value: Any) -> str:
    """A caller-ID number from an AMI message ("" when Asterisk has none)."""
    return "" if value in _ABSENT else caller_number(value)


def _name(value: Any) -> str:
    """A caller-ID name from an AMI event ("" when Asterisk has none)."""
    return "" if value in _ABSENT else caller_name(ami_unescape(value))


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _channel_created(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.ChannelCreated(
        uniqueid=f.get("uniqueid", ""),
        linkedid=f.get("linkedid", ""),
        channel=f.get("channel", ""),
        caller_number=_number(f.get("calleridnum")),
        caller_name=_name(f.get("calleridname")),
        context=f.get("context", ""),
        exten=f.get("exten", ""),
        state=f.get("channelstatedesc", ""),
        node=node,
    )


def _new_state(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    state = f.get("channelstatedesc", "")
    if state == "Up":
        return ev.ChannelAnswered(
            uniqueid=f.get("uniqueid", ""), linkedid=f.get("linkedid", ""), channel=f.get("channel", ""), node=node
        )
    return ev.ChannelStateChanged(
        uniqueid=f.get("uniqueid", ""),
        linkedid=f.get("linkedid", ""),
        channel=f.get("channel", ""),
        state=state,
        node=node,
    )


def _hangup(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.ChannelHungup(
        uniqueid=f.get("uniqueid", ""),
        linkedid=f.get("linkedid", ""),
        channel=f.get("channel", ""),
        cause=_int(f.get("cause")),
        cause_text=f.get("cause-txt", ""),
        node=node,
    )


def _bridge(cls: type) -> Callable[[Mapping[str, str], str], ev.PbxEvent]:
    def make(f: Mapping[str, str], node: str) -> ev.PbxEvent:
        return cls(
            bridge_id=f.get("bridgeuniqueid", ""),
            uniqueid=f.get("uniqueid", ""),
            linkedid=f.get("linkedid", ""),
            channel=f.get("channel", ""),
            node=node,
        )

    return make


def _caller_join(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.QueueCallerJoined(
        queue=f.get("queue", ""),
        uniqueid=f.get("uniqueid", ""),
        linkedid=f.get("linkedid", ""),
        channel=f.get("channel", ""),
        caller_number=_number(f.get("calleridnum")),
        position=_int(f.get("position")),
        node=node,
    )


def _caller_leave(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.QueueCallerLeft(
        queue=f.get("queue", ""),
        uniqueid=f.get("uniqueid", ""),
        linkedid=f.get("linkedid", ""),
        position=_int(f.get("position")),
        node=node,
    )


def _caller_abandon(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.QueueCallerAbandoned(
        queue=f.get("queue", ""),
        uniqueid=f.get("uniqueid", ""),
        linkedid=f.get("linkedid", ""),
        position=_int(f.get("position")),
        hold_time=_int(f.get("holdtime")),
        node=node,
    )


def _agent_called(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.AgentCalled(
        queue=f.get("queue", ""),
        uniqueid=f.get("uniqueid", ""),
        linkedid=f.get("linkedid", ""),
        caller_number=_number(f.get("calleridnum")),
        caller_name=_name(f.get("calleridname")),
        interface=f.get("interface", ""),
        member_name=f.get("membername", ""),
        dest_channel=f.get("destchannel", ""),
        node=node,
    )


def _agent_connect(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.AgentConnected(
        queue=f.get("queue", ""),
        uniqueid=f.get("uniqueid", ""),
        linkedid=f.get("linkedid", ""),
        interface=f.get("interface", ""),
        member_name=f.get("membername", ""),
        hold_time=_int(f.get("holdtime")),
        ring_time=_int(f.get("ringtime")),
        node=node,
    )


def _agent_complete(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.AgentCompleted(
        queue=f.get("queue", ""),
        uniqueid=f.get("uniqueid", ""),
        linkedid=f.get("linkedid", ""),
        interface=f.get("interface", ""),
        member_name=f.get("membername", ""),
        talk_time=_int(f.get("talktime")),
        hold_time=_int(f.get("holdtime")),
        reason=f.get("reason", ""),
        node=node,
    )


def _ring_no_answer(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.AgentRingNoAnswer(
        queue=f.get("queue", ""),
        uniqueid=f.get("uniqueid", ""),
        linkedid=f.get("linkedid", ""),
        interface=f.get("interface", ""),
        member_name=f.get("membername", ""),
        ring_time=_int(f.get("ringtime")),
        node=node,
    )


def _member(change: str) -> Callable[[Mapping[str, str], str], ev.PbxEvent]:
    def make(f: Mapping[str, str], node: str) -> ev.PbxEvent:
        interface = f.get("interface") or f.get("location") or f.get("stateinterface", "")
        return ev.QueueMemberChanged(
            change=change,
            queue=f.get("queue", ""),
            interface=interface,
            member_name=f.get("membername") or f.get("name", ""),
            status=_int(f.get("status")),
            paused=f.get("paused", "0") == "1",
            paused_reason=f.get("pausedreason", ""),
            in_call=f.get("incall", "0") == "1",
            penalty=_int(f.get("penalty")),
            node=node,
        )

    return make


def _chanspy(cls: type) -> Callable[[Mapping[str, str], str], ev.PbxEvent]:
    def make(f: Mapping[str, str], node: str) -> ev.PbxEvent:
        return cls(
            spyer_channel=f.get("spyerchannel", ""),
            spyee_channel=f.get("spyeechannel", ""),
            spyee_uniqueid=f.get("spyeeuniqueid", ""),
            node=node,
        )

    return make


def _mixmonitor(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.MixMonitorStarted(
        uniqueid=f.get("uniqueid", ""), linkedid=f.get("linkedid", ""), channel=f.get("channel", ""), node=node
    )


def _user_event(f: Mapping[str, str], node: str) -> ev.PbxEvent | None:
    """Signals from the generated dialplans: ``UserEvent(CcsOverflow,Queue: ...)`` etc.

    Their own fields are read only after the ``UserEvent`` header: what comes before is the
    channel snapshot, where a caller's data could have slipped a header in."""
    name = f.get("userevent", "")
    keys = list(f)
    body = {k: f[k] for k in keys[keys.index("userevent") + 1 :]} if name else {}
    if name == "CcsOverflow":
        return ev.QueueOverflowed(
            queue=body.get("queue", ""),
            uniqueid=f.get("uniqueid", ""),
            linkedid=f.get("linkedid", ""),
            destination=clean_text(body.get("destination")),
            node=node,
        )
    if name == "CcsClosed":
        return ev.QueueClosed(
            queue=clean_text(body.get("queue"), 64),
            uniqueid=f.get("uniqueid", ""),
            linkedid=f.get("linkedid", ""),
            channel=f.get("channel", ""),
            caller_number=_number(f.get("calleridnum")),
            node=node,
        )
    if name == "CcsDialer":
        return ev.DialerReported(
            attempt=clean_text(body.get("attempt")),
            stage=clean_text(body.get("stage")),
            result=clean_text(body.get("result")),
            cause=clean_text(body.get("cause")),
            uniqueid=f.get("uniqueid", ""),
            linkedid=f.get("linkedid", ""),
            node=node,
        )
    if name == "CcsCallData":  # UserEvent(CcsCallData,ccs_key: value,...): call data for the desk
        data = tuple(
            sorted(
                (clean_text(k[4:], 64), clean_text(v)) for k, v in body.items() if k.startswith("ccs_") and len(k) > 4
            )
        )
        return ev.CallDataSet(uniqueid=f.get("uniqueid", ""), linkedid=f.get("linkedid", ""), data=data, node=node)
    if name == "CcsRefused":
        return ev.CallRefused(
            uniqueid=f.get("uniqueid", ""),
            linkedid=f.get("linkedid", ""),
            channel=f.get("channel", ""),
            caller_number=_number(f.get("calleridnum")),
            exten=f.get("exten", ""),
            reason=f.get("reason", ""),
            limit=_int(f.get("limit")),
            node=node,
        )
    if name == "CcsCallback":
        return ev.CallbackRequested(
            queue=body.get("queue", ""),
            uniqueid=f.get("uniqueid", ""),
            linkedid=f.get("linkedid", ""),
            number=caller_number(body.get("number")),
            entered_at=clean_text(body.get("enteredat"), 32),
            node=node,
        )
    if name == "CcsTransferFailed":
        return ev.TransferFailed(
            uniqueid=f.get("uniqueid", ""),
            linkedid=f.get("linkedid", ""),
            channel=f.get("channel", ""),
            status=clean_text(body.get("status"), 32),
            back=clean_text(body.get("back"), 64),
            xfer_id=clean_text(body.get("xferid"), 64),
            node=node,
        )
    if name == "CcsRequeued":
        return ev.CallRequeued(
            queue=clean_text(body.get("queue"), 64),
            uniqueid=f.get("uniqueid", ""),
            linkedid=f.get("linkedid", ""),
            node=node,
        )
    if name == "CcsRequeueFailed":
        return ev.RequeueFailed(
            queue=clean_text(body.get("queue"), 64),
            uniqueid=f.get("uniqueid", ""),
            linkedid=f.get("linkedid", ""),
            status=clean_text(body.get("status"), 32),
            node=node,
        )
    return None


def _hold(cls: type) -> Callable[[Mapping[str, str], str], ev.PbxEvent]:
    def make(f: Mapping[str, str], node: str) -> ev.PbxEvent:
        return cls(
            uniqueid=f.get("uniqueid", ""), linkedid=f.get("linkedid", ""), channel=f.get("channel", ""), node=node
        )

    return make


def _originate_response(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.OriginateResponded(
        action_id=f.get("actionid", ""),
        success=f.get("response", "") == "Success",
        reason=_int(f.get("reason")),
        uniqueid=f.get("uniqueid", ""),
        channel=f.get("channel", ""),
        node=node,
    )


def _fully_booted(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.PbxFullyBooted(node=node)


AMI_TRANSLATORS: dict[str, Callable[[Mapping[str, str], str], ev.PbxEvent | None]] = {
    "Newchannel": _channel_created,
    "Newstate": _new_state,
    "Hangup": _hangup,
    "BridgeEnter": _bridge(ev.BridgeEntered),
    "BridgeLeave": _bridge(ev.BridgeLeft),
    "QueueCallerJoin": _caller_join,
    "QueueCallerLeave": _caller_leave,
    "QueueCallerAbandon": _caller_abandon,
    "AgentCalled": _agent_called,
    "AgentConnect": _agent_connect,
    "AgentComplete": _agent_complete,
    "AgentRingNoAnswer": _ring_no_answer,
    "QueueMemberAdded": _member("added"),
    "QueueMemberRemoved": _member("removed"),
    "QueueMemberPause": _member("paused"),
    "QueueMemberStatus": _member("status"),
    "ChanSpyStart": _chanspy(ev.ChanSpyStarted),
    "ChanSpyStop": _chanspy(ev.ChanSpyStopped),
    "MixMonitorStart": _mixmonitor,
    "FullyBooted": _fully_booted,
    "UserEvent": _user_event,
    "OriginateResponse": _originate_response,
    "Hold": _hold(ev.ChannelHeld),
    "Unhold": _hold(ev.ChannelUnheld),
}


def translate_ami(message: Any, node: str = "") -> ev.PbxEvent | None:
    """Translate one AMI event; None for events the domain does not use."""
    store = getattr(message, "_store", None)
    if store is not None:
        name = store.get("event", _NO_VALUE)[1]
    else:
        name = message.get("Event", "")
    translator = AMI_TRANSLATORS.get(name)
    if translator is None:
        return None
    why = tampered(message)
    if why is not None:
        logger.warning(
            "AMI %s event refused: %s (caller data carrying line breaks?): %s",
            name,
            why,
            for_log(dict(ami_fields(message)), 400),
        )
        return None
    return translator(ami_fields(message), node)
