"""The ARI adapter of the IVR against a fake ARI: event routing, actions, hand-overs, and every
failure path ending outside Stasis (never a stranded caller)."""
from __future__ import annotations

import asyncio
import textwrap
from types import SimpleNamespace

import pytest

from ccserver.capabilities.ivr.handlers import IvrCallEnded, IvrEngine, call_data_pairs
from ccserver.capabilities.ivr.service import IvrService
from ccserver.core import events as ev
from ccserver.core.clock import ManualClock
from ccserver.core.errors import PbxCommandFailed

from ivr_helpers import paris

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


class FakeAri:
    app = "tapp"

    def __init__(self) -> None:
        self.raw_listeners: list = []
        self.log: list = []
        self.failures: dict[str, BaseException] = {}
        self.missing_contexts: set[str] = set()
        self.app_channels: list[str] = []

    async def call(self, resource: str, operation: str, **params):
        self.log.append((f"{resource}.{operation}", params))
        await asyncio.sleep(0)
        failure = self.failures.get(f"{resource}.{operation}")
        if failure is not None:
            raise failure
        if operation == "getChannelVar":
            variable = params["variable"]
            if variable.startswith("DIALPLAN_EXISTS("):
                context = variable[len("DIALPLAN_EXISTS("):].split(",")[0]
                return {"value": "0" if context in self.missing_contexts else "1"}
            return {"value": "linked-1"}
        if operation == "get" and resource == "applications":
            return {"name": self.app, "channel_ids": list(self.app_channels)}
        return None

    def ops(self, name: str) -> list[dict]:
        return [params for op, params in self.log if op == name]

    def emit(self, message: dict) -> None:
        for listener in self.raw_listeners:
            listener(message)


def failed(op: str, status: int) -> PbxCommandFailed:
    return PbxCommandFailed(f"ARI {op} failed: {status}", operation=op, status=status)


@pytest.fixture
async def rig(tmp_path):
    (tmp_path / "demo.yaml").write_text(SCRIPT)
    service = IvrService(scripts_dir=tmp_path, clock=ManualClock(paris(2026, 7, 15, 10, 0)))
    await service.load_all()
    assert service.registry.names() == ["demo"], service.errors()
    ari = FakeAri()
    submitted: list = []
    pbx = SimpleNamespace(ari=ari, endpoint=SimpleNamespace(node="n1", ari_app="tapp"))

    def submit(event):
        submitted.append(event)
        ari.log.append(("submit", event))
    engine = IvrEngine(service, pbx, submit)
    engine.start()
    yield SimpleNamespace(service=service, ari=ari, engine=engine, submitted=submitted)
    await engine.stop()


async def settle(rounds: int = 50) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


def stasis_start(cid: str = "c1", args=("ivr", "demo", "exten"), caller: str = "0612345678"):
    return {"type": "StasisStart", "args": list(args), "application": "tapp",
            "channel": {"id": cid, "name": f"PJSIP/customers-{cid}", "state": "Ring",
                        "caller": {"number": caller}, "dialplan": {"exten": "7000"}}}


def dtmf(digit: str, cid: str = "c1"):
    return {"type": "ChannelDtmfReceived", "digit": digit, "channel": {"id": cid}}


def playback_finished(pid: str, cid: str = "c1", state: str = "done"):
    return {"type": "PlaybackFinished",
            "playback": {"id": pid, "target_uri": f"channel:{cid}", "state": state}}


async def started(rig, cid: str = "c1", **kwargs):
    rig.ari.emit(stasis_start(cid, **kwargs))
    await settle()
    return rig.engine.sessions[cid]


async def test_start_answers_and_plays_the_menu_with_the_script_language(rig):
    s = await started(rig)
    assert rig.ari.ops("channels.answer") == [{"channelId": "c1"}]
    play = rig.ari.ops("channels.play")[0]
    assert play["media"] == "sound:hello,sound:beep" and play["lang"] == "fr"
    assert play["playbackId"] == s.call.playback_id
    assert s.linkedid == "linked-1"


