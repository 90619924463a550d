"""ARI events recorded from the real Asterisk 22 (tests/traces/ari/, made by
tests/traces/record_ari.py) translated into the typed events the IVR engine consumes: one
trace per ARI event type the project consumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccserver.adapters.pbx.ari_translate import ARI_TRANSLATORS, translate_ari
from ccserver.core import events as ev

TRACES = Path(__file__).resolve().parents[2] / "traces" / "ari"


def trace(kind: str) -> dict:
    return json.loads((TRACES / f"{kind}.json").read_text(encoding="utf-8"))


def test_every_consumed_ari_event_type_has_a_recorded_trace():
    assert sorted(p.stem for p in TRACES.glob("*.json")) == sorted(ARI_TRANSLATORS)


def test_stasis_start_trace():
    raw = trace("StasisStart")
    event = translate_ari(raw, "n1")
    assert isinstance(event, ev.StasisStarted)
    assert event.uniqueid == raw["channel"]["id"] and event.uniqueid
    assert event.channel.startswith("Local/s@trace-ivr-") and event.channel.endswith(";2")
    assert (event.caller_number, event.exten, event.state) == ("0611111111", "s", "Ring")
    assert event.args == ("ivr", "demo", "exten") and event.app == raw["application"]
    assert event.node == "n1"


def test_stasis_end_trace():
    raw = trace("StasisEnd")
    event = translate_ari(raw, "n1")
    assert isinstance(event, ev.StasisEnded)
    assert event.uniqueid == raw["channel"]["id"] and event.app == raw["application"]


def test_channel_dtmf_received_trace():
    raw = trace("ChannelDtmfReceived")
    event = translate_ari(raw, "n1")
    assert isinstance(event, ev.DtmfReceived)
    assert event.uniqueid == raw["channel"]["id"] and event.digit == "5"


def test_playback_finished_trace():
    raw = trace("PlaybackFinished")
    event = translate_ari(raw, "n1")
    assert isinstance(event, ev.PlaybackFinished)
    assert event.playback_id == raw["playback"]["id"] and event.playback_id.startswith("pb-")
    assert event.uniqueid == raw["playback"]["target_uri"].split(":", 1)[1]
    assert event.state == "done"


def test_channel_hangup_request_trace():
    raw = trace("ChannelHangupRequest")
    event = translate_ari(raw, "n1")
    assert isinstance(event, ev.ChannelHangupRequested)
    assert event.uniqueid == raw["channel"]["id"] and event.cause == raw.get("cause", 0)


def test_channel_destroyed_trace():
    # In the IVR's flows Asterisk 22 sends none (a channel that entered Stasis from the
    # dialplan is followed until StasisEnd only); recorded with the application subscribed to
    # the channel (see record_ari.py). The engine treats one as a hang-up all the same.
    raw = trace("ChannelDestroyed")
    event = translate_ari(raw, "n1")
    assert isinstance(event, ev.ChannelDestroyed)
    assert event.uniqueid == raw["channel"]["id"] and event.cause == raw["cause"]
    assert event.cause == 16  # normal clearing


@pytest.mark.parametrize("kind", ["ChannelStateChange", "ChannelVarset", "PlaybackStarted"])
def test_events_nothing_consumes_are_not_translated(kind):
    assert translate_ari({"type": kind, "channel": {"id": "c1"}}) is None


def test_playback_on_a_bridge_names_no_channel():
    event = translate_ari(
        {"type": "PlaybackFinished", "playback": {"id": "p1", "target_uri": "bridge:b1", "state": "failed"}}
    )
    assert event.uniqueid == "" and event.state == "failed"
