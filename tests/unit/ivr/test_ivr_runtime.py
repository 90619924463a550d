"""The pure IVR runtime: each node type, retries, hours and holidays, fallback, versions."""

from __future__ import annotations

from datetime import UTC

import pytest
from ivr_helpers import Driver, kinds, only, paris, script_from

from ccserver.capabilities.ivr.model import (
    DEFAULT_FALLBACK,
    CallInfo,
    CancelTimer,
    ContinueInDialplan,
    Hangup,
    IvrCall,
    IvrStats,
    Lookup,
    Play,
    RequestCallback,
    SendToQueue,
    SendToVoicemail,
    StartTimer,
    StopPlayback,
    Transfer,
    check_collected,
    hours_status,
    luhn_ok,
)
from ccserver.core.clock import ManualClock

MENU = """
script:
  name: menu-test
  entry: main
  fallback: operator
nodes:
  main:
    type: menu
    prompt: custom/main
    choices:
      "1": {next: billing, label: Billing}
      "2": {next: tech, label: Technical}
    timeout: 5
    retries: 2
    on_timeout: custom/no-input
    on_invalid: custom/invalid
    on_exhausted: operator
  tech:
    type: menu
    prompt: custom/tech
    choices:
      "1": {next: internet, label: Internet}
      "*": {next: main, label: Back}
    on_exhausted: operator
  internet:
    type: queue
    queue: support
    skills: {internet: 2}
    priority: 3
  billing:
    type: queue
    queue: billing
  operator:
    type: queue
    queue: reception
"""


# --- play ---------------------------------------------------------------------------------


def test_play_node_plays_then_goes_next():
    d = Driver(
        script_from("""
        script: {name: p, entry: hello}
        nodes:
          hello: {type: play, prompt: [custom/a, "digits:{caller_number}"], next: bye}
          bye: {type: hangup}
    """)
    )
    out = d.start()
    play = only(out, Play)
    assert play.media == ("sound:custom/a", "digits:0612345678")
    assert play.language == "fr" and not play.interruptible
    assert d.press("1") == []  # not interruptible: ignored
    assert kinds(d.played()) == ["hangup"]
    assert d.call.finished and d.call.outcome == "hangup"


def test_interruptible_play_is_stopped_by_a_key():
    d = Driver(
        script_from("""
        script: {name: p, entry: hello}
        nodes:
          hello: {type: play, prompt: custom/a, interruptible: true, next: bye}
          bye: {type: hangup, prompt: vm-goodbye}
    """)
    )
    first = only(d.start(), Play)
    out = d.press("5")
    assert out[0] == StopPlayback(first.playback_id)
    assert only(out, Play).media == ("sound:vm-goodbye",)
    # the stopped playback's late "finished" event is ignored
    assert d.call.playback_finished(first.playback_id) == []
    assert kinds(d.played()) == ["hangup"]


def test_stale_timer_and_playback_events_are_ignored():
    d = Driver(script_from(MENU))
    d.start()
    d.played()
    old_timer = d.timer
    d.press("9")  # invalid: re-prompt
    assert d.call.timeout(old_timer) == []
    assert d.call.playback_finished("nonsense") == []
    assert d.node == "main"


# --- menu -----------------------------------------------------------------------------------


def test_menu_choice_goes_to_its_node_and_records_the_path():
    d = Driver(script_from(MENU))
    play = only(d.start(), Play)
    assert play.interruptible and play.media == ("sound:custom/main",)
    timer = only(d.played(), StartTimer)
    assert timer.seconds == 5
    out = d.press("2")
    assert out[0] == CancelTimer(timer.timer_id)
    assert d.node == "tech"
    d.press("1")
    queue = d.actions[-1]
    assert isinstance(queue, SendToQueue)
    assert (queue.queue, dict(queue.skills), queue.priority) == ("support", {"internet": 2}, 3)
    assert queue.call_data["menu_path"] == ["main:2", "tech:1"]
    assert queue.call_data["menu_labels"] == ["Technical", "Internet"]
    assert d.call.outcome == "queue:support"