async def test_key_hands_caller_to_queue_with_variables_and_call_data_first(rig):
    s = await started(rig)
    rig.ari.emit(dtmf("1"))
    await settle()
    ops = [op for op, _ in rig.ari.log]
    assert "playbacks.stop" in ops  # barge-in
    cont = rig.ari.ops("channels.continueInDialplan")
    assert cont == [{"channelId": "c1", "context": "ccq-ventes", "extension": "open",
                     "priority": 1}]
    variables = {p["variable"]: p["value"] for p in rig.ari.ops("channels.setChannelVar")}
    assert variables["QUEUE_PRIO"] == "3"
    assert variables["IVR_SKILLS"] == "vente:2"
    assert variables["IVR_MENU_PATH"] == "menu:1"
    assert variables["IVR_LANGUAGE"] == "fr"
    data_at = ops.index("submit")
    assert data_at < ops.index("channels.continueInDialplan")
    data = dict(rig.submitted[0].data)
    assert isinstance(rig.submitted[0], ev.CallDataSet) and rig.submitted[0].linkedid == "linked-1"
    assert data["menu_path"] == "menu:1" and data["menu_labels"] == "Ventes"
    assert data["ivr_outcome"] == "queue:ventes"
    rig.ari.emit({"type": "StasisEnd", "channel": {"id": "c1"}})
    await settle()
    assert "c1" not in rig.engine.sessions
    ended = [e for e in rig.submitted if isinstance(e, IvrCallEnded)]
    assert ended and ended[0].outcome == "queue:ventes" and ended[0].target == "ccq-ventes,open,1"
    assert s.call.stats.scripts["demo"].nodes["menu"].choices == {"1": 1}


async def test_missing_queue_context_sends_caller_to_the_fallback_node(rig):
    rig.ari.missing_contexts.add("ccq-ventes")
    s = await started(rig)
    rig.ari.emit(dtmf("1"))
    await settle()
    assert rig.ari.ops("channels.continueInDialplan")[0]["context"] == "ccq-accueil"
    assert s.call.outcome == "queue:accueil"
    assert "no dialplan at ccq-ventes" in s.call.call_data.error


async def test_fallback_unusable_too_ends_in_the_dialplan_fallback(rig):
    rig.ari.missing_contexts.update({"ccq-ventes", "ccq-accueil"})
    s = await started(rig)
    rig.ari.emit(dtmf("1"))
    await settle()
    assert rig.ari.ops("channels.continueInDialplan")[-1]["context"] == "ccserver-ivr-fallback"
    assert s.left and s.call.outcome == "fallback"


async def test_timeouts_replay_the_menu_then_exhaust_into_the_fallback(rig):
    s = await started(rig)
    pid = s.call.playback_id
    rig.ari.emit(playback_finished(pid))
    await settle()
    assert s.timer_id is not None
    await asyncio.sleep(0.6)  # timeout 0.5 s: replayed
    await settle()
    assert len(rig.ari.ops("channels.play")) == 2
    rig.ari.emit(playback_finished(s.call.playback_id))
    await settle()
    await asyncio.sleep(0.6)  # second timeout: retries 1 exhausted, no on_exhausted
    await settle()
    assert rig.ari.ops("channels.continueInDialplan")[0]["context"] == "ccq-accueil"
    assert s.call.stats.scripts["demo"].nodes["menu"].timeouts == 2


async def test_exception_in_the_engine_is_logged_with_the_channel_and_sent_to_fallback(rig, caplog):
    real = rig.engine._execute

    async def broken(s, action):
        if action.kind == "lookup":
            raise ValueError("boom")
        return await real(s, action)
    rig.engine._execute = broken
    s = await started(rig)
    rig.ari.emit(dtmf("2"))
    await settle()
    assert rig.ari.ops("channels.continueInDialplan")[0]["context"] == "ccq-accueil"
    assert any("c1" in r.getMessage() and "boom" in r.getMessage() for r in caplog.records)
    assert rig.engine.errors == 1


async def test_lookup_raising_takes_the_lookup_error_branch(rig):
    async def lookup(kind, value):
        raise RuntimeError("directory down")
    rig.service.lookup = lookup
    s = await started(rig)
    rig.ari.emit(dtmf("2"))
    await settle()
    assert rig.ari.ops("channels.continueInDialplan")[0]["context"] == "ccq-ventes"  # not_found
    assert s.call.stats.scripts["demo"].nodes["cherche"].errors == 1


