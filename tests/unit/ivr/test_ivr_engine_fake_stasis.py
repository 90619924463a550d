"""The IVR engine against a fake `StasisCommands`, fed typed events through the intake: event
routing, actions, hand-overs, and every failure path ending outside Stasis (never a stranded
caller)."""

from __future__ import annotations

import asyncio
import textwrap
from types import SimpleNamespace

import pytest
from ivr_helpers import paris

from ccserver.capabilities.ivr.handlers import IvrCallEnded, IvrEngine, call_data_pairs
from ccserver.capabilities.ivr.service import IvrService
from ccserver.core import events as ev
from ccserver.core.bus import InProcessBus, Intake
from ccserver.core.clock import ManualClock
from tests.fakes.stasis import FakeStasis, command_failed

SCRIPT = textwrap.dedent("""\
    script:
      name: demo
      version: "1"
      entry: menu
      fallback: secours
      routes:
        extensions: ["7000"]
    nodes:
      menu:
        type: menu
        prompt: [hello, beep]
        choices:
          "1": {next: ventes, label: Ventes}
          "2": {next: cherche, label: Client}
        timeout: 0.5
        retries: 1
      cherche:
        type: lookup
        from: caller_number
        timeout: 1
        found: ventes
        not_found: ventes
      ventes:
        type: queue
        queue: ventes
        skills: {vente: 2}
        priority: 3
      secours:
        type: queue
        queue: accueil
    """)


@pytest.fixture
async def rig(tmp_path):
    (tmp_path / "demo.yaml").write_text(SCRIPT)
    service = IvrService(scripts_dir=tmp_path, clock=ManualClock(paris(2026, 7, 15, 10, 0)))
    await service.load_all()
    assert service.registry.names() == ["demo"], service.errors()
    stasis = FakeStasis()
    submitted: list = []

    def submit(event):
        submitted.append(event)
        stasis.log.append(("submit", event))

    engine = IvrEngine(service, stasis, submit, node="n1")
    intake = Intake(InProcessBus())
    for event_type, handler in engine.intake_handlers():
        intake.add_handler(event_type, handler)
    yield SimpleNamespace(service=service, stasis=stasis, engine=engine, submitted=submitted, emit=intake.apply)
    await engine.stop()


async def settle(rounds: int = 50) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


def stasis_start(cid: str = "c1", args=("ivr", "demo", "exten"), caller: str = "0612345678"):
    return ev.StasisStarted(
        app="tapp",
        uniqueid=cid,
        channel=f"PJSIP/customers-{cid}",
        caller_number=caller,
        exten="7000",
        args=tuple(args),
        state="Ring",
    )


def dtmf(digit: str, cid: str = "c1"):
    return ev.DtmfReceived(uniqueid=cid, channel=f"PJSIP/customers-{cid}", digit=digit)


def playback_finished(pid: str, cid: str = "c1", state: str = "done"):
    return ev.PlaybackFinished(playback_id=pid, uniqueid=cid, state=state)


def stasis_end(cid: str = "c1"):
    return ev.StasisEnded(app="tapp", uniqueid=cid)


async def started(rig, cid: str = "c1", **kwargs):
    rig.emit(stasis_start(cid, **kwargs))
    await settle()
    return rig.engine.sessions[cid]


async def test_start_answers_and_plays_the_menu_with_the_script_language(rig):
    s = await started(rig)
    assert rig.stasis.ops("answer") == [{"channel_id": "c1"}]
    play = rig.stasis.ops("play")[0]
    assert play["media"] == ["sound:hello", "sound:beep"] and play["language"] == "fr"
    assert play["playback_id"] == s.call.playback_id
    assert s.linkedid == "linked-1"


async def test_key_hands_caller_to_queue_with_variables_and_call_data_first(rig):
    s = await started(rig)
    rig.emit(dtmf("1"))
    await settle()
    ops = [op for op, _ in rig.stasis.log]
    assert "stop_playback" in ops  # barge-in
    cont = rig.stasis.ops("continue_in_dialplan")
    assert cont == [{"channel_id": "c1", "context": "ccq-ventes", "exten": "open", "priority": 1}]
    variables = {p["name"]: p["value"] for p in rig.stasis.ops("set_variable")}
    assert variables["QUEUE_PRIO"] == "3"
    assert variables["IVR_SKILLS"] == "vente:2"
    assert variables["IVR_MENU_PATH"] == "menu:1"
    assert variables["IVR_LANGUAGE"] == "fr"
    data_at = ops.index("submit")
    assert data_at < ops.index("continue_in_dialplan")
    data = dict(rig.submitted[0].data)
    assert isinstance(rig.submitted[0], ev.CallDataSet) and rig.submitted[0].linkedid == "linked-1"
    assert data["menu_path"] == "menu:1" and data["menu_labels"] == "Ventes"
    assert data["ivr_outcome"] == "queue:ventes"
    rig.emit(stasis_end())
    await settle()
    assert "c1" not in rig.engine.sessions
    ended = [e for e in rig.submitted if isinstance(e, IvrCallEnded)]
    assert ended and ended[0].outcome == "queue:ventes" and ended[0].target == "ccq-ventes,open,1"
    assert s.call.stats.scripts["demo"].nodes["menu"].choices == {"1": 1}


