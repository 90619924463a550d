"""The ARI translation against what the real Asterisk 22 sends (tests/traces/ari, recorded by
tests/traces/record_ami.py): each event type `translate_ari` reads has a trace and gives its
typed event with the raw fields."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccserver.adapters.pbx.translate import translate_ari
from ccserver.core import events as ev

TRACES = Path(__file__).resolve().parents[2] / "traces" / "ari"
TRANSLATED = {"StasisStart": ev.StasisStarted, "StasisEnd": ev.StasisEnded,
              "ChannelDtmfReceived": ev.DtmfReceived}
NODE = "n1"


def read(kind: str) -> list[dict]:
    events = json.loads((TRACES / f"{kind}.json").read_text(encoding="utf-8"))
    assert events and all(e["type"] == kind for e in events)
    return events


def test_every_ari_event_type_translated_has_a_trace():
    assert {p.stem for p in TRACES.glob("*.json")} >= set(TRANSLATED)


@pytest.mark.parametrize("kind", sorted(TRANSLATED))
def test_each_traced_ari_event_gives_its_typed_event_with_the_raw_fields(kind):
    for raw in read(kind):
        event = translate_ari(raw, NODE)
        assert isinstance(event, TRANSLATED[kind]) and event.node == NODE
        channel = raw["channel"]
        assert (event.uniqueid, event.channel) == (channel["id"], channel["name"])
        if kind == "StasisStart":
            assert event.app == raw["application"] and event.args == tuple(raw["args"])
            assert event.caller_number == channel["caller"]["number"]
            assert event.caller_name == channel["caller"]["name"]
            assert event.exten == channel["dialplan"]["exten"]
        elif kind == "StasisEnd":
            assert event.app == raw["application"]
        else:
            assert event.digit == raw["digit"]


def test_the_traced_stasis_call_is_seen_whole():
    [start] = [translate_ari(e, NODE) for e in read("StasisStart")]
    assert start.args == ("trace-arg",) and start.channel.startswith("PJSIP/dora-")
    assert [translate_ari(e, NODE).digit for e in read("ChannelDtmfReceived")] == ["5"]
    [end] = [translate_ari(e, NODE) for e in read("StasisEnd")]
    assert end.uniqueid == start.uniqueid
