"""Supervision on the real Asterisk: listen, whisper, barge (checked by what each party heard)."""

from __future__ import annotations

import asyncio
import time

import pytest

from ccserver.capabilities.agents.model import AgentState
from tests.integration.test_inbound import QUEUE_NUMBER, log_in, setup_call_center, start_phones
from tests.support.rtp_capture import RtpCapture
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer, SippCaller, SippPhone

pytestmark = pytest.mark.asterisk
SPEECH = 300  # RMS: the sample speech is 1000-4000, silence 0-10


def silence(path, seconds=40):
    """An 8 kHz mono WAV of digital silence: the phone sends RTP, but says nothing."""
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 8000 * seconds)
    return path


async def test_listen_whisper_barge_reach_the_right_ears_and_end_with_the_call(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        await asyncio.to_thread(
            rt.users.create_user, "sophie", "password-1234", role="supervisor", display_name="Sophie"
        )
        sup_phone_account = await asyncio.to_thread(rt.acd_repo.add_sip_account, "sophie")
        await asyncio.to_thread(rt.acd_repo.give_scope, "sophie", "queue", "support")
        await rt.acd.apply_configuration()
        # the agent and the caller stay silent; only the supervisor speaks
        quiet = silence(tmp_path / "silence.wav")
        phones = await start_phones(asterisk, {"alice": accounts["alice"]}, alice=Answer(audio=quiet))
        sup_phone = SippPhone(
            asterisk,
            sup_phone_account.sip_username,
            sup_phone_account.sip_password,
            behaviour=Answer(audio=True, audio_seconds=60),
        )
        await sup_phone.start()
        await sup_phone.wait_registered()
        try:
            await log_in(rt, "alice")
            caller = SippCaller(
                asterisk, QUEUE_NUMBER, caller="0644556677", audio=quiet, talk_seconds=None, max_seconds=60
            )
            await caller.start()
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.ON_CALL, 15)
            agent_channel = next(
                c.channel for c in rt.channels.channels.values() if c.channel.startswith("PJSIP/alice-")
            )
            # what each phone hears: the RTP reaching its media port
            heard_by_agent = RtpCapture(phones["alice"]._run.media_port).start()
            heard_by_caller = RtpCapture(caller._run.media_port).start()

            client = await srv.login("sophie", "password-1234")
            headers = {"X-CSRF-Token": client.csrf}
            resp = await client.post("/api/supervision/spy", json={"agent": "alice", "mode": "listen"}, headers=headers)
            assert resp.status == 201, await resp.text()
            await until(lambda: rt.supervision.sessions.get("sophie") and rt.supervision.sessions["sophie"].started, 10)
            session = rt.supervision.sessions["sophie"]
            channels = await asyncio.to_thread(asterisk.cli, "core show channels verbose")
            assert "ChanSpy" in channels and "PJSIP/alice-,qEd" in channels  # listen
            marks = {"listen": time.monotonic()}
            await asyncio.sleep(4)
            for mode in ("whisper", "barge"):
                resp = await client.post("/api/supervision/spy/mode", json={"mode": mode}, headers=headers)
                assert resp.status == 200, await resp.text()
                marks[mode] = time.monotonic()
                shown = await asyncio.to_thread(asterisk.cli, f"core show channel {session.spyer_channel}")
                assert f"CCS_SPY_MODE={mode}" in shown
                await asyncio.sleep(4)
            end = time.monotonic()
            heard_by_agent.stop()
            heard_by_caller.stop()

            # ending the call (the agent hangs up) ends the spy leg cleanly
            await rt.pbx.ami.hangup(agent_channel)
            await until(lambda: "sophie" not in rt.supervision.sessions, 10)
            await until(
                lambda: not any(c.channel.startswith(session.spyer_prefix) for c in rt.channels.channels.values()), 10
            )
            await sup_phone.wait_for(lambda: sup_phone.calls_ended == 1, 10, "supervisor leg ended")
            await caller.wait(timeout=10)

            windows = {
                "listen": (marks["listen"], marks["whisper"]),
                "whisper": (marks["whisper"], marks["barge"]),
                "barge": (marks["barge"], end),
            }
            # the middle of each window, away from the switching moments
            heard = {
                mode: (round(heard_by_agent.rms(a + 1.0, b - 0.5)), round(heard_by_caller.rms(a + 1.0, b - 0.5)))
                for mode, (a, b) in windows.items()
            }
            assert heard["listen"][0] < SPEECH and heard["listen"][1] < SPEECH, heard
            assert heard["whisper"][0] > SPEECH and heard["whisper"][1] < SPEECH, heard
            assert heard["barge"][0] > SPEECH and heard["barge"][1] > SPEECH, heard

            # the session's start, each change and its end by the hang-up are in the audit log,
            # those made from the browser with its address, the chain intact
            def spy_entries():
                return [e for e in reversed(rt.audit.list(actor="sophie")) if e.action.startswith("supervision.")]

            await until(lambda: spy_entries()[-1].action == "supervision.end", 10)
            assert [(e.action, e.details_dict.get("mode")) for e in spy_entries()] == [
                ("supervision.start", "listen"),
                ("supervision.mode", "whisper"),
                ("supervision.mode", "barge"),
                ("supervision.end", "barge"),
            ]
            assert [e.client_address for e in spy_entries()] == ["127.0.0.1", "127.0.0.1", "127.0.0.1", ""]
            assert spy_entries()[-1].target == "alice"
            assert (await asyncio.to_thread(rt.audit.verify)).ok
            await client.close()
        finally:
            for phone in [*phones.values(), sup_phone]:
                await phone.stop()


async def test_supervisor_cannot_spy_outside_their_queues_or_without_a_call(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        await setup_call_center(srv)
        await asyncio.to_thread(rt.users.create_user, "sam", "password-1234", role="supervisor")
        client = await srv.login("sam", "password-1234")
        headers = {"X-CSRF-Token": client.csrf}
        resp = await client.post("/api/supervision/spy", json={"agent": "alice", "mode": "listen"}, headers=headers)
        assert resp.status == 403  # alice is in no queue or team of sam's
        board = await (await client.get("/api/wallboard")).json()
        assert board["agents"] == [] and board["queues"] == []
        await asyncio.to_thread(rt.acd_repo.give_scope, "sam", "queue", "support")
        await rt.acd.login("alice")
        await until(lambda: rt.agent_board.agents["alice"].state is AgentState.AVAILABLE, 5)
        resp = await client.post("/api/supervision/spy", json={"agent": "alice", "mode": "listen"}, headers=headers)
        assert resp.status == 409 and "n'est pas en communication" in (await resp.json())["message"]
        resp = await client.post("/api/supervision/agents/alice/pause", json={"reason": "break"}, headers=headers)
        assert resp.status == 200
        await until(lambda: rt.agent_board.agents["alice"].state is AgentState.PAUSED, 5)
        assert [e.action for e in rt.audit.list(actor="sam")][0] == "supervision.force_pause"
        await client.close()
