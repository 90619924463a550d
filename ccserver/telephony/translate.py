"""Raw AMI/ARI messages -> typed PbxEvents. Nothing raw goes past this module.

AMI messages arrive as panoramisk `Message` objects (case-insensitive dicts); ARI events as the
JSON dicts aioari hands us. Each translator reads only the fields the domain needs.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..core import events as ev

_NO_VALUE = ("", "")


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


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _channel_created(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.ChannelCreated(uniqueid=f.get("uniqueid", ""), linkedid=f.get("linkedid", ""),
                             channel=f.get("channel", ""), caller_number=f.get("calleridnum", ""),
                             caller_name=f.get("calleridname", ""), context=f.get("context", ""),
                             exten=f.get("exten", ""), state=f.get("channelstatedesc", ""), node=node)


def _new_state(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    state = f.get("channelstatedesc", "")
    if state == "Up":
        return ev.ChannelAnswered(uniqueid=f.get("uniqueid", ""), linkedid=f.get("linkedid", ""),
                                  channel=f.get("channel", ""), node=node)
    return ev.ChannelStateChanged(uniqueid=f.get("uniqueid", ""), linkedid=f.get("linkedid", ""),
                                  channel=f.get("channel", ""), state=state, node=node)


def _hangup(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.ChannelHungup(uniqueid=f.get("uniqueid", ""), linkedid=f.get("linkedid", ""),
                            channel=f.get("channel", ""), cause=_int(f.get("cause")),
                            cause_text=f.get("cause-txt", ""), node=node)


def _bridge(cls: type) -> Callable[[Mapping[str, str], str], ev.PbxEvent]:
    def make(f: Mapping[str, str], node: str) -> ev.PbxEvent:
        return cls(bridge_id=f.get("bridgeuniqueid", ""), uniqueid=f.get("uniqueid", ""),
                   linkedid=f.get("linkedid", ""), channel=f.get("channel", ""), node=node)
    return make


def _caller_join(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.QueueCallerJoined(queue=f.get("queue", ""), uniqueid=f.get("uniqueid", ""),
                                linkedid=f.get("linkedid", ""), channel=f.get("channel", ""),
                                caller_number=f.get("calleridnum", ""),
                                position=_int(f.get("position")), node=node)


def _caller_leave(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.QueueCallerLeft(queue=f.get("queue", ""), uniqueid=f.get("uniqueid", ""),
                              linkedid=f.get("linkedid", ""), position=_int(f.get("position")),
                              node=node)


def _caller_abandon(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.QueueCallerAbandoned(queue=f.get("queue", ""), uniqueid=f.get("uniqueid", ""),
                                   linkedid=f.get("linkedid", ""), position=_int(f.get("position")),
                                   hold_time=_int(f.get("holdtime")), node=node)


def _agent_called(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.AgentCalled(queue=f.get("queue", ""), uniqueid=f.get("uniqueid", ""),
                          linkedid=f.get("linkedid", ""), caller_number=f.get("calleridnum", ""),
                          interface=f.get("interface", ""), member_name=f.get("membername", ""),
                          dest_channel=f.get("destchannel", ""), node=node)


def _agent_connect(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.AgentConnected(queue=f.get("queue", ""), uniqueid=f.get("uniqueid", ""),
                             linkedid=f.get("linkedid", ""), interface=f.get("interface", ""),
                             member_name=f.get("membername", ""), hold_time=_int(f.get("holdtime")),
                             ring_time=_int(f.get("ringtime")), node=node)


def _agent_complete(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.AgentCompleted(queue=f.get("queue", ""), uniqueid=f.get("uniqueid", ""),
                             linkedid=f.get("linkedid", ""), interface=f.get("interface", ""),
                             member_name=f.get("membername", ""), talk_time=_int(f.get("talktime")),
                             hold_time=_int(f.get("holdtime")), reason=f.get("reason", ""), node=node)


def _ring_no_answer(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.AgentRingNoAnswer(queue=f.get("queue", ""), uniqueid=f.get("uniqueid", ""),
                                linkedid=f.get("linkedid", ""), interface=f.get("interface", ""),
                                member_name=f.get("membername", ""),
                                ring_time=_int(f.get("ringtime")), node=node)


def _member(change: str) -> Callable[[Mapping[str, str], str], ev.PbxEvent]:
    def make(f: Mapping[str, str], node: str) -> ev.PbxEvent:
        interface = f.get("interface") or f.get("location") or f.get("stateinterface", "")
        return ev.QueueMemberChanged(
            change=change, queue=f.get("queue", ""), interface=interface,
            member_name=f.get("membername") or f.get("name", ""), status=_int(f.get("status")),
            paused=f.get("paused", "0") == "1", paused_reason=f.get("pausedreason", ""),
            in_call=f.get("incall", "0") == "1", penalty=_int(f.get("penalty")), node=node)
    return make


def _chanspy(cls: type) -> Callable[[Mapping[str, str], str], ev.PbxEvent]:
    def make(f: Mapping[str, str], node: str) -> ev.PbxEvent:
        return cls(spyer_channel=f.get("spyerchannel", ""), spyee_channel=f.get("spyeechannel", ""),
                   spyee_uniqueid=f.get("spyeeuniqueid", ""), node=node)
    return make


def _mixmonitor(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.MixMonitorStarted(uniqueid=f.get("uniqueid", ""), linkedid=f.get("linkedid", ""),
                                channel=f.get("channel", ""), node=node)


def _user_event(f: Mapping[str, str], node: str) -> ev.PbxEvent | None:
    """Signals from the generated dialplans: ``UserEvent(CcsOverflow,Queue: ...)`` etc."""
    name = f.get("userevent", "")
    if name == "CcsOverflow":
        return ev.QueueOverflowed(queue=f.get("queue", ""), uniqueid=f.get("uniqueid", ""),
                                  linkedid=f.get("linkedid", ""), destination=f.get("destination", ""),
                                  node=node)
    if name == "CcsDialer":
        return ev.DialerReported(attempt=f.get("attempt", ""), stage=f.get("stage", ""),
                                 result=f.get("result", ""), cause=f.get("cause", ""),
                                 uniqueid=f.get("uniqueid", ""), linkedid=f.get("linkedid", ""),
                                 node=node)
    if name == "CcsCallData":  # UserEvent(CcsCallData,ccs_key: value,...): call data for the desk
        data = tuple(sorted((k[4:], v) for k, v in f.items() if k.startswith("ccs_") and len(k) > 4))
        return ev.CallDataSet(uniqueid=f.get("uniqueid", ""), linkedid=f.get("linkedid", ""),
                              data=data, node=node)
    if name == "CcsRefused":
        return ev.CallRefused(uniqueid=f.get("uniqueid", ""), linkedid=f.get("linkedid", ""),
                              channel=f.get("channel", ""), caller_number=f.get("calleridnum", ""),
                              exten=f.get("exten", ""), reason=f.get("reason", ""),
                              limit=_int(f.get("limit")), node=node)
    if name == "CcsCallback":
        return ev.CallbackRequested(queue=f.get("queue", ""), uniqueid=f.get("uniqueid", ""),
                                    linkedid=f.get("linkedid", ""), number=f.get("number", ""),
                                    entered_at=f.get("enteredat", ""), node=node)
    return None


def _originate_response(f: Mapping[str, str], node: str) -> ev.PbxEvent:
    return ev.OriginateResponded(action_id=f.get("actionid", ""),
                                 success=f.get("response", "") == "Success",
                                 reason=_int(f.get("reason")), uniqueid=f.get("uniqueid", ""),
                                 channel=f.get("channel", ""), node=node)


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
    return translator(ami_fields(message), node)


def translate_ari(event: Mapping[str, Any], node: str = "") -> ev.PbxEvent | None:
    """Translate one ARI (Stasis) event JSON."""
    kind = event.get("type")
    channel = event.get("channel") or {}
    uniqueid = channel.get("id", "")
    name = channel.get("name", "")
    if kind == "StasisStart":
        return ev.StasisStarted(app=event.get("application", ""), uniqueid=uniqueid, channel=name,
                                caller_number=(channel.get("caller") or {}).get("number", ""),
                                exten=(channel.get("dialplan") or {}).get("exten", ""),
                                args=tuple(event.get("args") or ()), node=node)
    if kind == "StasisEnd":
        return ev.StasisEnded(app=event.get("application", ""), uniqueid=uniqueid, channel=name,
                              node=node)
    if kind == "ChannelDtmfReceived":
        return ev.DtmfReceived(uniqueid=uniqueid, channel=name, digit=event.get("digit", ""),
                               node=node)
    return None