async def test_missing_queue_context_sends_caller_to_the_fallback_node(rig):
    rig.stasis.missing_contexts.add("ccq-ventes")
    s = await started(rig)
    rig.emit(dtmf("1"))
    await settle()
    assert rig.stasis.ops("continue_in_dialplan")[0]["context"] == "ccq-accueil"
    assert s.call.outcome == "queue:accueil"
    assert "no dialplan at ccq-ventes" in s.call.call_data.error


async def test_fallback_unusable_too_ends_in_the_dialplan_fallback(rig):
    rig.stasis.missing_contexts.update({"ccq-ventes", "ccq-accueil"})
    s = await started(rig)
    rig.emit(dtmf("1"))
    await settle()
    assert rig.stasis.ops("continue_in_dialplan")[-1]["context"] == "ccserver-ivr-fallback"
    assert s.left and s.call.outcome == "fallback"


async def test_timeouts_replay_the_menu_then_exhaust_into_the_fallback(rig):
    s = await started(rig)
    pid = s.call.playback_id
    rig.emit(playback_finished(pid))
    await settle()
    assert s.timer_id is not None
    await asyncio.sleep(0.6)  # timeout 0.5 s: replayed
    await settle()
    assert len(rig.stasis.ops("play")) == 2
    rig.emit(playback_finished(s.call.playback_id))
    await settle()
    await asyncio.sleep(0.6)  # second timeout: retries 1 exhausted, no on_exhausted
    await settle()
    assert rig.stasis.ops("continue_in_dialplan")[0]["context"] == "ccq-accueil"
    assert s.call.stats.scripts["demo"].nodes["menu"].timeouts == 2


async def test_exception_in_the_engine_is_logged_with_the_channel_and_sent_to_fallback(rig, caplog):
    real = rig.engine._execute

    async def broken(s, action):
        if action.kind == "lookup":
            raise ValueError("boom")
        return await real(s, action)

    rig.engine._execute = broken
    await started(rig)
    rig.emit(dtmf("2"))
    await settle()
    assert rig.stasis.ops("continue_in_dialplan")[0]["context"] == "ccq-accueil"
    assert any("c1" in r.getMessage() and "boom" in r.getMessage() for r in caplog.records)
    assert rig.engine.errors == 1


async def test_lookup_raising_takes_the_lookup_error_branch(rig):
    async def lookup(kind, value):
        raise RuntimeError("directory down")

    rig.service.lookup = lookup
    s = await started(rig)
    rig.emit(dtmf("2"))
    await settle()
    assert rig.stasis.ops("continue_in_dialplan")[0]["context"] == "ccq-ventes"  # not_found
    assert s.call.stats.scripts["demo"].nodes["cherche"].errors == 1


async def test_lookup_record_goes_with_the_call(rig):
    async def lookup(kind, value):
        assert (kind, value) == ("phone", "0612345678")
        return {"id": "12345678", "last_name": "Martin"}

    rig.service.lookup = lookup
    s = await started(rig)
    rig.emit(dtmf("2"))
    await settle()
    variables = {p["name"]: p["value"] for p in rig.stasis.ops("set_variable")}
    assert variables["IVR_CUSTOMER_ID"] == "12345678"
    assert dict(call_data_pairs(s.call))["customer"] == '{"id": "12345678", "last_name": "Martin"}'


async def test_failed_playback_sends_caller_to_the_fallback(rig):
    s = await started(rig)
    rig.emit(playback_finished(s.call.playback_id, state="failed"))
    await settle()
    assert rig.stasis.ops("continue_in_dialplan")[0]["context"] == "ccq-accueil"


