"""The desk snapshot's pure rules: which screen-pop and call-control state go with the agent's
state, and the numbering of live messages."""

from __future__ import annotations

import json

from ccserver.adapters.web.realtime import _numbered
from ccserver.capabilities.desk.model import PopMemory, control_of, current_pop, pop_wanted

CALL = {"uniqueid": "c1", "answered_at": "2026-12-06T02:00:00+00:00"}
POP = {"topic": "screen_pop", "uniqueid": "c1", "caller_number": "0611111111"}


def status(state: str, call: dict | None = None) -> dict:
    return {"username": "zoe", "state": state, "call": call}


def test_the_pop_of_the_call_in_progress_is_kept():
    assert current_pop(status("on_call", CALL), POP) == POP
    assert current_pop(status("ringing", {**CALL, "answered_at": None}), POP) == POP


def test_the_pop_of_an_older_call_is_not_shown_with_a_new_one():
    assert current_pop(status("on_call", {**CALL, "uniqueid": "c2"}), POP) is None


def test_wrap_up_keeps_the_ended_call_pop_then_it_goes():
    assert current_pop(status("wrap_up"), POP) == POP
    for state in ("available", "paused", "logged_out"):
        assert current_pop(status(state), POP) is None
    assert current_pop(status("on_call", CALL), None) is None


def test_an_outbound_pop_stays_while_the_agent_is_on_the_call_without_a_queue_call():
    outbound = {**POP, "direction": "outbound"}
    assert current_pop(status("on_call"), outbound) == outbound
    assert current_pop(status("on_call"), POP) is None


def test_controls_go_with_an_answered_call_only():
    assert control_of(status("ringing", {**CALL, "answered_at": None}), None) is None
    assert control_of(status("available"), {"uniqueid": "c1", "held": True}) is None
    fresh = control_of(status("on_call", CALL), None)
    assert (fresh["uniqueid"], fresh["held"], fresh["muted"], fresh["agent"]) == ("c1", False, False, "zoe")
    known = {"uniqueid": "c1", "held": True, "muted": True}
    assert control_of(status("on_call", CALL), known) is known
    # the board's state of another call (the previous one) is not this call's
    assert control_of(status("on_call", CALL), {"uniqueid": "c0", "held": True})["held"] is False


def test_pop_memory_keeps_each_call_pop_per_agent_the_latest_last():
    memory = PopMemory()
    memory.remember("zoe", POP)
    memory.remember("zoe", {"topic": "click_to_dial_call", "uniqueid": "x"})  # not a pop
    memory.remember("yann", {**POP, "uniqueid": "c9"})
    assert memory.of("zoe") == POP and memory.of("yann")["uniqueid"] == "c9"
    memory.remember("zoe", {**POP, "uniqueid": "c2"})
    # two calls at once: each keeps its own pop
    assert memory.of("zoe")["uniqueid"] == "c2" and memory.of("zoe", "c1") == POP
    assert memory.of("zoe", "x") is None
    for n in range(20):
        memory.remember("zoe", {**POP, "uniqueid": f"n{n}"})
    assert memory.of("zoe", "c1") is None and memory.of("zoe", "n19") is not None  # bounded
    memory.forget("zoe")
    assert memory.of("zoe") is None and memory.of("nobody") is None


def test_the_pop_wanted_is_the_shown_call_then_the_one_ended_into_wrap_up():
    assert pop_wanted({"state": "on_call", "call": CALL, "last_call": "c0"}) == "c1"
    assert pop_wanted({"state": "wrap_up", "call": None, "last_call": "c0"}) == "c0"
    assert pop_wanted({"state": "on_call", "call": None, "last_call": "c0"}) == ""


def test_live_messages_are_numbered_without_being_parsed_again():
    payload = json.dumps({"topic": "agent_state", "status": {"state": "paused"}}, separators=(",", ":"))
    assert json.loads(_numbered(payload, 7)) == {"seq": 7, "topic": "agent_state", "status": {"state": "paused"}}
    assert json.loads(_numbered("{}", 3)) == {"seq": 3}