def test_menu_key_during_prompt_stops_it():
    d = Driver(script_from(MENU))
    play = only(d.start(), Play)
    out = d.press("1")
    assert out[0] == StopPlayback(play.playback_id)
    assert isinstance(out[-1], SendToQueue) and out[-1].queue == "billing"


def test_menu_timeouts_replay_with_the_timeout_prompt_then_exhaust():
    stats = IvrStats()
    d = Driver(script_from(MENU), stats=stats)
    d.start()
    d.played()
    for _attempt in range(2):
        replay = only(d.expire(), Play)
        assert replay.media == ("sound:custom/no-input", "sound:custom/main")
        d.played()
    out = d.expire()
    assert isinstance(out[-1], SendToQueue) and out[-1].queue == "reception"
    node = stats.node("menu-test", "main")
    assert (node.timeouts, node.exhausted, node.invalid) == (3, 1, 0)


def test_menu_invalid_keys_follow_the_retry_rule():
    d = Driver(script_from(MENU))
    d.start()
    replay = only(d.press("7"), Play)  # during the prompt
    assert replay.media == ("sound:custom/invalid", "sound:custom/main")
    d.played()
    only(d.press("#"), Play)
    out = d.press("0")  # third wrong key: retries (2) exhausted
    assert isinstance(out[-1], SendToQueue) and out[-1].queue == "reception"
    assert d.call.stats.node("menu-test", "main").invalid == 3


def test_menu_without_on_exhausted_goes_to_the_fallback():
    d = Driver(
        script_from("""
        script: {name: m, entry: main, fallback: {context: from-ivr, exten: "0"}}
        nodes:
          main:
            type: menu
            prompt: custom/main
            retries: 0
            choices: {"1": bye}
          bye: {type: hangup}
    """)
    )
    d.start()
    d.played()
    out = d.expire()
    fallback = only(out, ContinueInDialplan)
    assert (fallback.context, fallback.exten, fallback.priority) == ("from-ivr", "0", 1)
    assert d.call.outcome == "fallback"


def test_retry_counter_resets_when_a_menu_is_entered_again():
    d = Driver(script_from(MENU))
    d.start()
    d.press("9")
    d.played()
    d.press("2")  # to tech
    d.press("*")  # back to main: attempts start again
    d.played()
    d.press("9")
    d.played()
    d.press("9")
    assert d.node == "main" and not d.call.finished


# --- collect --------------------------------------------------------------------------------

COLLECT = """
script: {name: c, entry: ask, fallback: op}
nodes:
  ask:
    type: collect
    prompt: custom/ask
    validate: customer_number
    store_as: customer_number
    retries: 1
    on_invalid: custom/bad
    on_timeout: custom/nothing
    next: done
    on_exhausted: op
  done: {type: hangup}
  op: {type: queue, queue: reception}
"""


def test_collect_stores_eight_digits_with_terminator():
    d = Driver(script_from(COLLECT))
    d.start()
    d.played()
    d.press("1234567")
    assert d.node == "ask"
    out = d.press("8")  # max digits reached: no need for the terminator
    assert d.call.call_data.collected == {"customer_number": "12345678"}
    assert kinds(out)[-1] == "hangup"


def test_collect_typed_during_prompt_stops_it_and_uses_interdigit_timer():
    d = Driver(script_from(COLLECT))
    play = only(d.start(), Play)
    out = d.press("1")
    assert out[0] == StopPlayback(play.playback_id)
    timer = only(out, StartTimer)
    assert timer.seconds == 3.0  # digit_timeout
    d.press("234")
    out = d.expire()  # stopped typing after 4 digits: too short
    assert only(out, Play).media == ("sound:custom/bad", "sound:custom/ask")


def test_collect_terminator_ends_input_and_short_input_is_invalid():
    d = Driver(script_from(COLLECT))
    d.start()
    d.press("123#")
    assert d.call.stats.node("c", "ask").invalid == 1
    d.played()
    d.press("87654321")
    assert d.call.call_data.collected["customer_number"] == "87654321"


