"""Inbound on the real Asterisk: sipp agents on provisioned endpoints, sipp callers, the ACD.

Each test runs a ccserver (runtime + web) whose database provisions the queue and the agents'
SIP accounts into the shared private Asterisk, exactly as the product does.
"""

from __future__ import annotations

import asyncio

import pytest

from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.capabilities.agents.model import AgentState
from tests.support.calls import QUEUE_NUMBER, log_in, setup_call_center, start_phones
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer, SippCaller, SippCustomer, wav_rms

pytestmark = pytest.mark.asterisk


async def queue_members(runtime) -> dict[str, dict]:
    """QueueStatus as Asterisk reports it: interface -> fields."""
    rows = await runtime.pbx.ami.list_action({"Action": "QueueStatus", "Queue": "support"})
    return {r["location"]: r for r in rows if r.get("event") == "QueueMember"}


def timeline(rt, username):
    return [(e.previous, e.state) for e in rt.acd_repo.timeline(username)]


async def test_best_skilled_agent_answers_and_the_call_row_and_timeline_are_right(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        phones = await start_phones(asterisk, accounts)
        try:
            await log_in(rt, "alice", "bruno")
            members = await queue_members(rt)
            assert int(members["PJSIP/alice"]["penalty"]) < int(members["PJSIP/bruno"]["penalty"])
            caller = SippCaller(asterisk, QUEUE_NUMBER, caller="0612345678", talk_seconds=6)
            await caller.start()
            await phones["alice"].wait_calls("answered", 1, timeout=15)
            uniqueid = next(iter(rt.call_tracker.open))
            await rt.pbx.ami.send(
                {
                    "Action": "MixMonitor",
                    "Channel": rt.call_tracker.open[uniqueid].channel,
                    "File": f"inbound-{uniqueid}.wav",
                    "Options": "b",
                }
            )
            result = await caller.wait(timeout=20)
            assert result.answered and phones["bruno"].calls_offered == 0

            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.AVAILABLE, 10)
            await until(lambda: rt.call_writer.pending == 0 and rt.acd_repo.calls(), 5)
            await rt.call_writer.flush_now()
            await rt.state_writer.flush_now()
            [row] = await asyncio.to_thread(rt.acd_repo.calls)
            assert (row.queue, row.agent, row.outcome, row.caller_number) == (
                "support",
                "alice",
                "answered",
                "0612345678",
            )
            assert row.answered_at is not None and row.ended_at is not None
            assert 0 <= row.wait_seconds <= 5 and 4 <= row.talk_seconds <= 8
            assert timeline(rt, "alice") == [
                ("logged_out", "available"),
                ("available", "ringing"),
                ("ringing", "on_call"),
                ("on_call", "wrap_up"),
                ("wrap_up", "available"),
            ]
            # audio flowed both ways: the recording of the bridge is not silence
            wav = asterisk.info.recordings_dir / f"inbound-{uniqueid}.wav"
            await until(lambda: wav.exists() and wav.stat().st_size > 44, 5)
            assert wav_rms(wav) > 300
        finally:
            for phone in phones.values():
                await phone.stop()


async def test_caller_hanging_up_while_waiting_is_abandoned_with_wait_time(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        await setup_call_center(srv)  # nobody logged in: the caller waits
        result = await SippCaller(asterisk, QUEUE_NUMBER, caller="0698765432", talk_seconds=4).run()
        assert result.answered  # the queue answers, then plays music while the caller waits
        await until(lambda: not rt.call_tracker.open, 10)
        await rt.call_writer.flush_now()
        [row] = await asyncio.to_thread(rt.acd_repo.calls)
        assert row.outcome == "abandoned" and row.agent is None
        assert 3 <= row.wait_seconds <= 6


async def test_pause_wrapup_logout_reach_asterisk_and_the_timeline(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv, wrapup=30)
        phones = await start_phones(asterisk, {"alice": accounts["alice"]})
        try:
            client = await srv.login("alice", "password-1234")
            headers = {"X-CSRF-Token": client.csrf}
            assert (await client.post("/api/agent/login", json={"queues": ["support"]}, headers=headers)).status == 200
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.AVAILABLE, 5)
            resp = await client.post("/api/agent/pause", json={"reason": "lunch"}, headers=headers)
            assert resp.status == 200
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.PAUSED, 5)
            member = (await queue_members(rt))["PJSIP/alice"]
            assert (member["paused"], member["pausedreason"]) == ("1", "lunch")
            bad = await client.post("/api/agent/pause", json={"reason": "nap"}, headers=headers)
            assert bad.status == 400 and (await bad.json())["details"]["field"] == "reason"
            await client.post("/api/agent/unpause", json={}, headers=headers)
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.AVAILABLE, 5)

            # a call, then wrap-up (30 s): paused with reason wrapup in Asterisk until "ready"
            await SippCaller(asterisk, QUEUE_NUMBER, caller="0611111111", talk_seconds=3).run()
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.WRAP_UP, 10)
            members = await queue_members(rt)
            assert (members["PJSIP/alice"]["paused"], members["PJSIP/alice"]["pausedreason"]) == ("1", "wrapup")
            await client.post("/api/agent/unpause", json={}, headers=headers)
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.AVAILABLE, 5)
            assert (await client.post("/api/agent/logout", json={}, headers=headers)).status == 200
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.LOGGED_OUT, 5)
            assert "PJSIP/alice" not in await queue_members(rt)
            await rt.state_writer.flush_now()
            states = [s for _, s in timeline(rt, "alice")]
            assert states == [
                "available",
                "paused",
                "available",
                "ringing",
                "on_call",
                "wrap_up",
                "available",
                "logged_out",
            ]
            assert [e.reason for e in rt.acd_repo.timeline("alice")][1] == "lunch"
            await client.close()
        finally:
            for phone in phones.values():
                await phone.stop()


