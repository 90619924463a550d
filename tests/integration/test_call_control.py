"""Call control from the desk on the real Asterisk: hold / resume, mute, DTMF, blind and attended
transfers, checked by what each party hears (RTP reaching each sipp phone)."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from ccserver.capabilities.agents.model import AgentState
from tests.integration.test_inbound import QUEUE_NUMBER, log_in, setup_call_center, start_phones
from tests.support.rtp_capture import ALAW, ULAW, RtpCapture
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer, SippCaller

pytestmark = pytest.mark.asterisk
SPEECH = 300  # RMS: the sample speech is 1000-4000, silence 0-10
MOH_FREQS = (440.0, 523.25, 659.25)  # the instance's music-on-hold chime


def tonal_share(capture: RtpCapture, start: float, end: float) -> float:
    """How much of what was heard is the music-on-hold chime: per 0.25 s chunk, the share of its
    energy at the chime's frequencies (Goertzel), averaged. ~1 for the chime, <0.2 for speech."""
    samples = []
    for at, payload_type, payload in capture.packets:
        if start <= at < end and payload_type in (0, 8):
            table = ALAW if payload_type == 8 else ULAW
            samples += [table[b] for b in payload]
    n = 2000
    shares = []
    for offset in range(0, len(samples) - n + 1, n):
        chunk = samples[offset : offset + n]
        energy = sum(x * x for x in chunk)
        if energy < n * SPEECH * SPEECH / 4:
            continue
        best = 0.0
        for freq in MOH_FREQS:
            coeff = 2 * math.cos(2 * math.pi * freq / 8000)
            s1 = s2 = 0.0
            for x in chunk:
                s1, s2 = x + coeff * s1 - s2, s1
            power = s1 * s1 + s2 * s2 - coeff * s1 * s2
            best = max(best, power / (n / 2 * energy))
        shares.append(best)
    return sum(shares) / len(shares) if shares else 0.0


async def answered_call(srv, asterisk, accounts, tmp_path, *, with_bruno: bool = False):
    """Alice (logged in) answers a caller from the queue; Bruno's phone registered, not in queue.
    Every party talks (the sample speech, looped)."""
    rt = srv.runtime
    talk = Answer(audio=True, audio_seconds=120)
    who = {"alice": accounts["alice"], **({"bruno": accounts["bruno"]} if with_bruno else {})}
    phones = await start_phones(asterisk, who, alice=talk, bruno=talk)
    await log_in(rt, "alice")
    caller = SippCaller(asterisk, QUEUE_NUMBER, caller="0644556677", audio=True, talk_seconds=None, max_seconds=120)
    await caller.start()
    await until(lambda: rt.agent_board.agents["alice"].state is AgentState.ON_CALL, 15)
    uniqueid = rt.agent_board.agents["alice"].call.uniqueid
    await until(lambda: uniqueid in rt.call_tracker.open and rt.call_tracker.open[uniqueid].answered_at, 5)
    return phones, caller, uniqueid


async def post(client, path, body=None):
    resp = await client.post(path, json=body or {}, headers={"X-CSRF-Token": client.csrf})
    return resp.status, await resp.json()


