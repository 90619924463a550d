"""The agent a call was transferred to through Dial (blind or attended, no queue events for
them), on the real Asterisk with sipp: the agent board and the wallboard show them on call
while they are with the customer, back in wrap-up then available afterwards; they pause and
resume the call's recording from their desk."""

from __future__ import annotations

import pytest

from ccserver.capabilities.agents.model import AgentState
from tests.support.calls import log_in, post, queue_call, setup_call_center
from tests.support.server import Server, endpoint_of, until

pytestmark = pytest.mark.asterisk


def wallboard_row(rt, username: str) -> dict:
    return next(a for a in rt.supervision.board_snapshot()["agents"] if a["username"] == username)


@pytest.mark.parametrize("attended", [False, True], ids=["blind", "attended"])
async def test_the_receiving_agent_is_on_call_and_controls_the_recording(asterisk, tmp_path, attended):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv, wrapup=2)  # the support queue records every call
        async with queue_call(srv, asterisk, accounts) as (phones, _caller, uid):
            await log_in(rt, "bruno")  # logged in once alice has the call: the queue never rings him
            await until(lambda: rt.agent_board.agents["bruno"].state is AgentState.AVAILABLE, 10)
            await until(lambda: uid in rt.recording.live and rt.recording.live[uid].state == "recording", 10)
            alice = await srv.login("alice", "password-1234")
            bruno = await srv.login("bruno", "password-1234")
            # before the transfer the call is not bruno's: nothing to pause
            status, body = await post(bruno, "/api/agent/recording/pause")
            # French by default (Accept-Language of the test client is none): the field names the call
            assert status == 409 and body["details"]["field"] == "call", body
            assert body["message"] == "vous n'avez pas d'appel en cours", body
            status, body = await post(
                alice, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno", "attended": attended}
            )
            assert status == 200, body
            await phones["bruno"].wait_calls("answered", 1, timeout=15)
            if attended:
                await until(lambda: rt.call_control.board.calls[uid].settled, 5)
                # consulting: bruno talks with alice, not with the customer yet
                assert rt.agent_board.agents["bruno"].state is AgentState.AVAILABLE
                assert (await post(alice, f"/api/calls/{uid}/transfer/complete"))[0] == 200
            await until(lambda: len(rt.acd.legs.legs(uid)) == 2, 15, "bruno with the customer")
            # bruno on call with this customer, on the agent board and the wallboard
            await until(lambda: rt.agent_board.agents["bruno"].state is AgentState.ON_CALL, 5)
            row = wallboard_row(rt, "bruno")
            assert row["state"] == "on_call" and row["call"]["uniqueid"] == uid, row
            assert row["call"]["caller_number"] == "0644556677" and row["call"]["queue"] == "support", row
            # alice let the call go: her wrap-up, not on call any more
            await until(lambda: rt.agent_board.agents["alice"].state is not AgentState.ON_CALL, 10)
            # bruno pauses and resumes the call's recording from his desk
            status, body = await post(bruno, "/api/agent/recording/pause")
            assert status == 200 and body["recording"]["state"] == "paused", body
            assert rt.recording.live[uid].state == "paused"
            status, body = await post(bruno, "/api/agent/recording/resume")
            assert status == 200 and body["recording"]["state"] == "recording", body
            # the customer hangs up: bruno in wrap-up (the queue's 2 s), then available
            await rt.pbx.ami.hangup(rt.call_tracker.open[uid].channel)
            await until(lambda: rt.agent_board.agents["bruno"].state is AgentState.WRAP_UP, 10, "bruno's wrap-up")
            assert wallboard_row(rt, "bruno")["call"] is None
            await until(lambda: rt.agent_board.agents["bruno"].state is AgentState.AVAILABLE, 10, "bruno available")
            await alice.close()
            await bruno.close()