async def test_continue_refused_ends_in_dialplan_fallback_then_hangup(rig):
    rig.stasis.failures["continue_in_dialplan"] = command_failed("continue_in_dialplan", 500)
    s = await started(rig)
    rig.emit(dtmf("1"))
    await settle(200)
    contexts = [p["context"] for p in rig.stasis.ops("continue_in_dialplan")]
    assert contexts[0] == "ccq-ventes" and contexts[-1] == "ccserver-ivr-fallback"
    assert rig.stasis.ops("hangup") == [{"channel_id": "c1"}]  # the very last resort
    assert s.left


async def test_caller_hanging_up_is_counted_and_cleans_up(rig):
    s = await started(rig)
    rig.emit(playback_finished(s.call.playback_id))
    await settle()
    rig.emit(ev.ChannelHangupRequested(uniqueid="c1"))
    rig.emit(stasis_end())
    await settle()
    assert "c1" not in rig.engine.sessions
    assert s.timer is None and s.outcome == "caller_hangup"
    stats = s.call.stats.scripts["demo"]
    assert stats.nodes["menu"].hangups == 1 and stats.outcomes == {"caller_hangup": 1}
    assert rig.stasis.ops("continue_in_dialplan") == []


async def test_channel_gone_during_an_action_stops_quietly(rig):
    rig.stasis.failures["play"] = command_failed("play", 404, gone=True)
    s = await started(rig)
    assert s.gone
    assert rig.stasis.ops("continue_in_dialplan") == []


async def test_unknown_script_goes_straight_to_the_dialplan_fallback(rig):
    rig.emit(stasis_start("c9", args=("ivr", "nope", "did")))
    await settle()
    assert rig.stasis.ops("continue_in_dialplan") == [
        {"channel_id": "c9", "context": "ccserver-ivr-fallback", "exten": "s", "priority": 1}
    ]


async def test_other_stasis_arguments_are_not_ours(rig):
    rig.emit(stasis_start("c2", args=("supervision",)))
    await settle()
    assert rig.engine.sessions == {} and rig.stasis.log == []


async def test_a_slow_call_does_not_block_another(rig):
    gate = asyncio.Event()

    async def lookup(kind, value):
        await gate.wait()
        return None

    rig.service.lookup = lookup
    slow = await started(rig, "c1")
    rig.emit(dtmf("2", "c1"))  # waits on the lookup
    fast = await started(rig, "c2")
    rig.emit(dtmf("1", "c2"))
    await settle()
    assert fast.left and not slow.left
    gate.set()
    await settle()
    assert slow.left


async def test_orphans_left_in_stasis_are_sent_to_the_fallback(rig):
    await started(rig, "c1")
    rig.stasis.channels_in_app = {"c1", "old-1"}
    orphans = await rig.engine.sweep_orphans(settle=0)
    assert orphans == ["old-1"]
    assert rig.stasis.ops("continue_in_dialplan")[-1] == {
        "channel_id": "old-1",
        "context": "ccserver-ivr-fallback",
        "exten": "s",
        "priority": 1,
    }


async def test_stop_releases_calls_still_in_the_ivr(rig):
    await started(rig, "c1")
    await rig.engine.stop()
    assert rig.stasis.ops("continue_in_dialplan")[-1]["context"] == "ccserver-ivr-fallback"
    assert rig.engine.sessions == {}


async def test_dtmf_latency_is_measured(rig):
    await started(rig)
    rig.emit(dtmf("1"))
    await settle()
    stats = rig.engine.stats()
    assert stats["dtmf_latency_ms"]["count"] == 1


async def test_caller_already_up_is_not_answered_again(rig):
    rig.emit(
        ev.StasisStarted(
            app="tapp",
            uniqueid="c1",
            channel="PJSIP/customers-c1",
            exten="7000",
            args=("ivr", "demo", "exten"),
            state="Up",
        )
    )
    await settle()
    assert rig.stasis.ops("answer") == [] and rig.stasis.ops("play")
    assert rig.engine.sessions["c1"].linkedid == "linked-1"


async def test_channel_destroyed_is_a_caller_hangup(rig):
    s = await started(rig)
    rig.emit(ev.ChannelDestroyed(uniqueid="c1", cause=16))
    await settle()
    assert s.gone and s.outcome == "caller_hangup"
    rig.emit(stasis_end())
    await settle()
    assert "c1" not in rig.engine.sessions


async def test_events_of_other_channels_are_ignored(rig):
    s = await started(rig)
    rig.emit(dtmf("1", "other"))
    rig.emit(playback_finished("p-unknown", cid="other"))
    rig.emit(ev.ChannelHangupRequested(uniqueid="other"))
    await settle()
    assert not s.left and rig.stasis.ops("continue_in_dialplan") == []
