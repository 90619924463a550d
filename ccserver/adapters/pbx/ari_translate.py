"""Raw ARI (Stasis) event JSON -> typed PbxEvents. Nothing raw goes past this module.

ARI events arrive as the JSON dicts aioari hands us (see `tests/traces/ari/` for what Asterisk 22
sends). Each translator reads only the fields the domain needs, and whatever a caller controls
(caller-ID, the extension dialled, DTMF) is normalized here by `core.untrusted`, once. Events no
capability consumes (ChannelVarset, ChannelStateChange, ChannelDialplan...) give None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...core import events as ev
from ...core.untrusted import caller_name, caller_number, clean_text, dtmf_digit


def _channel(event: Mapping[str, Any]) -> Mapping[str, Any]:
    channel = event.get("channel")
    return channel if isinstance(channel, Mapping) else {}


def _text(value: Any, max_length: int = 200) -> str:
    return clean_text(value, max_length)


def _cause(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _stasis_start(event: Mapping[str, Any], node: str) -> ev.PbxEvent:
    channel = _channel(event)
    caller = channel.get("caller") or {}
    return ev.StasisStarted(
        app=_text(event.get("application")),
        uniqueid=_text(channel.get("id")),
        channel=_text(channel.get("name")),
        caller_number=caller_number(caller.get("number")),
        caller_name=caller_name(caller.get("name")),
        exten=clean_text((channel.get("dialplan") or {}).get("exten"), 80),
        args=tuple(clean_text(a) for a in event.get("args") or ()),
        state=_text(channel.get("state"), 20),
        node=node,
    )


def _stasis_end(event: Mapping[str, Any], node: str) -> ev.PbxEvent:
    channel = _channel(event)
    return ev.StasisEnded(
        app=_text(event.get("application")),
        uniqueid=_text(channel.get("id")),
        channel=_text(channel.get("name")),
        node=node,
    )


def _dtmf(event: Mapping[str, Any], node: str) -> ev.PbxEvent:
    channel = _channel(event)
    return ev.DtmfReceived(
        uniqueid=_text(channel.get("id")),
        channel=_text(channel.get("name")),
        digit=dtmf_digit(event.get("digit")),
        node=node,
    )


def _playback_finished(event: Mapping[str, Any], node: str) -> ev.PbxEvent:
    playback = event.get("playback") or {}
    target = _text(playback.get("target_uri"))
    kind, _, target_id = target.partition(":")
    return ev.PlaybackFinished(
        playback_id=_text(playback.get("id")),
        uniqueid=target_id if kind == "channel" else "",
        state=_text(playback.get("state"), 20),
        node=node,
    )


def _hangup_request(event: Mapping[str, Any], node: str) -> ev.PbxEvent:
    channel = _channel(event)
    return ev.ChannelHangupRequested(
        uniqueid=_text(channel.get("id")),
        channel=_text(channel.get("name")),
        cause=_cause(event.get("cause")),
        node=node,
    )


def _destroyed(event: Mapping[str, Any], node: str) -> ev.PbxEvent:
    channel = _channel(event)
    return ev.ChannelDestroyed(
        uniqueid=_text(channel.get("id")),
        channel=_text(channel.get("name")),
        cause=_cause(event.get("cause")),
        node=node,
    )


ARI_TRANSLATORS: dict[str, Callable[[Mapping[str, Any], str], ev.PbxEvent]] = {
    "StasisStart": _stasis_start,
    "StasisEnd": _stasis_end,
    "ChannelDtmfReceived": _dtmf,
    "PlaybackFinished": _playback_finished,
    "ChannelHangupRequest": _hangup_request,
    "ChannelDestroyed": _destroyed,
}


def translate_ari(event: Mapping[str, Any], node: str = "") -> ev.PbxEvent | None:
    """Translate one ARI event JSON (None for the types nothing consumes)."""
    translator = ARI_TRANSLATORS.get(event.get("type"))  # type: ignore[arg-type]
    return translator(event, node) if translator is not None else None
