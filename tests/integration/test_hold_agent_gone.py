"""An agent's phone hanging up while the customer is on hold: the customer is not left behind."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.calls import post, queue_call, setup_call_center
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer

pytestmark = pytest.mark.asterisk


async def test_agent_hanging_up_while_holding_does_not_leave_the_customer_on_hold(asterisk, tmp_path):
    """Hold is an attended transfer to [ccserver-hold]: when the agent's phone hangs up meanwhile,
    Asterisk completes it and the customer would wait there, in silence, for hours. The hold
    extension watches the agent's channel and ends: the customer's call ends within seconds."""
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        alice = Answer(audio=True, talk_seconds=6)  # her phone hangs up 6 s after answering
        async with queue_call(srv, asterisk, {"alice": accounts["alice"]}, alice=alice) as (phones, caller, uid):
            client = await srv.login("alice", "password-1234")
            status, body = await post(client, f"/api/calls/{uid}/hold")
            assert status == 200, body
            await until(lambda: rt.call_control.board.calls[uid].held, 5)
            await phones["alice"].wait_calls("hungup", 1, timeout=15)

            async def nothing_left():
                listing = await asyncio.to_thread(asterisk.cli, "core show channels concise")
                return not any(uid in line or "ccserver-hold" in line for line in listing.splitlines())

            await until(nothing_left, 5, "the customer's and the hold extension's channels gone")
            await until(lambda: uid not in rt.call_tracker.open, 5, "the call record closed")
            await client.close()