async def test_callback_keeps_the_place_and_bridges_an_agent_to_the_customer(asterisk, tmp_path):
    customer = SippCustomer(asterisk, Answer(talk_seconds=None))
    await customer.start()
    async with Server(
        tmp_path,
        endpoint_of(asterisk.info),
        config_writer=asterisk,
        outbound={"trunk_host": f"127.0.0.1:{customer.port}"},
    ) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv, callback_key="1")
        phones = await start_phones(asterisk, {"alice": accounts["alice"]}, alice=Answer(talk_seconds=4))
        try:
            await log_in(rt, "alice")
            await rt.acd.pause("alice", "break")  # nobody free: the caller waits, then presses 1
            caller = SippCaller(
                asterisk, QUEUE_NUMBER, caller="0622334455", dtmf=[(3.0, "1")], talk_seconds=None, max_seconds=40
            )
            result = await caller.run()
            assert result.answered
            await until(lambda: rt.acd_repo.callbacks(), 10)
            [request] = await asyncio.to_thread(rt.acd_repo.callbacks)
            assert (request.queue, request.number) == ("support", "0622334455")
            await rt.call_writer.flush_now()
            rows = await asyncio.to_thread(rt.acd_repo.calls)
            assert [r.outcome for r in rows if r.direction == "inbound"] == ["callback"]
            # its turn has come (nobody waits before it): the stand-in waits for a free agent
            await rt.callbacks.dial_due()
            await until(lambda: rt.acd_repo.callbacks("dialing"), 10)
            await rt.acd.unpause("alice")
            await phones["alice"].wait_calls("answered", 1, timeout=20)
            answered = await customer.wait_calls("answered", 1, timeout=20)
            assert answered[0].dialed == "0622334455"
            await until(lambda: rt.acd_repo.callbacks("done"), 10)
            [done] = await asyncio.to_thread(rt.acd_repo.callbacks, "done")
            assert done.agent == "alice"
            await until(lambda: not rt.call_tracker.open, 15)
            await rt.call_writer.flush_now()
            legs = [r for r in await asyncio.to_thread(rt.acd_repo.calls) if r.direction == "callback"]
            assert [(r.agent, r.outcome, r.caller_number) for r in legs] == [("alice", "answered", "0622334455")]
        finally:
            for phone in phones.values():
                await phone.stop()
            await customer.stop()


