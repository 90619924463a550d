"""Call control from the desk on the real Asterisk: hold / resume, mute, DTMF, blind and attended
transfers, checked by what each party hears (RTP reaching each sipp phone)."""

from __future__ import annotations

import asyncio
import time

import pytest

from ccserver.capabilities.agents.model import AgentState
from tests.support.calls import (
    SPEECH,
    DeskPushes,
    Ears,
    assert_talking_together,
    call_actions,
    listen,
    post,
    queue_call,
    setup_call_center,
    stored_call,
    tonal_share,
)
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer, NoAnswer, Reject

pytestmark = pytest.mark.asterisk


def alice_only(accounts):
    return {"alice": accounts["alice"]}


async def test_hold_resume_mute_and_dtmf_reach_the_right_ears(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        async with queue_call(srv, asterisk, alice_only(accounts)) as (phones, caller, uid):
            client = await srv.login("alice", "password-1234")
            ears = Ears(agent=phones["alice"], caller=caller)
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
            ears.stop()

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
                    ears.rms("agent", a + 1.5, b - 0.3),
                    ears.rms("caller", a + 1.0, b - 0.3),
                    round(tonal_share(ears["caller"], a + 1.0, b - 0.3), 2),
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
            assert call_actions(rt, "alice") == [
                "call.hold",
                "call.resume",
                "call.mute",
                "call.unmute",
                "call.dtmf",
                "call.hangup",
            ]
            await client.close()
            await other.close()


async def test_blind_transfer_to_an_agent_moves_the_customer_and_frees_the_first(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        async with queue_call(srv, asterisk, accounts) as (phones, caller, uid):
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
            ears, start, _ = await listen(4, bruno=phones["bruno"], caller=caller)
            assert ears["bruno"].rms(start + 1, start + 3.8) > SPEECH
            assert ears["caller"].rms(start + 1, start + 3.8) > SPEECH
            assert tonal_share(ears["caller"], start + 1, start + 3.8) < 0.3
            assert uid in rt.call_tracker.open  # the same customer call goes on

            # alice is charged her own seconds only, in the call record and in queue_log
            await rt.pbx.ami.hangup(rt.call_tracker.open[uid].channel)
            await until(lambda: uid not in rt.call_tracker.open, 10)
            row = await stored_call(rt, uid)
            assert row.agent == "alice" and row.talk_seconds <= alice_seconds + 1, (row.talk_seconds, alice_seconds)
            queue_log = (asterisk.instance_dir / "log" / "queue_log").read_text().splitlines()
            [transfer] = [line.split("|") for line in queue_log if f"|{uid}|" in line and "BLINDTRANSFER" in line]
            assert transfer[3] == "alice" and int(transfer[8]) <= alice_seconds + 1, transfer


async def test_attended_transfer_consults_then_completes_or_cancels(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        async with queue_call(srv, asterisk, accounts) as (phones, caller, uid):
            client = await srv.login("alice", "password-1234")
            # 1. consult, then cancel: back with the customer
            status, body = await post(
                client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno", "attended": True}
            )
            assert status == 200 and body["consulting"] == "agent bruno", body
            await phones["bruno"].wait_calls("answered", 1, timeout=15)
            ears = Ears(**phones, caller=caller)
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
            ears.stop()

            # consultation: customer on hold with music, alice and bruno hear each other
            assert ears.rms("alice", consult + 1, consult + 3.8) > SPEECH
            assert ears.rms("bruno", consult + 1, consult + 3.8) > SPEECH
            assert tonal_share(ears["caller"], consult + 1, consult + 3.8) > 0.6
            # cancelled: customer and alice again
            assert ears.rms("alice", cancelled + 1, cancelled + 3.8) > SPEECH
            assert ears.rms("caller", cancelled + 1, cancelled + 3.8) > SPEECH
            assert tonal_share(ears["caller"], cancelled + 1, cancelled + 3.8) < 0.3
            # completed: customer and bruno
            assert ears.rms("bruno", completed + 1, end - 0.2) > SPEECH
            assert ears.rms("caller", completed + 1, end - 0.2) > SPEECH
            assert tonal_share(ears["caller"], completed + 1, end - 0.2) < 0.3
            assert uid in rt.call_tracker.open
            assert call_actions(rt, "alice") == [
                "call.transfer",
                "call.transfer_cancel",
                "call.transfer",
                "call.transfer_complete",
            ]


async def test_transfer_to_a_busy_agent_comes_back_with_the_reason(asterisk, tmp_path):
    """Blind: the customer rings the transferring agent again; attended: the agent is back with
    the customer. Both times the desk gets the reason within a second."""
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        async with queue_call(srv, asterisk, accounts, bruno=Reject(486)) as (phones, caller, uid):
            client = await srv.login("alice", "password-1234")
            async with DeskPushes(srv, client) as desk:
                # attended, bruno busy: alice is back with the customer, the reason on her desk
                status, body = await post(
                    client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno", "attended": True}
                )
                assert status == 200, body
                _, failed = await desk.failure()
                assert failed["reason"] == "the target is busy"
                await until(lambda: not rt.call_control.board.calls[uid].held, 5)
                await assert_talking_together(phones["alice"], caller)

                # blind, bruno busy: the customer rings alice again, who answers
                desk.clear()
                status, body = await post(client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno"})
                assert status == 200, body
                sent = time.monotonic()
                failed_at, failed = await desk.failure()
                assert failed["reason"] == "the target is busy" and failed_at - sent < 1.5
                await phones["alice"].wait_calls("answered", 2, timeout=15)
                await assert_talking_together(phones["alice"], caller, music=False)
                assert uid in rt.call_tracker.open
            await client.close()


async def test_consulted_agent_hanging_up_brings_the_agent_back_to_the_customer(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        bruno = Answer(audio=True, talk_seconds=3, audio_seconds=3)
        async with queue_call(srv, asterisk, accounts, bruno=bruno) as (phones, caller, uid):
            client = await srv.login("alice", "password-1234")
            status, body = await post(
                client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno", "attended": True}
            )
            assert status == 200, body
            await phones["bruno"].wait_for(lambda: phones["bruno"].calls_ended == 1, 15, "bruno hung up")
            await until(lambda: not rt.call_control.board.calls[uid].held, 5)
            assert rt.call_control.board.calls[uid].consulting == ""
            await assert_talking_together(phones["alice"], caller)
            # a complete or cancel now is refused, the call left as it is
            status, body = await post(client, f"/api/calls/{uid}/transfer/complete")
            assert status == 409 and body["error"] == "call-not-in-state"
            await client.close()


async def test_customer_hanging_up_during_the_consultation_ends_the_call_record(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        # the customer hangs up 10 s after the queue answers: while alice consults bruno
        async with queue_call(srv, asterisk, accounts, talk_seconds=10, max_seconds=60) as (phones, caller, uid):
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
            row = await stored_call(rt, uid)
            assert row.outcome == "answered" and row.agent == "alice" and row.ended_at is not None
            await client.close()


async def test_three_way_call_then_the_agent_leaves_the_two_others_together(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        async with queue_call(srv, asterisk, accounts) as (phones, caller, uid):
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
            ears = Ears(**phones, caller=caller)
            merged = time.monotonic()
            await asyncio.sleep(3)
            status, body = await post(client, f"/api/calls/{uid}/leave")
            assert status == 200, body
            await phones["alice"].wait_for(lambda: phones["alice"].calls_ended == 1, 10, "alice left")
            left = time.monotonic()
            await asyncio.sleep(3)
            end = time.monotonic()
            ears.stop()
            # the three together: everybody hears somebody talking, the customer no music
            for name in ("alice", "bruno", "caller"):
                assert ears.rms(name, merged + 0.8, left - 0.2) > SPEECH, name
            assert tonal_share(ears["caller"], merged + 0.8, left - 0.2) < 0.3
            # alice gone: the customer and bruno still talk
            assert ears.rms("bruno", left + 0.8, end - 0.2) > SPEECH
            assert ears.rms("caller", left + 0.8, end - 0.2) > SPEECH
            assert uid in rt.call_tracker.open
            assert call_actions(rt, "alice") == ["call.transfer", "call.conference", "call.conference_leave"]


async def test_transfer_to_a_queue_nobody_can_answer_fails_at_once(asterisk, tmp_path):
    from ccserver.capabilities.acd.model import QueueDefinition

    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        # "tech": neither agent has it, so alice is not in sales (a member, she would be ready
        # again the moment her blind transfer hangs her up, and the queue would ring her)
        await rt.acd.create_queue(
            QueueDefinition(name="sales", required_skills={"tech": 1}, holidays=""), actor="admin"
        )
        async with queue_call(srv, asterisk, alice_only(accounts)) as (phones, caller, uid):
            client = await srv.login("alice", "password-1234")
            status, body = await post(client, f"/api/calls/{uid}/transfer", {"kind": "queue", "target": "nowhere"})
            assert status == 404 and body["error"] == "no-such-transfer-target"
            status, body = await post(client, f"/api/calls/{uid}/transfer", {"kind": "queue", "target": "sales"})
            assert status == 200, body
            await until(lambda: rt.call_control.board.calls[uid].transfer == "failed", 5, "the failure")
            assert rt.call_control.board.calls[uid].reason == "nobody is logged in to the queue"
            await phones["alice"].wait_calls("answered", 2, timeout=15)  # the customer is back with alice
            assert uid in rt.call_tracker.open


async def test_blind_transfer_to_an_agent_who_does_not_answer_rings_the_first_again(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        async with queue_call(srv, asterisk, accounts, bruno=NoAnswer()) as (phones, caller, uid):
            client = await srv.login("alice", "password-1234")
            status, body = await post(client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno"})
            assert status == 200, body
            # bruno rings 20 s ([ccserver-xfer]), then the customer rings alice again
            await until(lambda: rt.call_control.board.calls[uid].transfer == "failed", 30, "the failure")
            assert rt.call_control.board.calls[uid].reason == "the target did not answer"
            await phones["alice"].wait_calls("answered", 2, timeout=15)
            assert uid in rt.call_tracker.open
            await client.close()


def closed_now_hours() -> dict[str, str]:
    """Opening hours of a one-minute slot that is not now (Paris time): closed whatever the time
    of the run."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo("Europe/Paris"))
    start, end = now + timedelta(hours=2), now + timedelta(hours=2, minutes=1)
    if end.strftime("%H:%M") <= start.strftime("%H:%M"):  # past midnight: the slot before
        start, end = now - timedelta(hours=2), now - timedelta(hours=2) + timedelta(minutes=1)
    return {"mon-sun": f"{start:%H:%M}-{end:%H:%M}"}


async def test_transfer_to_a_queue_closed_by_its_hours_fails_at_once_with_the_reason(asterisk, tmp_path):
    """Bruno is logged in to the night queue and free, but the queue is closed now: attended and
    blind transfers to it fail at once, the reason on alice's desk within a second, the customer
    back with alice; bruno's phone never rings."""
    from ccserver.capabilities.acd.model import QueueDefinition

    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        night = QueueDefinition(name="night", required_skills={"fr": 1}, hours=closed_now_hours(), holidays="")
        await rt.acd.create_queue(night, actor="admin")
        async with queue_call(srv, asterisk, accounts) as (phones, caller, uid):
            await rt.acd.login("bruno", ["night"])
            await until(lambda: rt.agent_board.agents["bruno"].state is AgentState.AVAILABLE, 5)
            client = await srv.login("alice", "password-1234")
            closed = "the queue is closed now (opening hours)"
            async with DeskPushes(srv, client) as desk:
                sent = time.monotonic()
                status, body = await post(
                    client, f"/api/calls/{uid}/transfer", {"kind": "queue", "target": "night", "attended": True}
                )
                assert status == 200, body
                failed_at, failed = await desk.failure()
                assert failed["reason"] == closed and failed_at - sent < 1.0, (failed, failed_at - sent)
                await until(lambda: not rt.call_control.board.calls[uid].held, 5)
                await assert_talking_together(phones["alice"], caller)

                desk.clear()
                sent = time.monotonic()
                status, body = await post(client, f"/api/calls/{uid}/transfer", {"kind": "queue", "target": "night"})
                assert status == 200, body
                failed_at, failed = await desk.failure()
                assert failed["reason"] == closed and failed_at - sent < 1.0, (failed, failed_at - sent)
                await phones["alice"].wait_calls("answered", 2, timeout=15)  # the customer rings alice again
                await assert_talking_together(phones["alice"], caller, music=False)
            assert phones["bruno"].calls_offered == 0
            assert uid in rt.call_tracker.open and rt.agent_board.agents["bruno"].state is AgentState.AVAILABLE
            await client.close()


async def test_transfer_to_a_full_queue_fails_at_once_with_the_reason(asterisk, tmp_path):
    """The sales queue takes one waiting caller (max_callers 1) and one already waits: the
    transfer fails at once as "the queue is full", the customer back with alice."""
    from ccserver.capabilities.acd.model import QueueDefinition
    from tests.support.sipp import SippCaller

    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        sales = QueueDefinition(name="sales", numbers=("4300",), max_callers=1, holidays="", required_skills={"fr": 1})
        await rt.acd.create_queue(sales, actor="admin")
        async with queue_call(srv, asterisk, alice_only(accounts)) as (phones, caller, uid):
            waiting = SippCaller(asterisk, "4300", caller="0655555555", talk_seconds=None, max_seconds=60)
            await waiting.start()
            try:

                async def queued() -> bool:
                    rows = await rt.pbx.ami.list_action({"Action": "QueueStatus", "Queue": "sales"})
                    return any(r.get("event") == "QueueParams" and r.get("calls") == "1" for r in rows)

                await until(queued, 10, "a caller waiting in sales")
                client = await srv.login("alice", "password-1234")
                async with DeskPushes(srv, client) as desk:
                    sent = time.monotonic()
                    status, body = await post(
                        client, f"/api/calls/{uid}/transfer", {"kind": "queue", "target": "sales", "attended": True}
                    )
                    assert status == 200, body
                    failed_at, failed = await desk.failure()
                    assert failed["reason"] == "the queue is full" and failed_at - sent < 1.0, failed
                    await until(lambda: not rt.call_control.board.calls[uid].held, 5)
                    await assert_talking_together(phones["alice"], caller)
                await client.close()
            finally:
                # killed, its sipp sends no BYE: hang its channel up, the next tests count channels
                listing = await asyncio.to_thread(asterisk.cli, "core show channels concise")
                for line in listing.splitlines():
                    if "!ccq-sales!" in line:
                        await asyncio.to_thread(asterisk.cli, f"channel request hangup {line.split('!')[0]}")
                await waiting.stop()