def test_collect_timeout_then_invalid_exhausts_to_on_exhausted():
    d = Driver(script_from(COLLECT))
    d.start()
    d.played()
    assert only(d.expire(), Play).media == ("sound:custom/nothing", "sound:custom/ask")
    d.played()
    out = d.press("#")
    assert isinstance(out[-1], SendToQueue) and out[-1].queue == "reception"
    stats = d.call.stats.node("c", "ask")
    assert (stats.timeouts, stats.invalid, stats.exhausted) == (1, 1, 1)


def test_collect_date_is_validated_and_stored_iso():
    d = Driver(
        script_from("""
        script: {name: c, entry: birth}
        nodes:
          birth:
            type: collect
            prompt: custom/birth
            validate: date
            retries: 1
            next: done
            on_exhausted: done
          done: {type: hangup}
    """)
    )
    d.start()
    d.press("31022026")  # no 31 February
    assert d.call.stats.node("c", "birth").invalid == 1
    d.press("14072026")
    assert d.call.call_data.collected["birth"] == "2026-07-14"


def test_collect_regex_pattern():
    d = Driver(
        script_from("""
        script: {name: c, entry: code}
        nodes:
          code:
            type: collect
            prompt: custom/code
            pattern: "(0[1-9]|[1-8][0-9]|9[0-5])[0-9]{3}"  # code postal
            max_digits: 5
            next: done
          done: {type: hangup}
    """)
    )
    d.start()
    d.press("00123")
    assert d.node == "code"
    d.press("75011")
    assert d.call.call_data.collected["code"] == "75011"


def test_check_collected_rules():
    from ccserver.capabilities.ivr.model import CollectNode

    luhn = CollectNode(id="n", validate="customer_number", min_digits=8, max_digits=8, checksum="luhn")
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")
    assert check_collected(luhn, "12345674") == "12345674"
    assert check_collected(luhn, "12345678") is None
    assert check_collected(luhn, "1234567") is None
    date_node = CollectNode(id="d", validate="date", min_digits=8, max_digits=8)
    assert check_collected(date_node, "29022028") == "2028-02-29"
    assert check_collected(date_node, "29022027") is None
    digits = CollectNode(id="x", min_digits=1, max_digits=4)
    assert check_collected(digits, "12*") is None


# --- hours and holidays ---------------------------------------------------------------------

HOURS = """
script: {name: h, entry: check}
nodes:
  check:
    type: hours
    schedule:
      lun-ven: ["08:30-12:30", "13:30-18:00"]
      sam: "09:00-12:00"
    closed_dates: ["2026-08-14", "2026-12-28..2026-12-30"]
    special_days: {"2026-12-24": "08:30-12:00"}
    open: opened
    closed: closed
    holiday: holiday
  opened: {type: queue, queue: q}
  closed: {type: hangup, prompt: custom/closed}
  holiday: {type: hangup, prompt: custom/holiday}
"""


@pytest.mark.parametrize(
    "at, expected",
    [
        (paris(2026, 7, 15, 10, 0), "opened"),  # Wednesday morning
        (paris(2026, 7, 15, 12, 45), "closed"),  # lunch break
        (paris(2026, 7, 15, 18, 0), "closed"),  # closing time is exclusive
        (paris(2026, 7, 18, 11, 59), "opened"),  # Saturday morning
        (paris(2026, 7, 19, 10, 0), "closed"),  # Sunday
        (paris(2026, 7, 14, 10, 0), "holiday"),  # Fête nationale, a Tuesday
        (paris(2026, 12, 25, 10, 0), "holiday"),  # Noël, a Friday
        (paris(2027, 3, 29, 10, 0), "holiday"),  # lundi de Pâques 2027
        (paris(2026, 5, 14, 10, 0), "holiday"),  # Ascension 2026
        (paris(2026, 8, 14, 10, 0), "holiday"),  # extra closed date
        (paris(2026, 12, 29, 10, 0), "holiday"),  # inside a closed range
        (paris(2026, 12, 24, 11, 0), "opened"),  # special day: morning only
        (paris(2026, 12, 24, 14, 0), "closed"),
    ],
)
def test_hours_branch_with_injected_clock(at, expected):
    d = Driver(script_from(HOURS), at=at)
    d.start()
    assert d.node == expected
    assert d.call.call_data.hours == {"opened": "open", "closed": "closed", "holiday": "holiday"}[expected]


