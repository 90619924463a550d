"""Call legs on the real Asterisk with sipp: a blind and an attended transfer from alice to
bruno leave two legs with each agent's own seconds and the transfer kind; queue_log charges
alice her part only; bruno's desk gets the screen-pop "transferred by alice"."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.integration.test_inbound import setup_call_center
from tests.support.calls import hang_up_customer, post, queue_call
from tests.support.server import Server, endpoint_of, until

pytestmark = pytest.mark.asterisk
TOLERANCE = 1.2  # seconds: event latency and whole-second rounding


def _call_with_bruno(srv, asterisk, accounts):
    """Alice (logged in) answers a caller from the queue; Bruno's phone registered, not in the
    queue; every party talks. Yields (phones, caller, uniqueid); stops them all afterwards."""
    return queue_call(srv, asterisk, {name: accounts[name] for name in ("alice", "bruno")})


async def _alice_consults_bruno(alice, rt, phones, uid, count: int = 1) -> None:
    """Alice's attended transfer to Bruno from her desk: Bruno answers (his `count`th call) and
    the consultation is in place (the customer on hold)."""
    body = {"kind": "agent", "target": "bruno", "attended": True}
    status, answer = await post(alice, f"/api/calls/{uid}/transfer", body)
    assert status == 200, answer
    await phones["bruno"].wait_calls("answered", count, timeout=15)
    await until(lambda: rt.call_control.board.calls[uid].settled, 5)


def _queue_log(asterisk, uid) -> list[list[str]]:
    lines = (asterisk.instance_dir / "log" / "queue_log").read_text().splitlines()
    return [line.split("|") for line in lines if f"|{uid}|" in line]


async def _screen_pops(client, srv):
    ws = await client.ws_connect("/ws", headers={"Origin": srv.base_url})
    pops: list[tuple[float, dict]] = []

    async def read():
        async for msg in ws:
            data = msg.json()
            if data.get("topic") == "screen_pop":
                pops.append((time.monotonic(), data))

    return ws, pops, asyncio.create_task(read())


@pytest.mark.parametrize("attended", [False, True], ids=["blind", "attended"])
async def test_transfer_leaves_two_legs_each_agent_charged_their_own_seconds(asterisk, tmp_path, attended):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        async with _call_with_bruno(srv, asterisk, accounts) as (phones, caller, uid):
            alice = await srv.login("alice", "password-1234")
            bruno = await srv.login("bruno", "password-1234")
            ws, pops, reader = await _screen_pops(bruno, srv)
            answered = rt.call_tracker.open[uid].answered_at
            await asyncio.sleep(2)
            body = {"kind": "agent", "target": "bruno", "attended": attended}
            status, answer = await post(alice, f"/api/calls/{uid}/transfer", body)
            assert status == 200, answer
            await phones["bruno"].wait_calls("answered", 1, timeout=15)
            consulted = 0.0
            if attended:  # alice and bruno talk 2 s, the customer on hold: nobody's talk with them
                await until(lambda: rt.call_control.board.calls[uid].settled, 5)
                apart = rt.clock.now()  # alice left the customer for the consultation
                started = time.monotonic()
                await asyncio.sleep(2)
                status, answer = await post(alice, f"/api/calls/{uid}/transfer/complete")
                assert status == 200, answer
                consulted = time.monotonic() - started
                await phones["alice"].wait_for(lambda: phones["alice"].calls_ended == 1, 10, "alice's leg ended")
            else:
                await phones["alice"].wait_for(lambda: phones["alice"].calls_ended == 1, 10, "alice's leg ended")
                apart = rt.clock.now()
            alice_seconds = (apart - answered).total_seconds()
            # bruno's leg starts when he is with the customer: the leg and the screen-pop
            await until(lambda: len(rt.acd.legs.legs(uid)) == 2, 10, "bruno's leg")
            bruno_from = time.monotonic()
            await until(lambda: pops, 1, "bruno's screen-pop within 1 s")
            pop = pops[0][1]
            assert pop["uniqueid"] == uid and pop["transferred_by"] == "alice"
            assert pop["transfer"] == ("attended_transfer" if attended else "blind_transfer")
            assert pop["caller_number"] == "0644556677"
            await asyncio.sleep(3)
            bruno_seconds = time.monotonic() - bruno_from
            await hang_up_customer(rt, uid)

            # the stored legs: each agent's own seconds and how the call went from one to the other
            stored = (await asyncio.to_thread(rt.acd_repo.legs_of, [uid]))[uid]
            kind = "attended_transfer" if attended else "blind_transfer"
            assert [(r.seq, r.agent, r.started_how, r.ended_how, r.transferred_by) for r in stored] == [
                (1, "alice", "queue", "transferred", None),
                (2, "bruno", kind, "hangup", "alice"),
            ]
            first, second = stored
            assert abs(first.talk_seconds - alice_seconds) <= TOLERANCE, (first.talk_seconds, alice_seconds)
            assert alice_seconds < 6 and bruno_seconds < 5  # ~2 s and ~3 s: never the other's part
            assert abs(second.talk_seconds - bruno_seconds) <= TOLERANCE, (second.talk_seconds, bruno_seconds)
            if not attended:  # the customer reached bruno after alice left
                assert second.answered_at >= first.ended_at
            if attended:  # the consultation: alice held the customer, bruno's talk starts after it
                assert abs(first.hold_seconds - consulted) <= TOLERANCE + 0.5, (first.hold_seconds, consulted)
            # the API answers the same to alice and to bruno, and sums each agent's talk
            for client in (alice, bruno):
                resp = await client.get(f"/api/calls/{uid}/legs")
                assert resp.status == 200
                data = await resp.json()
                assert [leg["agent"] for leg in data["legs"]] == ["alice", "bruno"]
                assert data["talk_by_agent"] == {"alice": first.talk_seconds, "bruno": second.talk_seconds}
            # the call record and queue_log charge alice until the transfer (her talk and the
            # consultation she held the customer for), never bruno's part
            alice_part = first.talk_seconds + first.hold_seconds
            [row] = [r for r in await asyncio.to_thread(rt.acd_repo.calls) if r.uniqueid == uid]
            assert row.agent == "alice" and row.talk_seconds <= alice_part + TOLERANCE, (row.talk_seconds, alice_part)
            log = _queue_log(asterisk, uid)
            [transfer] = [x for x in log if x[4] in ("BLINDTRANSFER", "ATTENDEDTRANSFER")]
            assert transfer[4] == ("ATTENDEDTRANSFER" if attended else "BLINDTRANSFER"), log
            assert transfer[3] == "alice"
            # BLINDTRANSFER|ext|context|holdtime|calltime; ATTENDEDTRANSFER|method|data|holdtime|calltime
            assert int(transfer[8]) <= alice_part + TOLERANCE, (transfer, alice_part)
            assert not [x for x in log if x[3] == "bruno"], log  # Asterisk never charges bruno
            reader.cancel()
            await ws.close()
            await alice.close()
            await bruno.close()


async def test_cancelled_consultation_then_three_way_call_the_first_agent_leaves(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        async with _call_with_bruno(srv, asterisk, accounts) as (phones, caller, uid):
            alice = await srv.login("alice", "password-1234")
            # a consultation cancelled: bruno talked to alice only, no leg for him
            await _alice_consults_bruno(alice, rt, phones, uid, 1)
            await asyncio.sleep(1)
            status, answer = await post(alice, f"/api/calls/{uid}/transfer/cancel")
            assert status == 200, answer
            await phones["bruno"].wait_for(lambda: phones["bruno"].calls_ended == 1, 10, "bruno's leg ended")
            await until(lambda: not rt.call_control.board.calls[uid].held, 5)
            assert [leg.agent for leg in rt.acd.legs.legs(uid)] == ["alice"]
            # consult again, merge: the three together, then alice leaves
            await _alice_consults_bruno(alice, rt, phones, uid, 2)
            status, answer = await post(alice, f"/api/calls/{uid}/transfer/merge")
            assert status == 200, answer
            await until(lambda: len(rt.acd.legs.legs(uid)) == 2, 10, "bruno with the customer")
            merged = rt.clock.now()
            await asyncio.sleep(2)
            status, answer = await post(alice, f"/api/calls/{uid}/leave")
            assert status == 200, answer
            await phones["alice"].wait_for(lambda: phones["alice"].calls_ended == 1, 10, "alice left")
            left = rt.clock.now()
            await asyncio.sleep(2)
            await hang_up_customer(rt, uid)
            ended = rt.clock.now()
            stored = (await asyncio.to_thread(rt.acd_repo.legs_of, [uid]))[uid]
            assert [(r.agent, r.started_how, r.ended_how, r.transferred_by) for r in stored] == [
                ("alice", "queue", "left", None),
                ("bruno", "three_way", "hangup", "alice"),
            ]
            first, second = stored
            assert first.hold_seconds >= 1  # the two consultations: the customer held
            assert abs(second.talk_seconds - (ended - merged).total_seconds()) <= TOLERANCE, second.talk_seconds
            assert first.ended_at <= left and second.answered_at <= left
            await alice.close()


async def test_customer_hanging_up_during_the_consultation_leaves_one_leg(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        async with _call_with_bruno(srv, asterisk, accounts) as (phones, caller, uid):
            alice = await srv.login("alice", "password-1234")
            await _alice_consults_bruno(alice, rt, phones, uid, 1)
            await asyncio.sleep(2)
            await hang_up_customer(rt, uid)
            [leg] = (await asyncio.to_thread(rt.acd_repo.legs_of, [uid]))[uid]
            assert (leg.agent, leg.started_how, leg.ended_how) == ("alice", "queue", "hangup")
            assert leg.hold_seconds >= 1 and leg.ended_at is not None
            await alice.close()


async def test_the_call_follows_the_agent_who_has_it_control_and_legs_along_a_chain(asterisk, tmp_path):
    """alice -> bruno (blind); bruno now controls the call (hold, resume) and sends it back to
    alice (blind): three legs, each with its own kind and whom it came from."""
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        async with _call_with_bruno(srv, asterisk, accounts) as (phones, caller, uid):
            alice = await srv.login("alice", "password-1234")
            bruno = await srv.login("bruno", "password-1234")
            status, answer = await post(bruno, f"/api/calls/{uid}/hold")
            assert status == 403, answer  # not bruno's call yet
            status, answer = await post(alice, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno"})
            assert status == 200, answer
            await until(lambda: len(rt.acd.legs.legs(uid)) == 2, 15, "bruno with the customer")
            status, answer = await post(alice, f"/api/calls/{uid}/hold")
            assert status == 403, answer  # no longer alice's
            status, answer = await post(bruno, f"/api/calls/{uid}/hold")
            assert status == 200 and answer["agent"] == "bruno", answer
            await until(lambda: rt.call_control.board.calls[uid].settled, 5)  # bruno apart from the customer
            await asyncio.sleep(1.5)
            status, answer = await post(bruno, f"/api/calls/{uid}/resume")
            assert status == 200, answer
            await until(lambda: not rt.call_control.board.calls[uid].held, 5)
            status, answer = await post(bruno, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "alice"})
            assert status == 200, answer
            await until(lambda: len(rt.acd.legs.legs(uid)) == 3, 15, "alice with the customer again")
            await asyncio.sleep(1)
            await hang_up_customer(rt, uid)
            stored = (await asyncio.to_thread(rt.acd_repo.legs_of, [uid]))[uid]
            assert [(r.agent, r.started_how, r.ended_how, r.transferred_by) for r in stored] == [
                ("alice", "queue", "transferred", None),
                ("bruno", "blind_transfer", "transferred", "alice"),
                ("alice", "blind_transfer", "hangup", "bruno"),
            ]
            assert stored[1].hold_seconds >= 1
            actions = [e.action for e in reversed(rt.audit.list(actor="bruno")) if e.action.startswith("call.")]
            assert actions == ["call.hold", "call.resume", "call.transfer"]
            await alice.close()
            await bruno.close()
