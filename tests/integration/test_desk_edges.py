"""Two edges of transfers on the agent desk, on the real Asterisk with sipp phones:

- a call transferred to an agent logged in to no queue (never logged in, or logged out of every
  queue during the call): on call outside queues on the board and the wallboard, their desk gets
  the screen-pop and the call's controls, their leg is charged to them, and afterwards they are
  logged out again (never made available in a queue, never left on call);
- an agent with two calls at once (a call transferred to them while on another): the board and
  the desk keep both, the one not shown listed with its screen-pop and controls; when one ends
  the other is shown, and the agent is never available while a call remains."""

from __future__ import annotations

import asyncio

import pytest

from ccserver.capabilities.agents.model import AgentState, AgentStateChanged
from tests.support.calls import QUEUE_NUMBER, log_in, post, queue_call, setup_call_center
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import SippCaller

pytestmark = pytest.mark.asterisk


def wallboard_row(rt, username: str) -> dict:
    return next(a for a in rt.supervision.board_snapshot()["agents"] if a["username"] == username)


async def snapshot(client) -> dict:
    resp = await client.get("/api/agent/desk/snapshot")
    assert resp.status == 200
    return await resp.json()


async def hang_up(rt, uid: str) -> None:
    await rt.pbx.ami.hangup(rt.call_tracker.open[uid].channel)
    await until(lambda: uid not in rt.call_tracker.open, 10, f"call {uid} ended")


def states_of(rt, username: str) -> list[str]:
    """Every state `username` is published in from now (the board's events on the bus)."""
    seen: list[str] = []

    def listen(event) -> None:
        if isinstance(event, AgentStateChanged) and event.username == username:
            seen.append(event.state)

    rt.bus.subscribe(f"test:states-{username}", listen, topics=[AgentStateChanged.topic])
    return seen


@pytest.mark.parametrize("logged_in", [False, True], ids=["never-logged-in", "logged-out-during-the-call"])
async def test_a_call_transferred_to_an_agent_outside_queues(asterisk, tmp_path, logged_in):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv, wrapup=2)
        async with queue_call(srv, asterisk, accounts) as (phones, _caller, uid):
            if logged_in:  # logged in once alice has the call: the queue never rings him
                await log_in(rt, "bruno")
            alice = await srv.login("alice", "password-1234")
            bruno = await srv.login("bruno", "password-1234")
            bruno_states = states_of(rt, "bruno")
            status, body = await post(
                alice, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno", "attended": logged_in}
            )
            assert status == 200, body
            await phones["bruno"].wait_calls("answered", 1, timeout=15)
            if logged_in:
                await until(lambda: rt.call_control.board.calls[uid].settled, 5)
                assert (await post(alice, f"/api/calls/{uid}/transfer/complete"))[0] == 200
            await until(lambda: len(rt.acd.legs.legs(uid)) == 2, 15, "bruno with the customer")
            await until(lambda: rt.agent_board.agents["bruno"].state is AgentState.ON_CALL, 5)
            if logged_in:  # his account is disabled meanwhile: out of every queue, the call goes on
                assert await rt.acd.logout_everywhere("bruno", "admin", "test") == ["support"]
                await until(lambda: not rt.agent_board.agents["bruno"].queues, 5, "bruno out of the queue")
            # on call outside queues, on the board and the wallboard
            board = rt.agent_board.agents["bruno"]
            assert board.state is AgentState.ON_CALL and board.call.uniqueid == uid
            row = wallboard_row(rt, "bruno")
            assert row["state"] == "on_call" and row["outside_queues"] is True and row["queues"] == [], row
            assert row["call"]["uniqueid"] == uid and row["call"]["caller_number"] == "0644556677", row
            # his desk: the screen-pop and the call's controls, as for a logged-in agent
            await until(lambda: rt.desk.pops.of("bruno", uid) is not None, 5, "bruno's screen-pop")
            desk = await snapshot(bruno)
            assert desk["status"]["state"] == "on_call" and desk["status"]["outside_queues"] is True, desk
            assert desk["screen_pop"]["uniqueid"] == uid and desk["screen_pop"]["transferred_by"] == "alice", desk
            assert desk["call_control"]["uniqueid"] == uid and desk["call_control"]["agent"] == "bruno", desk
            status, body = await post(bruno, f"/api/calls/{uid}/mute")
            assert status == 200 and body["muted"] is True and body["agent"] == "bruno", body
            # the customer hangs up: bruno logged out again, neither in wrap-up nor available
            await hang_up(rt, uid)
            await until(lambda: rt.agent_board.agents["bruno"].state is AgentState.LOGGED_OUT, 10, "bruno out")
            await rt.bus.drain()
            assert bruno_states[-1] == "logged_out" and "available" not in bruno_states, bruno_states
            assert "wrap_up" not in bruno_states, bruno_states
            assert "bruno" not in await asyncio.to_thread(asterisk.cli, "queue show support")
            desk = await snapshot(bruno)
            assert desk["status"]["state"] == "logged_out" and desk["status"]["call"] is None, desk
            assert desk["screen_pop"] is None and desk["call_control"] is None, desk
            assert wallboard_row(rt, "bruno")["call"] is None
            # the call record charges his leg
            await until(lambda: uid not in rt.acd.legs.calls, 5)
            await rt.bus.drain()
            await rt.writers["db:call-legs"].flush_now()
            stored = (await asyncio.to_thread(rt.acd_repo.legs_of, [uid]))[uid]
            kind = "attended_transfer" if logged_in else "blind_transfer"
            assert [(r.agent, r.started_how, r.ended_how) for r in stored] == [
                ("alice", "queue", "transferred"),
                ("bruno", kind, "hangup"),
            ]
            assert stored[1].answered_at is not None and stored[1].ended_at is not None
            await alice.close()
            await bruno.close()