def test_hours_converts_utc_to_the_script_time_zone():
    from datetime import datetime

    # 07:00 UTC on 15 July is 09:00 in Paris (summer time): open
    d = Driver(script_from(HOURS), at=datetime(2026, 7, 15, 7, 0, tzinfo=UTC))
    d.start()
    assert d.node == "opened"
    d = Driver(script_from(HOURS), at=datetime(2026, 1, 14, 7, 0, tzinfo=UTC))
    d.start()
    assert d.node == "closed"  # 08:00 in winter: not yet open


def test_holiday_without_holiday_branch_takes_closed():
    text = HOURS.replace("    holiday: holiday\n", "").replace(
        "  holiday: {type: hangup, prompt: custom/holiday}\n", ""
    )
    d = Driver(script_from(text), at=paris(2026, 7, 14, 10, 0))
    d.start()
    assert d.node == "closed"


def test_holidays_can_be_turned_off_and_subdivisions_used():
    d = Driver(
        script_from(HOURS.replace("    closed_dates", "    holidays: false\n    closed_dates")),
        at=paris(2026, 7, 14, 10, 0),
    )
    d.start()
    assert d.node == "opened"
    alsace = HOURS.replace("    closed_dates", '    holidays_subdiv: "57"\n    closed_dates')
    d = Driver(script_from(alsace), at=paris(2026, 12, 26, 10, 0))  # Saint-Étienne (Saturday)
    d.start()
    assert d.node == "holiday"
    d = Driver(script_from(HOURS), at=paris(2026, 12, 26, 10, 0))
    d.start()
    assert d.node == "opened"  # not a holiday outside Alsace-Moselle


def test_hours_status_reason():
    script = script_from(HOURS)
    assert hours_status(script.nodes["check"], paris(2026, 12, 25, 10, 0)) == ("holiday", "Christmas Day")


# --- lookup, set --------------------------------------------------------------------------

LOOKUP = """
script: {name: l, entry: by_phone}
nodes:
  by_phone:
    type: lookup
    from: caller_number
    found: known
    not_found: ask
  ask:
    type: collect
    prompt: custom/ask
    validate: customer_number
    store_as: num
    next: by_number
  by_number:
    type: lookup
    from: collected
    variable: num
    timeout: 2
    found: known
    not_found: unknown
    on_error: error
  known:
    type: set
    data: {identified: "yes", greeting: "hello {customer.name}"}
    language: en
    next: q
  unknown: {type: queue, queue: unknown}
  error: {type: queue, queue: error}
  q: {type: queue, queue: q}
"""


def test_lookup_by_caller_number_found():
    d = Driver(script_from(LOOKUP))
    out = d.start()
    lookup = only(out, Lookup)
    assert (lookup.lookup, lookup.value) == ("phone", "0612345678")
    assert only(out, StartTimer).seconds == 3.0
    out = d.found({"id": 42, "name": "Dupont"})
    assert out[0] == CancelTimer(d.timer)
    queue = only(out, SendToQueue)
    assert queue.call_data["customer_id"] == "42"
    assert queue.call_data["customer"]["name"] == "Dupont"
    assert queue.call_data["data"] == {"identified": "yes", "greeting": "hello Dupont"}
    assert queue.call_data["language"] == "en"


def test_lookup_by_collected_number_not_found_error_and_timeout():
    d = Driver(script_from(LOOKUP))
    d.start()
    d.not_found()
    assert d.node == "ask"
    out = d.press("12345678")
    assert only(out, Lookup).value == "12345678" and only(out, Lookup).lookup == "customer_id"
    d.not_found()
    assert d.call.outcome == "queue:unknown"

    d = Driver(script_from(LOOKUP))
    d.start()
    d.not_found()
    d.press("12345678")
    d.call.lookup_result(False, request_id=d.request, error="CRM down")
    assert d.call.outcome == "queue:error"

    d = Driver(script_from(LOOKUP))
    d.start()
    d.not_found()
    d.press("12345678")
    d.expire()
    assert d.call.outcome == "queue:error"
    assert d.call.stats.node("l", "by_number").timeouts == 1


