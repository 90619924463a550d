"""An agent's phone hanging up while the customer is on hold: the customer is not left behind.

Hold is an attended transfer to [ccserver-hold]; when the agent's phone hangs up meanwhile,
Asterisk completes it. The hold extension watches the agent's channel and puts the customer back
in the call's queue at the front ([ccserver-requeue]): the next agent gets them before the callers
already waiting, on the same call record with a second leg. With nobody left in the queue, the
customer hears "sorry" and the call ends with that reason."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest

from ccserver.capabilities.agents.model import AgentState
from tests.support.calls import (
    QUEUE_NUMBER,
    TONE_WINDOW,
    TONES,
    assert_talking_together,
    hang_up_customer,
    heard_during,
    log_in,
    post,
    setup_call_center,
    start_phones,
    tone_wav,
    who_is_heard,
)
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer, SippCaller

pytestmark = pytest.mark.asterisk
TOLERANCE = 1.2  # seconds: event latency and whole-second rounding
ALICE_TALKS = 8  # alice's phone hangs up this long after answering (the customer then on hold)


def _queue_log(asterisk, uid) -> list[list[str]]:
    lines = (asterisk.instance_dir / "log" / "queue_log").read_text().splitlines()
    return [line.split("|") for line in lines if f"|{uid}|" in line]


async def _screen_pops(client, srv):
    ws = await client.ws_connect("/ws", headers={"Origin": srv.base_url})
    pops: list[dict] = []

    async def read():
        async for msg in ws:
            data = msg.json()
            if data.get("topic") == "screen_pop":
                pops.append(data)

    return ws, pops, asyncio.create_task(read())


@dataclass
class HeldCall:
    phones: dict
    callers: list  # the held customer, then (with bruno) the one already waiting
    uid: str  # the held call
    dropped: float  # monotonic time alice's phone hung up
    desk: object  # alice's desk (closing a client stops the test server: closed at the end)


async def _alice_holds_then_her_phone_drops(srv, asterisk, accounts, tmp_path, *, bruno: bool):
    """A customer calls; alice (the only one available) answers and holds; she is taken out of the
    queue (so she does not get the customer again) and then her phone hangs up. `bruno`: bruno
    is logged in but paused, and a second customer is already waiting when alice's phone drops.
    The customer plays 350 Hz, alice 800 Hz, bruno 1200 Hz (TONES: who is heard in the recording).
    Returns a HeldCall."""
    rt = srv.runtime
    tone = {name: tone_wav(tmp_path / f"{name}.wav", freq) for name, freq in TONES.items()}
    phones = await start_phones(
        asterisk,
        {name: accounts[name] for name in (("alice", "bruno") if bruno else ("alice",))},
        alice=Answer(audio=tone["alice"], talk_seconds=ALICE_TALKS),
        bruno=Answer(audio=tone["bruno"], audio_seconds=120),
    )
    if bruno:
        await log_in(rt, "bruno")
        await rt.acd.pause("bruno", "break")
        await until(lambda: rt.agent_board.agents["bruno"].state is AgentState.PAUSED, 5, "bruno paused")
    await log_in(rt, "alice")
    first = SippCaller(asterisk, QUEUE_NUMBER, caller="0644556677", audio=tone["caller"], max_seconds=120)
    callers = [first]
    await first.start()
    await until(lambda: rt.agent_board.agents["alice"].state is AgentState.ON_CALL, 15, "alice on the call")
    uid = rt.agent_board.agents["alice"].call.uniqueid
    await until(lambda: uid in rt.call_tracker.open and rt.call_tracker.open[uid].answered_at, 5)
    rec = rt.recording
    await until(lambda: rec.live.get(uid) and rec.live[uid].state == "recording", 5, "the call recorded")
    client = await srv.login("alice", "password-1234")
    await asyncio.sleep(2)  # alice and the customer talk
    status, body = await post(client, f"/api/calls/{uid}/hold")
    assert status == 200, body
    await until(lambda: rt.call_control.board.calls[uid].settled, 5, "the customer on hold")
    # alice leaves the queue (a call in progress goes on): the customer will not ring her again
    await rt.acd.logout_everywhere("alice", actor="admin", why="test")
    if bruno:
        second = SippCaller(asterisk, QUEUE_NUMBER, caller="0611223344", audio=True, max_seconds=120)
        callers.append(second)
        await second.start()

        def waiting():
            return [r for r in rt.call_tracker.open.values() if r.uniqueid != uid and r.answered_at is None]

        await until(waiting, 10, "the second customer waiting in the queue")
    assert phones["alice"].calls_ended == 0, "alice's phone hung up before the test was ready"
    await phones["alice"].wait_calls("ended", 1, timeout=15)
    return HeldCall(phones, callers, uid, time.monotonic(), client)


async def test_held_customer_goes_back_to_the_queue_first_when_the_agents_phone_drops(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        held = await _alice_holds_then_her_phone_drops(srv, asterisk, accounts, tmp_path, bruno=True)
        phones, callers, uid = held.phones, held.callers, held.uid
        first, second = callers
        bruno_desk = await srv.login("bruno", "password-1234")
        ws, pops, reader = await _screen_pops(bruno_desk, srv)
        try:
            # the same call, back in the queue: alice's leg ended as "put back in the queue"
            await until(lambda: rt.call_tracker.requeued.get(uid) == 1, 5, "the customer back in the queue")
            requeued_after = time.monotonic() - held.dropped
            assert uid in rt.call_tracker.open and first.call_id is not None
            await until(lambda: [x.ended_how for x in rt.acd.legs.legs(uid)] == ["requeued"], 5, "alice's leg requeued")
            assert uid not in rt.call_control.board.calls  # alice's desk let the call go
            # bruno becomes ready: he gets the held customer first, with the screen-pop
            status, body = await post(bruno_desk, "/api/agent/unpause")
            assert status == 200, body
            await until(lambda: rt.agent_board.agents["bruno"].state is AgentState.ON_CALL, 15, "bruno on a call")
            assert rt.agent_board.agents["bruno"].call.uniqueid == uid
            await until(lambda: [p for p in pops if p["uniqueid"] == uid], 5, "bruno's screen-pop")
            assert pops[0]["uniqueid"] == uid and pops[0]["caller_number"] == "0644556677"
            await until(lambda: len(rt.acd.legs.legs(uid)) == 2, 5, "bruno's leg")
            bruno_from = time.monotonic()
            # the call's controls are bruno's now: he holds and resumes it from his desk
            status, body = await post(bruno_desk, f"/api/calls/{uid}/hold")
            assert status == 200, body
            await until(lambda: rt.call_control.board.calls[uid].settled, 5, "held by bruno")
            assert rt.call_control.board.calls[uid].agent == "bruno"
            status, body = await post(bruno_desk, f"/api/calls/{uid}/resume")
            assert status == 200, body
            await until(lambda: not rt.call_control.board.calls[uid].held, 5, "resumed by bruno")
            talking_from = time.monotonic()
            # the customer and bruno hear each other (no music on hold any more)
            await assert_talking_together(phones["bruno"], first)
            # the second customer, who was waiting before, still waits (bruno is busy with the first)
            [second_uid] = [r.uniqueid for r in rt.call_tracker.open.values() if r.uniqueid != uid]
            assert rt.call_tracker.open[second_uid].answered_at is None
            await asyncio.sleep(1)
            bruno_seconds = time.monotonic() - bruno_from
            talking = time.monotonic() - talking_from
            await hang_up_customer(rt, uid)
        finally:
            reader.cancel()
            await ws.close()
            await bruno_desk.close()
            for caller in callers:
                await caller.stop()
            for phone in phones.values():
                await phone.stop()
            await held.desk.close()

        # one call, two legs: alice's (put back in the queue), bruno's (from the queue)
        stored = (await asyncio.to_thread(rt.acd_repo.legs_of, [uid]))[uid]
        assert [(r.seq, r.agent, r.started_how, r.ended_how, r.transferred_by) for r in stored] == [
            (1, "alice", "queue", "requeued", None),
            (2, "bruno", "queue", "hangup", None),
        ]
        alice_leg, bruno_leg = stored
        assert bruno_leg.answered_at >= alice_leg.ended_at
        # each agent's own seconds: alice talked until she held, then held until her phone dropped
        assert abs(alice_leg.talk_seconds + alice_leg.hold_seconds - ALICE_TALKS) <= TOLERANCE, alice_leg
        assert alice_leg.hold_seconds >= 1, alice_leg
        bruno_part = bruno_leg.talk_seconds + bruno_leg.hold_seconds
        assert abs(bruno_part - bruno_seconds) <= TOLERANCE, (bruno_leg, bruno_seconds)
        assert bruno_leg.talk_seconds < ALICE_TALKS + 3  # never alice's part
        [row] = [r for r in await asyncio.to_thread(rt.acd_repo.calls) if r.uniqueid == uid]
        assert row.outcome == "answered" and row.agent == "alice", row  # the first answer, as after a transfer
        assert row.talk_seconds <= ALICE_TALKS + TOLERANCE, row.talk_seconds
        # the recording went on, one file for the whole call: bruno and the customer in its end
        rows = await until(lambda: [r for r in rt.recording.repo.for_call(uid) if r.ended_at is not None], 15)
        assert [r.status for r in rows] == ["stored"], rows
        heard = who_is_heard(rt.recording.store.store_dir / rows[0].path)
        assert heard_during(heard, 0.5, 2.0) == {"caller", "alice"}, heard
        # (MixMonitor writes while the customer is bridged: the second wait in the queue is not
        # in the file, bruno's talk is its last seconds)
        length = len(heard) * TONE_WINDOW
        assert heard_during(heard, length - talking + 0.7, length - 0.5) == {"caller", "bruno"}, (heard, talking)
        # queue_log: alice connected, the same call entered the queue again, bruno connected
        log = _queue_log(asterisk, uid)
        events = [(x[3], x[4]) for x in log]
        assert requeued_after < 2, requeued_after  # the hold extension looks every second
        assert events.index(("alice", "CONNECT")) < events.index(("bruno", "CONNECT")), log
        entered = [x for x in log if x[4] == "ENTERQUEUE"]
        assert len(entered) == 2, log
        # ENTERQUEUE|url|callerid|position: back at position 1 though another customer was waiting
        assert entered[1][7] == "1", log
        assert any(x[4] == "ENTERQUEUE" for x in _queue_log(asterisk, second_uid)), "the second customer queued"
        assert any(agent == "bruno" and e.startswith("COMPLETE") for agent, e in events), log


async def test_held_customer_with_nobody_left_in_the_queue_hears_sorry_and_the_call_ends(asterisk, tmp_path):
    """Nobody logged in to the queue any more when alice's phone drops: the customer is not left
    in silence; the call ends, its record saying why."""
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        held = await _alice_holds_then_her_phone_drops(srv, asterisk, accounts, tmp_path, bruno=False)
        phones, callers, uid = held.phones, held.callers, held.uid
        try:
            await callers[0].wait(timeout=15)  # the customer's call ended (Asterisk's BYE)
            ended_after = time.monotonic() - held.dropped

            async def nothing_left():
                listing = await asyncio.to_thread(asterisk.cli, "core show channels concise")
                return not any(uid in line or "ccserver-hold" in line for line in listing.splitlines())

            await until(nothing_left, 5, "the customer's and the hold extension's channels gone")
            await until(lambda: uid not in rt.call_tracker.open, 5, "the call record closed")
            await rt.call_writer.flush_now()
        finally:
            for caller in callers:
                await caller.stop()
            for phone in phones.values():
                await phone.stop()
            await held.desk.close()
        assert ended_after < 6, ended_after  # "sorry" (~1 s) after at most a second of silence
        row = rt.acd_repo.call(uid)
        assert row.hangup_reason == "requeue failed: nobody logged in to the queue", row.hangup_reason
        stored = (await asyncio.to_thread(rt.acd_repo.legs_of, [uid]))[uid]
        assert [(r.agent, r.ended_how) for r in stored] == [("alice", "hangup")]