async def test_hold_resume_mute_and_dtmf_reach_the_right_ears(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        phones, caller, uid = await answered_call(srv, asterisk, accounts, tmp_path)
        try:
            client = await srv.login("alice", "password-1234")
            agent_hears = RtpCapture(phones["alice"]._run.media_port).start()
            caller_hears = RtpCapture(caller._run.media_port).start()
            marks = {"talk": time.monotonic()}
            await asyncio.sleep(3)
            status, body = await post(client, f"/api/calls/{uid}/hold")
            assert status == 200, body
            await until(lambda: rt.call_control.board.calls[uid].held, 5)
            marks["hold"] = time.monotonic()
            await asyncio.sleep(4)
            # holding twice is refused, the call untouched
            status, body = await post(client, f"/api/calls/{uid}/hold")
            assert status == 409 and body["error"] == "call-not-in-state"
            status, body = await post(client, f"/api/calls/{uid}/resume")
            assert status == 200, body
            await until(lambda: not rt.call_control.board.calls[uid].held, 5)
            marks["resume"] = time.monotonic()
            await asyncio.sleep(3)
            status, body = await post(client, f"/api/calls/{uid}/mute")
            assert status == 200 and body["muted"] is True
            marks["mute"] = time.monotonic()
            await asyncio.sleep(3)
            status, body = await post(client, f"/api/calls/{uid}/unmute")
            assert status == 200 and body["muted"] is False
            marks["unmute"] = time.monotonic()
            await asyncio.sleep(3)
            end = time.monotonic()
            agent_hears.stop()
            caller_hears.stop()

            # bad DTMF is refused naming the field; good DTMF goes to the customer
            status, body = await post(client, f"/api/calls/{uid}/dtmf", {"digits": "12${x}"})
            assert status == 400 and body["details"]["field"] == "digits"
            status, body = await post(client, f"/api/calls/{uid}/dtmf", {"digits": "42#"})
            assert status == 200, body

            phases = ["talk", "hold", "resume", "mute", "unmute"]
            bounds = dict(
                zip(phases, [(marks[p], ([marks[q] for q in phases[1:]] + [end])[i]) for i, p in enumerate(phases)])
            )
            heard = {
                p: (
                    round(agent_hears.rms(a + 1.5, b - 0.3)),
                    round(caller_hears.rms(a + 1.0, b - 0.3)),
                    round(tonal_share(caller_hears, a + 1.0, b - 0.3), 2),
                )
                for p, (a, b) in bounds.items()
            }
            assert heard["talk"][0] > SPEECH and heard["talk"][1] > SPEECH and heard["talk"][2] < 0.3, heard
            # on hold: the agent hears nothing of the customer, the customer hears the music
            assert heard["hold"][0] < SPEECH and heard["hold"][2] > 0.6, heard
            assert heard["resume"][0] > SPEECH and heard["resume"][1] > SPEECH and heard["resume"][2] < 0.3, heard
            # muted: the customer no longer hears the agent, the agent still hears them
            assert heard["mute"][0] > SPEECH and heard["mute"][1] < SPEECH, heard
            assert heard["unmute"][1] > SPEECH, heard
            # the call record went on through hold (same call, still answered by alice)
            assert rt.call_tracker.open[uid].agent == "alice"
            assert rt.agent_board.agents["alice"].state is AgentState.ON_CALL

            # a call that is not hers: forbidden; an unknown call: not found
            await asyncio.to_thread(rt.users.create_user, "zoe", "password-1234", role="agent")
            other = await srv.login("zoe", "password-1234")
            status, body = await post(other, f"/api/calls/{uid}/hold")
            assert status == 403, body
            status, body = await post(client, "/api/calls/123.456/hold")
            assert status == 404 and body["error"] == "no-such-call"

            status, body = await post(client, f"/api/calls/{uid}/hangup")
            assert status == 200, body
            await caller.wait(timeout=10)
            await until(lambda: uid not in rt.call_control.board.calls, 5)
            actions = [e.action for e in reversed(rt.audit.list(actor="alice")) if e.action.startswith("call.")]
            assert actions == ["call.hold", "call.resume", "call.mute", "call.unmute", "call.dtmf", "call.hangup"]
            await client.close()
            await other.close()
        finally:
            for phone in phones.values():
                await phone.stop()


async def test_blind_transfer_to_an_agent_moves_the_customer_and_frees_the_first(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        phones, caller, uid = await answered_call(srv, asterisk, accounts, tmp_path, with_bruno=True)
        try:
            client = await srv.login("alice", "password-1234")
            status, body = await post(client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "nobody"})
            assert status == 404 and body["error"] == "no-such-transfer-target"
            status, body = await post(client, f"/api/calls/{uid}/transfer", {"kind": "external", "target": "12\r\nX"})
            assert status == 400 and body["details"]["field"] == "target"
            assert rt.agent_board.agents["alice"].state is AgentState.ON_CALL  # left as it was
            status, body = await post(client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno"})
            assert status == 200, body
            alice_seconds = (rt.clock.now() - rt.call_tracker.open[uid].answered_at).total_seconds()
            await phones["bruno"].wait_calls("answered", 1, timeout=15)
            await phones["alice"].wait_for(lambda: phones["alice"].calls_ended == 1, 10, "alice's leg ended")
            await until(lambda: rt.agent_board.agents["alice"].state is not AgentState.ON_CALL, 10)
            bruno_hears = RtpCapture(phones["bruno"]._run.media_port).start()
            caller_hears = RtpCapture(caller._run.media_port).start()
            start = time.monotonic()
            await asyncio.sleep(4)
            bruno_hears.stop()
            caller_hears.stop()
            assert bruno_hears.rms(start + 1, start + 3.8) > SPEECH
            assert caller_hears.rms(start + 1, start + 3.8) > SPEECH
            assert tonal_share(caller_hears, start + 1, start + 3.8) < 0.3
            assert uid in rt.call_tracker.open  # the same customer call goes on

            # alice is charged her own seconds only, in the call record and in queue_log
            await rt.pbx.ami.hangup(rt.call_tracker.open[uid].channel)
            await until(lambda: uid not in rt.call_tracker.open, 10)
            await rt.call_writer.flush_now()
            [row] = [r for r in await asyncio.to_thread(rt.acd_repo.calls) if r.uniqueid == uid]
            assert row.agent == "alice" and row.talk_seconds <= alice_seconds + 1, (row.talk_seconds, alice_seconds)
            queue_log = (asterisk.instance_dir / "log" / "queue_log").read_text().splitlines()
            [transfer] = [line.split("|") for line in queue_log if f"|{uid}|" in line and "BLINDTRANSFER" in line]
            assert transfer[3] == "alice" and int(transfer[8]) <= alice_seconds + 1, transfer
        finally:
            for phone in phones.values():
                await phone.stop()
            await caller.stop()


async def test_attended_transfer_consults_then_completes_or_cancels(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        phones, caller, uid = await answered_call(srv, asterisk, accounts, tmp_path, with_bruno=True)
        try:
            client = await srv.login("alice", "password-1234")
            # 1. consult, then cancel: back with the customer
            status, body = await post(
                client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno", "attended": True}
            )
            assert status == 200 and body["consulting"] == "agent bruno", body
            await phones["bruno"].wait_calls("answered", 1, timeout=15)
            ears = {n: RtpCapture(p._run.media_port).start() for n, p in phones.items()}
            ears["caller"] = RtpCapture(caller._run.media_port).start()
            consult = time.monotonic()
            await asyncio.sleep(4)
            status, body = await post(client, f"/api/calls/{uid}/transfer/cancel")
            assert status == 200, body
            await phones["bruno"].wait_for(lambda: phones["bruno"].calls_ended == 1, 10, "bruno's leg ended")
            await until(lambda: not rt.call_control.board.calls[uid].held, 5)
            cancelled = time.monotonic()
            await asyncio.sleep(4)
            # 2. consult again, then complete: the customer with bruno, alice gone
            status, body = await post(
                client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno", "attended": True}
            )
            assert status == 200, body
            await phones["bruno"].wait_calls("answered", 2, timeout=15)
            await until(lambda: rt.call_control.board.calls[uid].held, 5)
            await asyncio.sleep(1.5)
            status, body = await post(client, f"/api/calls/{uid}/transfer/complete")
            assert status == 200, body
            await phones["alice"].wait_for(lambda: phones["alice"].calls_ended == 1, 10, "alice's leg ended")
            completed = time.monotonic()
            await asyncio.sleep(4)
            end = time.monotonic()
            for ear in ears.values():
                ear.stop()

            def heard(name, a, b):
                return round(ears[name].rms(a, b))

            # consultation: customer on hold with music, alice and bruno hear each other
            assert heard("alice", consult + 1, consult + 3.8) > SPEECH
            assert heard("bruno", consult + 1, consult + 3.8) > SPEECH
            assert tonal_share(ears["caller"], consult + 1, consult + 3.8) > 0.6
            # cancelled: customer and alice again
            assert heard("alice", cancelled + 1, cancelled + 3.8) > SPEECH
            assert heard("caller", cancelled + 1, cancelled + 3.8) > SPEECH
            assert tonal_share(ears["caller"], cancelled + 1, cancelled + 3.8) < 0.3
            # completed: customer and bruno
            assert heard("bruno", completed + 1, end - 0.2) > SPEECH
            assert heard("caller", completed + 1, end - 0.2) > SPEECH
            assert tonal_share(ears["caller"], completed + 1, end - 0.2) < 0.3
            assert uid in rt.call_tracker.open
            actions = [e.action for e in reversed(rt.audit.list(actor="alice")) if e.action.startswith("call.")]
            assert actions == ["call.transfer", "call.transfer_cancel", "call.transfer", "call.transfer_complete"]
        finally:
            for phone in phones.values():
                await phone.stop()


async def test_transfer_to_a_busy_agent_comes_back_with_the_reason(asterisk, tmp_path):
    """Blind: the customer rings the transferring agent again; attended: the agent is back with
    the customer. Both times the desk gets the reason within a second."""
    from tests.support.sipp import Reject

    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        talk = Answer(audio=True, audio_seconds=120)
        phones = await start_phones(asterisk, accounts, alice=talk, bruno=Reject(486))
        await log_in(rt, "alice")
        caller = SippCaller(asterisk, QUEUE_NUMBER, caller="0644556677", audio=True, talk_seconds=None, max_seconds=120)
        await caller.start()
        try:
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.ON_CALL, 15)
            uid = rt.agent_board.agents["alice"].call.uniqueid
            client = await srv.login("alice", "password-1234")
            ws = await client.ws_connect("/ws", headers={"Origin": srv.base_url})
            pushes: list[tuple[float, dict]] = []

            async def read():
                async for msg in ws:
                    data = msg.json()
                    if data.get("topic") == "call_control_changed":
                        pushes.append((time.monotonic(), data["call"]))

            reader = asyncio.create_task(read())

            # attended, bruno busy: alice is back with the customer, the reason on her desk
            status, body = await post(
                client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno", "attended": True}
            )
            assert status == 200, body
            await until(lambda: any(c.get("transfer") == "failed" for _, c in pushes), 10, "the failure pushed")
            assert next(c for _, c in pushes if c.get("transfer") == "failed")["reason"] == "the target is busy"
            await until(lambda: not rt.call_control.board.calls[uid].held, 5)
            ears = {"alice": RtpCapture(phones["alice"]._run.media_port).start()}
            ears["caller"] = RtpCapture(caller._run.media_port).start()
            back = time.monotonic()
            await asyncio.sleep(3)
            for ear in ears.values():
                ear.stop()
            assert ears["alice"].rms(back + 0.8, back + 2.8) > SPEECH
            assert ears["caller"].rms(back + 0.8, back + 2.8) > SPEECH
            assert tonal_share(ears["caller"], back + 0.8, back + 2.8) < 0.3

            # blind, bruno busy: the customer rings alice again, who answers
            pushes.clear()
            status, body = await post(client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno"})
            assert status == 200, body
            sent = time.monotonic()
            await until(lambda: any(c.get("transfer") == "failed" for _, c in pushes), 10, "the failure pushed")
            failed_at, failed = next((at, c) for at, c in pushes if c.get("transfer") == "failed")
            assert failed["reason"] == "the target is busy" and failed_at - sent < 1.5
            await phones["alice"].wait_calls("answered", 2, timeout=15)
            ears = {"alice": RtpCapture(phones["alice"]._run.media_port).start()}
            ears["caller"] = RtpCapture(caller._run.media_port).start()
            back = time.monotonic()
            await asyncio.sleep(3)
            for ear in ears.values():
                ear.stop()
            assert ears["alice"].rms(back + 0.8, back + 2.8) > SPEECH
            assert ears["caller"].rms(back + 0.8, back + 2.8) > SPEECH
            assert uid in rt.call_tracker.open
            reader.cancel()
            await ws.close()
            await client.close()
        finally:
            await caller.stop()
            for phone in phones.values():
                await phone.stop()


async def test_consulted_agent_hanging_up_brings_the_agent_back_to_the_customer(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        talk = Answer(audio=True, audio_seconds=120)
        phones = await start_phones(
            asterisk, accounts, alice=talk, bruno=Answer(audio=True, talk_seconds=3, audio_seconds=3)
        )
        await log_in(rt, "alice")
        caller = SippCaller(asterisk, QUEUE_NUMBER, caller="0644556677", audio=True, talk_seconds=None, max_seconds=120)
        await caller.start()
        try:
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.ON_CALL, 15)
            uid = rt.agent_board.agents["alice"].call.uniqueid
            client = await srv.login("alice", "password-1234")
            status, body = await post(
                client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno", "attended": True}
            )
            assert status == 200, body
            await phones["bruno"].wait_for(lambda: phones["bruno"].calls_ended == 1, 15, "bruno hung up")
            await until(lambda: not rt.call_control.board.calls[uid].held, 5)
            assert rt.call_control.board.calls[uid].consulting == ""
            ears = {"alice": RtpCapture(phones["alice"]._run.media_port).start()}
            ears["caller"] = RtpCapture(caller._run.media_port).start()
            back = time.monotonic()
            await asyncio.sleep(3)
            for ear in ears.values():
                ear.stop()
            assert ears["alice"].rms(back + 0.8, back + 2.8) > SPEECH
            assert ears["caller"].rms(back + 0.8, back + 2.8) > SPEECH
            assert tonal_share(ears["caller"], back + 0.8, back + 2.8) < 0.3
            # a complete or cancel now is refused, the call left as it is
            status, body = await post(client, f"/api/calls/{uid}/transfer/complete")
            assert status == 409 and body["error"] == "call-not-in-state"
            await client.close()
        finally:
            await caller.stop()
            for phone in phones.values():
                await phone.stop()


async def test_customer_hanging_up_during_the_consultation_ends_the_call_record(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        talk = Answer(audio=True, audio_seconds=120)
        phones = await start_phones(asterisk, accounts, alice=talk, bruno=talk)
        await log_in(rt, "alice")
        # the customer hangs up 10 s after the queue answers: while alice consults bruno
        caller = SippCaller(asterisk, QUEUE_NUMBER, caller="0644556677", audio=True, talk_seconds=10, max_seconds=60)
        await caller.start()
        try:
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.ON_CALL, 15)
            uid = rt.agent_board.agents["alice"].call.uniqueid
            client = await srv.login("alice", "password-1234")
            status, body = await post(
                client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno", "attended": True}
            )
            assert status == 200, body
            await phones["bruno"].wait_calls("answered", 1, timeout=15)
            await until(lambda: rt.call_control.board.calls[uid].settled, 5)
            assert rt.call_control.board.calls[uid].consulting == "agent bruno"
            await caller.wait(timeout=20)
            await until(lambda: uid not in rt.call_tracker.open, 10)
            await until(lambda: uid not in rt.call_control.board.calls, 5)
            status, body = await post(client, f"/api/calls/{uid}/transfer/complete")
            assert status == 404 and body["error"] == "no-such-call"
            await rt.call_writer.flush_now()
            [row] = [r for r in await asyncio.to_thread(rt.acd_repo.calls) if r.uniqueid == uid]
            assert row.outcome == "answered" and row.agent == "alice" and row.ended_at is not None
            await client.close()
        finally:
            await caller.stop()
            for phone in phones.values():
                await phone.stop()


async def test_three_way_call_then_the_agent_leaves_the_two_others_together(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        phones, caller, uid = await answered_call(srv, asterisk, accounts, tmp_path, with_bruno=True)
        try:
            client = await srv.login("alice", "password-1234")
            status, body = await post(client, f"/api/calls/{uid}/transfer/merge")
            assert status == 409  # nothing to merge yet
            status, body = await post(
                client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno", "attended": True}
            )
            assert status == 200, body
            await phones["bruno"].wait_calls("answered", 1, timeout=15)
            status, body = await post(client, f"/api/calls/{uid}/transfer/merge")
            assert status == 200, body
            call = rt.call_control.board.calls[uid]
            assert call.conference == "agent bruno" and not call.held and not call.consulting
            ears = {n: RtpCapture(p._run.media_port).start() for n, p in phones.items()}
            ears["caller"] = RtpCapture(caller._run.media_port).start()
            merged = time.monotonic()
            await asyncio.sleep(3)
            status, body = await post(client, f"/api/calls/{uid}/leave")
            assert status == 200, body
            await phones["alice"].wait_for(lambda: phones["alice"].calls_ended == 1, 10, "alice left")
            left = time.monotonic()
            await asyncio.sleep(3)
            end = time.monotonic()
            for ear in ears.values():
                ear.stop()
            # the three together: everybody hears somebody talking, the customer no music
            for name in ("alice", "bruno", "caller"):
                assert ears[name].rms(merged + 0.8, left - 0.2) > SPEECH, name
            assert tonal_share(ears["caller"], merged + 0.8, left - 0.2) < 0.3
            # alice gone: the customer and bruno still talk
            assert ears["bruno"].rms(left + 0.8, end - 0.2) > SPEECH
            assert ears["caller"].rms(left + 0.8, end - 0.2) > SPEECH
            assert uid in rt.call_tracker.open
            actions = [e.action for e in reversed(rt.audit.list(actor="alice")) if e.action.startswith("call.")]
            assert actions == ["call.transfer", "call.conference", "call.conference_leave"]
        finally:
            for phone in phones.values():
                await phone.stop()
            await caller.stop()


async def test_transfer_to_a_queue_nobody_can_answer_fails_at_once(asterisk, tmp_path):
    from ccserver.capabilities.acd.model import QueueDefinition

    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        await rt.acd.create_queue(QueueDefinition(name="sales", required_skills={"fr": 1}, holidays=""), actor="admin")
        phones, caller, uid = await answered_call(srv, asterisk, accounts, tmp_path)
        try:
            client = await srv.login("alice", "password-1234")
            status, body = await post(client, f"/api/calls/{uid}/transfer", {"kind": "queue", "target": "nowhere"})
            assert status == 404 and body["error"] == "no-such-transfer-target"
            status, body = await post(client, f"/api/calls/{uid}/transfer", {"kind": "queue", "target": "sales"})
            assert status == 200, body
            await until(lambda: rt.call_control.board.calls[uid].transfer == "failed", 5, "the failure")
            assert rt.call_control.board.calls[uid].reason == "nobody is logged in to the queue"
            await phones["alice"].wait_calls("answered", 2, timeout=15)  # the customer is back with alice
            assert uid in rt.call_tracker.open
        finally:
            for phone in phones.values():
                await phone.stop()
            await caller.stop()


async def test_blind_transfer_to_an_agent_who_does_not_answer_rings_the_first_again(asterisk, tmp_path):
    from tests.support.sipp import NoAnswer

    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        talk = Answer(audio=True, audio_seconds=120)
        phones = await start_phones(asterisk, accounts, alice=talk, bruno=NoAnswer())
        await log_in(rt, "alice")
        caller = SippCaller(asterisk, QUEUE_NUMBER, caller="0644556677", audio=True, talk_seconds=None, max_seconds=120)
        await caller.start()
        try:
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.ON_CALL, 15)
            uid = rt.agent_board.agents["alice"].call.uniqueid
            client = await srv.login("alice", "password-1234")
            status, body = await post(client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno"})
            assert status == 200, body
            # bruno rings 20 s ([ccserver-xfer]), then the customer rings alice again
            await until(lambda: rt.call_control.board.calls[uid].transfer == "failed", 30, "the failure")
            assert rt.call_control.board.calls[uid].reason == "the target did not answer"
            await phones["alice"].wait_calls("answered", 2, timeout=15)
            assert uid in rt.call_tracker.open
            await client.close()
        finally:
            await caller.stop()
            for phone in phones.values():
                await phone.stop()