def test_lookup_found_without_id_uses_the_collected_number():
    d = Driver(script_from(LOOKUP))
    d.start()
    d.not_found()
    d.press("12345678")
    d.found({"name": "Martin"})
    assert d.call.call_data.customer_id == "12345678"


def test_lookup_without_caller_number_is_not_found_at_once():
    d = Driver(script_from(LOOKUP), caller="")
    out = d.start()
    assert not any(isinstance(a, Lookup) for a in out)
    assert d.node == "ask"


def test_late_lookup_answer_is_ignored():
    d = Driver(script_from(LOOKUP))
    d.start()
    d.expire()  # lookup timed out (no on_error on by_phone): not_found
    assert d.node == "ask"
    assert d.call.lookup_result(True, {"id": 1}, request_id=d.request) == []


# --- terminal nodes -----------------------------------------------------------------------


def test_voicemail_transfer_callback_and_hangup_nodes():
    d = Driver(
        script_from("""
        script: {name: t, entry: m}
        nodes:
          m:
            type: menu
            prompt: custom/m
            choices: {"1": vm, "2": out, "3": cb, "4": bye}
          vm: {type: voicemail, mailbox: 8000@sc}
          out: {type: transfer, number: "01 40 00 00 00", prompt: custom/transfer}
          cb: {type: callback, queue: callbacks, prompt: custom/thanks}
          bye: {type: hangup}
    """)
    )
    d.start()
    assert only(d.press("1"), SendToVoicemail).mailbox == "8000@sc"
    assert d.call.outcome == "voicemail"

    d = Driver(d.call.script)
    d.start()
    assert only(d.press("2"), Play).media == ("sound:custom/transfer",)
    assert only(d.played(), Transfer).number == "+33140000000"

    d = Driver(d.call.script, caller="0611223344")
    d.start()
    out = d.press("3")
    callback = only(out, RequestCallback)
    assert (callback.number, callback.queue) == ("0611223344", "callbacks")
    assert only(out, Play).media == ("sound:custom/thanks",)
    assert isinstance(d.played()[-1], Hangup)
    assert d.call.outcome == "callback"

    d = Driver(d.call.script)
    d.start()
    assert kinds(d.press("4"))[-1] == "hangup"


def test_callback_without_caller_number_uses_on_error():
    script = script_from("""
        script: {name: t, entry: cb}
        nodes:
          cb: {type: callback, on_error: vm, next: bye}
          vm: {type: voicemail, mailbox: "100"}
          bye: {type: hangup}
    """)
    d = Driver(script, caller="")
    assert only(d.start(), SendToVoicemail).mailbox == "100"
    d = Driver(script)
    out = d.start()
    assert only(out, RequestCallback).number == "0612345678"
    assert isinstance(out[-1], Hangup) and d.call.outcome == "hangup"


def test_goto_node():
    d = Driver(
        script_from("""
        script: {name: g, entry: a}
        nodes:
          a: {type: goto, next: b}
          b: {type: hangup}
    """)
    )
    assert kinds(d.start()) == ["hangup"]
    assert d.call.call_data.nodes == ["a", "b"]


# --- hang-ups, errors and the fallback ------------------------------------------------------


def test_caller_hangup_in_a_menu_is_counted_and_stops_the_call():
    d = Driver(script_from(MENU))
    d.start()
    d.played()
    out = d.call.hangup()
    assert out == [CancelTimer(d.timer)]
    assert d.call.outcome == "caller_hangup"
    assert d.call.stats.node("menu-test", "main").hangups == 1
    assert d.call.stats.script("menu-test").outcomes == {"caller_hangup": 1}
    assert d.press("1") == [] and d.call.start() == []