async def test_lookup_record_goes_with_the_call(rig):
    async def lookup(kind, value):
        assert (kind, value) == ("phone", "0612345678")
        return {"id": "12345678", "last_name": "Martin"}
    rig.service.lookup = lookup
    s = await started(rig)
    rig.ari.emit(dtmf("2"))
    await settle()
    variables = {p["variable"]: p["value"] for p in rig.ari.ops("channels.setChannelVar")}
    assert variables["IVR_CUSTOMER_ID"] == "12345678"
    assert dict(call_data_pairs(s.call))["customer"] == '{"id": "12345678", "last_name": "Martin"}'


async def test_failed_playback_sends_caller_to_the_fallback(rig):
    s = await started(rig)
    rig.ari.emit(playback_finished(s.call.playback_id, state="failed"))
    await settle()
    assert rig.ari.ops("channels.continueInDialplan")[0]["context"] == "ccq-accueil"


async def test_continue_refused_ends_in_dialplan_fallback_then_hangup(rig):
    rig.ari.failures["channels.continueInDialplan"] = failed("channels.continueInDialplan", 500)
    s = await started(rig)
    rig.ari.emit(dtmf("1"))
    await settle(200)
    contexts = [p["context"] for p in rig.ari.ops("channels.continueInDialplan")]
    assert contexts[0] == "ccq-ventes" and contexts[-1] == "ccserver-ivr-fallback"
    assert rig.ari.ops("channels.hangup") == [{"channelId": "c1"}]  # the very last resort
    assert s.left


async def test_caller_hanging_up_is_counted_and_cleans_up(rig):
    s = await started(rig)
    rig.ari.emit(playback_finished(s.call.playback_id))
    await settle()
    rig.ari.emit({"type": "ChannelHangupRequest", "channel": {"id": "c1"}})
    rig.ari.emit({"type": "StasisEnd", "channel": {"id": "c1"}})
    await settle()
    assert "c1" not in rig.engine.sessions
    assert s.timer is None and s.outcome == "caller_hangup"
    stats = s.call.stats.scripts["demo"]
    assert stats.nodes["menu"].hangups == 1 and stats.outcomes == {"caller_hangup": 1}
    assert rig.ari.ops("channels.continueInDialplan") == []


async def test_channel_gone_during_an_action_stops_quietly(rig):
    rig.ari.failures["channels.play"] = failed("channels.play", 404)
    s = await started(rig)
    assert s.gone
    assert rig.ari.ops("channels.continueInDialplan") == []


async def test_unknown_script_goes_straight_to_the_dialplan_fallback(rig):
    rig.ari.emit(stasis_start("c9", args=("ivr", "nope", "did")))
    await settle()
    assert rig.ari.ops("channels.continueInDialplan") == [
        {"channelId": "c9", "context": "ccserver-ivr-fallback", "extension": "s", "priority": 1}]


async def test_other_stasis_arguments_are_not_ours(rig):
    rig.ari.emit(stasis_start("c2", args=("supervision",)))
    await settle()
    assert rig.engine.sessions == {} and rig.ari.log == []


async def test_a_slow_call_does_not_block_another(rig):
    gate = asyncio.Event()

    async def lookup(kind, value):
        await gate.wait()
        return None
    rig.service.lookup = lookup
    slow = await started(rig, "c1")
    rig.ari.emit(dtmf("2", "c1"))  # waits on the lookup
    fast = await started(rig, "c2")
    rig.ari.emit(dtmf("1", "c2"))
    await settle()
    assert fast.left and not slow.left
    gate.set()
    await settle()
    assert slow.left


async def test_orphans_left_in_stasis_are_sent_to_the_fallback(rig):
    await started(rig, "c1")
    rig.ari.app_channels = ["c1", "old-1"]
    orphans = await rig.engine.sweep_orphans(settle=0)
    assert orphans == ["old-1"]
    assert rig.ari.ops("channels.continueInDialplan")[-1] == {
        "channelId": "old-1", "context": "ccserver-ivr-fallback", "extension": "s", "priority": 1}


async def test_stop_releases_calls_still_in_the_ivr(rig):
    await started(rig, "c1")
    await rig.engine.stop()
    assert rig.ari.ops("channels.continueInDialplan")[-1]["context"] == "ccserver-ivr-fallback"
    assert rig.engine.sessions == {}
    assert rig.ari.raw_listeners == []


async def test_dtmf_latency_is_measured(rig):
    await started(rig)
    rig.ari.emit(dtmf("1"))
    await settle()
    stats = rig.engine.stats()
    assert stats["dtmf_latency_ms"]["count"] == 1
