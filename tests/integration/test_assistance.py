"""Ask a supervisor on the real Asterisk: a customer calls the queue, Alice's sipp phone answers,
Alice asks for a supervisor, Sophie takes the request and her SIP phone hears the customer
(the RTP reaching it); a request left open ends with its call."""

from __future__ import annotations

import asyncio
import time

import pytest

from ccserver.capabilities.agents.model import AgentState
from tests.integration.test_inbound import QUEUE_NUMBER, log_in, setup_call_center, start_phones
from tests.integration.test_supervision import SPEECH, silence
from tests.support.rtp_capture import RtpCapture
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer, SippCaller, SippPhone

pytestmark = pytest.mark.asterisk


async def supervisor_with_phone(srv, asterisk, audio):
    """Sophie, supervisor of queue support, with a registered sipp phone answering and playing
    `audio` (a WAV path, or True for the sample speech)."""
    rt = srv.runtime
    await asyncio.to_thread(rt.users.create_user, "sophie", "password-1234", role="supervisor", display_name="Sophie")
    account = await asyncio.to_thread(rt.acd_repo.add_sip_account, "sophie")
    await asyncio.to_thread(rt.acd_repo.give_scope, "sophie", "queue", "support")
    await rt.acd.apply_configuration()
    phone = SippPhone(
        asterisk, account.sip_username, account.sip_password, behaviour=Answer(audio=audio, audio_seconds=60)
    )
    await phone.start()
    await phone.wait_registered()
    return phone


async def test_agent_asks_the_supervisor_takes_and_hears_the_customer(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        quiet = silence(tmp_path / "silence.wav")
        sup_phone = await supervisor_with_phone(srv, asterisk, quiet)
        # only the customer speaks: what the supervisor's phone receives is the call's audio
        phones = await start_phones(asterisk, {"alice": accounts["alice"]}, alice=Answer(audio=quiet))
        caller = None
        try:
            await log_in(rt, "alice")
            caller = SippCaller(
                asterisk, QUEUE_NUMBER, caller="0644556677", audio=True, talk_seconds=None, max_seconds=60
            )
            await caller.start()
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.ON_CALL, 15)
            call = rt.agent_board.agents["alice"].call.uniqueid
            heard_by_supervisor = RtpCapture(sup_phone._run.media_port).start()

            alice = await srv.login("alice", "password-1234")
            sophie = await srv.login("sophie", "password-1234")
            resp = await alice.post(
                f"/api/calls/{call}/ask-supervisor",
                json={"reason": "client mécontent"},
                headers={"X-CSRF-Token": alice.csrf},
            )
            assert resp.status == 201, await resp.text()
            asked = await resp.json()
            assert (asked["queue"], asked["customer_number"]) == ("support", "0644556677")
            listed = await (await sophie.get("/api/supervision/requests")).json()
            assert [r["id"] for r in listed["requests"]] == [asked["id"]]
            before_take = time.monotonic()
            await asyncio.sleep(2)
            take_sent = time.monotonic()

            resp = await sophie.post(
                f"/api/supervision/requests/{asked['id']}/take",
                json={"mode": "listen"},
                headers={"X-CSRF-Token": sophie.csrf},
            )
            assert resp.status == 200, await resp.text()
            taken = await resp.json()
            assert (taken["end_reason"], taken["taken_by"], taken["open"]) == ("taken", "sophie", False)
            await until(lambda: rt.supervision.sessions.get("sophie") and rt.supervision.sessions["sophie"].started, 10)
            listening = time.monotonic()
            await asyncio.sleep(4)
            heard_by_supervisor.stop()
            # nothing reached Sophie's phone before she took the request; the customer after
            assert heard_by_supervisor.rms(before_take, take_sent) < SPEECH
            assert heard_by_supervisor.rms(listening + 1.0, listening + 3.5) > SPEECH
            channels = await asyncio.to_thread(asterisk.cli, "core show channels verbose")
            assert "PJSIP/alice-,qEd" in channels  # ChanSpy on Alice's softphone

            # the agent's desk is told who took it; the wallboards' list is empty
            state = await (await alice.get(f"/api/calls/{call}/ask-supervisor")).json()
            assert (state["request"]["end_reason"], state["request"]["taken_by"]) == ("taken", "sophie")
            assert (await (await sophie.get("/api/supervision/requests")).json())["requests"] == []
            actions = [(e.actor, e.action) for e in reversed(rt.audit.list()) if e.action.startswith("assistance.")]
            assert actions == [("alice", "assistance.ask"), ("sophie", "assistance.take")]

            # the call ends (Alice hangs up): the listening ends with it
            agent_channel = next(
                c.channel for c in rt.channels.channels.values() if c.channel.startswith("PJSIP/alice-")
            )
            await rt.pbx.ami.hangup(agent_channel)
            await until(lambda: "sophie" not in rt.supervision.sessions, 10)
            await sup_phone.wait_for(lambda: sup_phone.calls_ended == 1, 10, "supervisor leg ended")
            await alice.close()
            await sophie.close()
        finally:
            if caller is not None:
                await caller.stop()
            for phone in [*phones.values(), sup_phone]:
                await phone.stop()


async def test_an_open_request_ends_with_its_call(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        phones = await start_phones(asterisk, {"alice": accounts["alice"]}, alice=Answer(audio=True))
        ended = []
        rt.bus.subscribe("test-ended", ended.append, topics=["supervisor_request_ended"])
        try:
            await log_in(rt, "alice")
            caller = SippCaller(asterisk, QUEUE_NUMBER, caller="0644556688", talk_seconds=None, max_seconds=60)
            await caller.start()
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.ON_CALL, 15)
            call = rt.agent_board.agents["alice"].call.uniqueid
            alice = await srv.login("alice", "password-1234")
            resp = await alice.post(f"/api/calls/{call}/ask-supervisor", json={}, headers={"X-CSRF-Token": alice.csrf})
            assert resp.status == 201
            await rt.pbx.ami.hangup(rt.call_tracker.open[call].channel)  # the customer's side ends
            await caller.wait(timeout=10)
            await until(lambda: ended, 10)
            assert (ended[0].call, ended[0].reason) == (call, "call_ended")
            assert rt.assistance.desk.open == {}
            resp = await alice.get(f"/api/calls/{call}/ask-supervisor")
            assert resp.status == 404  # the call is over
            await alice.close()
        finally:
            for phone in phones.values():
                await phone.stop()