async def test_an_agent_with_two_calls_keeps_both_on_the_board_and_the_desk(asterisk, tmp_path):
    """alice has customer 1 (the queue); bruno has customer 2 (the queue too, alice busy) and
    transfers it to alice: two calls at once for her. Customer 2 (shown) hangs up first: alice
    is on customer 1's call with its screen-pop and controls; then it ends: her wrap-up."""
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv, wrapup=2)
        async with queue_call(srv, asterisk, accounts) as (phones, _caller, first):
            second_caller = SippCaller(
                asterisk, QUEUE_NUMBER, caller="0655443322", audio=True, talk_seconds=None, max_seconds=120
            )
            try:
                alice = await srv.login("alice", "password-1234")
                bruno = await srv.login("bruno", "password-1234")
                await until(lambda: rt.desk.pops.of("alice", first) is not None, 5, "alice's first screen-pop")
                await log_in(rt, "bruno")
                await second_caller.start()
                await until(lambda: rt.agent_board.agents["bruno"].state is AgentState.ON_CALL, 15, "bruno answers")
                second = rt.agent_board.agents["bruno"].call.uniqueid
                await until(lambda: second in rt.call_tracker.open and rt.call_tracker.open[second].answered_at, 5)
                assert second != first and rt.agent_board.agents["alice"].call.uniqueid == first
                alice_states = states_of(rt, "alice")
                status, body = await post(bruno, f"/api/calls/{second}/transfer", {"kind": "agent", "target": "alice"})
                assert status == 200, body
                await until(lambda: len(rt.acd.legs.legs(second)) == 2, 15, "alice with customer 2")
                # both calls on the board: customer 2's shown, customer 1's aside
                alice_status = rt.agent_board.agents["alice"]
                await until(lambda: alice_status.call.uniqueid == second, 5)
                assert alice_status.state is AgentState.ON_CALL
                assert [c.uniqueid for c in alice_status.other_calls] == [first]
                row = wallboard_row(rt, "alice")
                assert row["call"]["caller_number"] == "0655443322", row
                assert [c["caller_number"] for c in row["other_calls"]] == ["0644556677"], row
                await until(lambda: rt.desk.pops.of("alice", second) is not None, 5, "alice's second screen-pop")
                desk = await snapshot(alice)
                assert desk["screen_pop"]["uniqueid"] == second and desk["call_control"]["uniqueid"] == second, desk
                [other] = desk["other_calls"]
                assert other["uniqueid"] == first and other["screen_pop"]["caller_number"] == "0644556677", other
                assert other["call_control"]["uniqueid"] == first, other
                # she shows customer 1's call, then customer 2's again
                status, body = await post(alice, "/api/agent/desk/focus", {"uniqueid": first})
                assert status == 200 and body["status"]["call"]["uniqueid"] == first, body
                assert body["screen_pop"]["uniqueid"] == first and body["other_calls"][0]["uniqueid"] == second, body
                status, body = await post(alice, "/api/agent/desk/focus", {"uniqueid": "1.23"})
                assert status == 404, body
                status, body = await post(alice, "/api/agent/desk/focus", {"uniqueid": second})
                assert status == 200 and body["status"]["call"]["uniqueid"] == second, body
                # customer 2 hangs up: alice still on call, customer 1's call shown with its pop
                await hang_up(rt, second)
                await until(lambda: alice_status.call is not None and alice_status.call.uniqueid == first, 10)
                assert alice_status.state is AgentState.ON_CALL and alice_status.other_calls == ()
                desk = await snapshot(alice)
                assert desk["screen_pop"]["uniqueid"] == first and desk["call_control"]["uniqueid"] == first, desk
                assert desk["other_calls"] == [], desk
                # and its controls act on it
                status, body = await post(alice, f"/api/calls/{first}/mute")
                assert status == 200 and body["muted"] is True, body
                # customer 1 hangs up: the queue's wrap-up, then available
                await hang_up(rt, first)
                await until(lambda: alice_status.state is AgentState.WRAP_UP, 10, "alice's wrap-up")
                desk = await snapshot(alice)
                assert desk["screen_pop"]["uniqueid"] == first, desk  # the call she qualifies
                await until(lambda: alice_status.state is AgentState.AVAILABLE, 10, "alice available")
                await rt.bus.drain()
                # never available (nor out of a call) while a call remained
                assert alice_states[: alice_states.index("wrap_up")] == ["on_call"] * alice_states.index("wrap_up")
                await alice.close()
                await bruno.close()
            finally:
                await second_caller.stop()