def test_runtime_exception_sends_the_caller_to_the_fallback_node(caplog):
    script = script_from("""
        script: {name: e, entry: main, fallback: operator}
        nodes:
          main:
            type: menu
            prompt: custom/main
            choices: {"1": broken, "2": account_setter}
          broken:
            type: play
            prompt: "digits:{account}"
            next: bye
          account_setter: {type: set, data: {account: "1"}, next: broken}
          bye: {type: hangup}
          operator: {type: queue, queue: reception}
    """)
    d = Driver(script)
    d.start()
    d.played()
    timer = d.timer
    with caplog.at_level("ERROR"):
        out = d.press("1")  # {account} has no value: the runtime raises
    assert out[0] == CancelTimer(timer)
    queue = only(out, SendToQueue)
    assert queue.queue == "reception"
    assert "account" in queue.call_data["error"]
    assert "1700000000.1" in caplog.text  # logged with the call id
    assert d.call.stats.node("e", "broken").errors == 1


def test_adapter_error_goes_to_fallback_then_to_the_dialplan_if_it_fails_again():
    d = Driver(script_from(MENU))
    play = only(d.start(), Play)
    out = d.call.error(RuntimeError("playback failed"))
    assert out[0] == StopPlayback(play.playback_id)
    assert only(out, SendToQueue).queue == "reception"
    assert not d.call.finished or d.call.outcome == "queue:reception"

    d = Driver(
        script_from(
            MENU.replace(
                "  operator:\n    type: queue\n    queue: reception",
                "  operator:\n    type: play\n    prompt: custom/x\n    next: billing",
            )
        )
    )
    d.start()
    d.call.error("boom")
    assert d.node == "operator" and d.call.in_fallback
    out = d.call.error("boom again")
    fallback = only(out, ContinueInDialplan)
    assert (fallback.context, fallback.exten) == (DEFAULT_FALLBACK.context, DEFAULT_FALLBACK.exten)
    assert "boom again" in fallback.reason
    assert d.call.outcome == "fallback"


def test_error_without_fallback_continues_in_the_dialplan_with_call_data():
    script = script_from("""
        script: {name: e, entry: main, fallback: {context: ivr-fallback, exten: s}}
        nodes:
          main: {type: menu, prompt: custom/main, choices: {"1": q}}
          q: {type: queue, queue: q}
    """)
    call = IvrCall(script, CallInfo("u1", caller_number="0600000000"), ManualClock(paris(2026, 7, 15, 10, 0)))
    call.start()
    out = call.error("channel gone bad")
    fallback = only(out, ContinueInDialplan)
    assert fallback.context == "ivr-fallback"
    assert fallback.call_data["caller_number"] == "0600000000"


def test_error_before_start_still_reaches_the_fallback():
    script = script_from(MENU)
    call = IvrCall(script, CallInfo("u1"), ManualClock(paris(2026, 7, 15, 10, 0)))
    out = call.error("answer failed")
    assert only(out, SendToQueue).queue == "reception"


def test_a_loop_without_input_is_cut_and_sent_to_the_fallback():
    # the validator refuses this script; build it anyway to check the runtime's guard
    from ccserver.capabilities.ivr.loader import parse_script

    script = parse_script("""
script: {name: loop, entry: a, fallback: {context: fb}}
nodes:
  a: {type: goto, next: b}
  b: {type: goto, next: a}
""")
    call = IvrCall(script, CallInfo("u1"), ManualClock(paris(2026, 7, 15, 10, 0)))
    fallback = only(call.start(), ContinueInDialplan)
    assert fallback.context == "fb" and "loop" in fallback.reason


def test_unknown_dtmf_is_ignored():
    d = Driver(script_from(MENU))
    d.start()
    assert d.press("x") == []
    assert d.node == "main"


# --- versions -------------------------------------------------------------------------------