async def test_asterisk_restart_mid_shift_restores_agents_and_keeps_one_record_per_call(asterisk_factory, tmp_path):
    instance = asterisk_factory()
    info = await asyncio.to_thread(instance.up)
    async with Server(tmp_path, endpoint_of(info), config_writer=instance) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        phones = await start_phones(instance, accounts, alice=Answer(talk_seconds=None))
        try:
            await log_in(rt, "alice", "bruno")
            await rt.acd.pause("bruno", "lunch")
            await until(lambda: rt.agent_board.agents["bruno"].state is AgentState.PAUSED, 5)
            page = await srv.login("alice", "password-1234")
            ws = await page.ws_connect("/ws")
            assert (await ws.receive_json(timeout=2))["topic"] == "hello"

            # a call in progress when Asterisk dies
            caller = SippCaller(instance, QUEUE_NUMBER, caller="0633445566", talk_seconds=None, max_seconds=60)
            await caller.start()
            await phones["alice"].wait_calls("answered", 1, timeout=15)
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.ON_CALL, 5)

            instance.kill()
            await until(lambda: not rt.pbx.ami.is_up, 5)
            await asyncio.to_thread(instance.up)
            await until(srv.ok, 15)

            # as they were: alice available, bruno paused for lunch, in Asterisk itself
            async def restored():
                members = await queue_members(rt)
                return (
                    members.get("PJSIP/alice", {}).get("paused") == "0"
                    and members.get("PJSIP/bruno", {}).get("pausedreason") == "lunch"
                )

            await until(restored, 10)
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.AVAILABLE, 10)
            assert rt.agent_board.agents["bruno"].state is AgentState.PAUSED
            # alice's page followed her: on call, then available when Asterisk came back
            seen = []
            while "available" not in seen:
                msg = await ws.receive_json(timeout=10)
                if msg.get("topic") == "agent_state":
                    assert msg["username"] == "alice"  # nobody else's state reaches her page
                    seen.append(msg["status"]["state"])
            assert seen[-2:] == ["on_call", "available"]
            await ws.close()
            await page.close()

            await rt.call_writer.flush_now()
            rows = await asyncio.to_thread(rt.acd_repo.calls)
            assert len(rows) == 1
            assert rows[0].outcome == "answered" and rows[0].hangup_reason == "vanished during outage"
            assert rows[0].ended_at is not None
            await caller.stop()
        finally:
            for phone in phones.values():
                await phone.stop()
            await asyncio.to_thread(instance.down)


async def test_closed_hours_play_the_closed_message_and_max_wait_overflows(asterisk, tmp_path):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        now = datetime.now(ZoneInfo("Europe/Paris"))
        # open only in a one-minute slot that is not now: closed whatever the time of the run
        slot = (now + timedelta(hours=2)).strftime("%H:%M")
        end = (now + timedelta(hours=2, minutes=1)).strftime("%H:%M")
        if end <= slot:  # the slot would wrap past midnight: use the slot before
            slot, end = (
                (now - timedelta(hours=2)).strftime("%H:%M"),
                (now - timedelta(hours=2) + timedelta(minutes=1)).strftime("%H:%M"),
            )
        await rt.acd.create_queue(
            QueueDefinition(name="night", numbers=("4200",), hours={"mon-sun": f"{slot}-{end}"}, holidays=""),
            actor="admin",
        )
        closed = await SippCaller(asterisk, "4200", caller="0600000042", talk_seconds=None, max_seconds=20).run()
        assert closed.answered and closed.ended_by == "remote"  # the closed message, then Asterisk hangs up
        # recorded as closed (issue 13), never queued: no wait, no agent
        await until(lambda: any(r.queue == "night" for r in rt.acd_repo.calls()), 10)
        [night] = [r for r in await asyncio.to_thread(rt.acd_repo.calls) if r.queue == "night"]
        assert (night.outcome, night.agent, night.answered_at) == ("closed", None, None)

        # support overflows after 3 s into "backup", where Bruno waits
        await rt.acd.create_queue(QueueDefinition(name="backup", required_skills={"fr": 1}, holidays=""), actor="admin")
        await rt.acd.update_queue(
            QueueDefinition(
                name="support",
                required_skills={"fr": 8},
                numbers=(QUEUE_NUMBER,),
                max_wait_seconds=3,
                overflow_kind="queue",
                overflow_target="backup",
                holidays="",
                ring_seconds=10,
            ),
            actor="admin",
        )
        phones = await start_phones(asterisk, {"bruno": accounts["bruno"]}, bruno=Answer(talk_seconds=2))
        try:
            await rt.acd.login("bruno", ["backup"])  # bruno (fr:3) may not take support any more
            await until(lambda: rt.agent_board.agents["bruno"].state is AgentState.AVAILABLE, 5)
            result = await SippCaller(
                asterisk, QUEUE_NUMBER, caller="0600000043", talk_seconds=None, max_seconds=30
            ).run()
            assert result.answered
            await until(lambda: not rt.call_tracker.open, 10)
            await rt.call_writer.flush_now()
            [row] = [r for r in await asyncio.to_thread(rt.acd_repo.calls) if r.caller_number == "0600000043"]
            assert (row.overflowed_from, row.queue, row.agent, row.outcome) == (
                "support",
                "backup",
                "bruno",
                "answered",
            )
        finally:
            for phone in phones.values():
                await phone.stop()


async def test_a_number_nothing_claims_is_unallocated_and_never_answered(asterisk):
    """No queue, IVR script nor admin dialplan has 4999: the caller gets 404 (cause 1), unanswered."""
    result = await SippCaller(asterisk, "4999", caller="0612345678", max_seconds=15).run()
    assert (result.answered, result.status) == (False, 404), result