def test_a_call_keeps_the_version_it_started_with():
    from ccserver.capabilities.ivr.registry import IvrRegistry

    registry = IvrRegistry()
    v1 = registry.activate(script_from(MENU + "\n"))
    call = registry.start_call(CallInfo("u1"), ManualClock(paris(2026, 7, 15, 10, 0)), name="menu-test")
    call.start()
    call.playback_finished()
    call.dtmf("2")  # in 'tech' of v1
    # v2: 'tech' now sends key 1 to another queue, and 'internet' is gone
    v2_text = MENU.replace("next: internet, label: Internet", "next: billing, label: Internet")
    v2_text = v2_text.replace(
        "  internet:\n    type: queue\n    queue: support\n    skills: {internet: 2}\n    priority: 3\n", ""
    )
    v2 = registry.activate(script_from(v2_text))
    assert registry.active("menu-test") is v2 and v2 is not v1
    out = call.dtmf("1")
    assert only(out, SendToQueue).queue == "support"  # still v1
    new_call = registry.start_call(CallInfo("u2"), ManualClock(paris(2026, 7, 15, 10, 0)), name="menu-test")
    new_call.start()
    new_call.dtmf("2")
    assert only(new_call.dtmf("1"), SendToQueue).queue == "billing"


# --- statistics -----------------------------------------------------------------------------


def test_stats_count_per_node_and_merge():
    shared = IvrStats()
    for keys in ("21", "1", "9"):
        d = Driver(script_from(MENU), stats=shared)
        d.start()
        d.press(keys)
    main = shared.node("menu-test", "main")
    assert main.entered == 3 and main.choices == {"2": 1, "1": 1} and main.invalid == 1
    assert shared.script("menu-test").calls == 3
    assert shared.script("menu-test").outcomes == {"queue:support": 1, "queue:billing": 1}

    other = IvrStats()
    d = Driver(script_from(MENU), stats=other)
    d.start()
    d.press("1")
    merged = shared.merged(other)
    assert merged.node("menu-test", "main").choices == {"2": 1, "1": 2}
    assert merged.script("menu-test").calls == 4
    assert shared.node("menu-test", "main").choices == {"2": 1, "1": 1}  # unchanged
    assert merged.to_dict()["menu-test"]["nodes"]["main"]["entered"] == 4


def test_call_data_channel_variables():
    d = Driver(script_from(MENU))
    d.start()
    d.press("2")
    variables = d.call.call_data.channel_variables()
    assert variables["IVR_MENU_PATH"] == "main:2"
    assert variables["IVR_MENU_LABELS"] == "Technical"
    assert variables["IVR_LANGUAGE"] == "fr"


def test_terminator_typed_after_a_complete_number_is_not_a_menu_key():
    d = Driver(
        script_from("""
        script: {name: c, entry: ask}
        nodes:
          ask:
            type: collect
            prompt: custom/ask
            validate: customer_number
            next: menu
          menu:
            type: menu
            prompt: custom/menu
            choices: {"1": q}
          q: {type: queue, queue: q}
    """)
    )
    d.start()
    d.press("12345678")  # complete at 8 digits: already in the menu
    assert d.node == "menu"
    assert d.press("#") == []  # the habitual '#' is swallowed, not an invalid key
    assert d.call.stats.node("c", "menu").invalid == 0
    d.press("#")
    assert d.call.stats.node("c", "menu").invalid == 1  # a second one is a real key


def test_a_failed_hand_over_sends_the_caller_to_the_fallback():
    d = Driver(script_from(MENU))
    d.start()
    out = d.press("1")
    assert only(out, SendToQueue).queue == "billing" and d.call.finished
    out = d.call.error("queue billing does not exist in Asterisk")
    assert only(out, SendToQueue).queue == "reception"  # the fallback node
    assert d.call.stats.script("menu-test").outcomes == {"queue:reception": 1}
    out = d.call.error("queue reception does not exist either")
    assert only(out, ContinueInDialplan).context == DEFAULT_FALLBACK.context
    assert d.call.error("again") == []  # in the dialplan now: nothing more to do
    d2 = Driver(script_from(MENU))
    d2.start()
    d2.call.hangup()
    assert d2.call.error("late") == []
