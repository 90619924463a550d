"""Capacity on the real Asterisk: a caller above max_concurrent_calls is refused by the
admission dialplan while it has a channel (SIP 503, cause 34) and ccserver shows it: a call
record with its cause, a counter on the wallboard and in /status, one log line.

(Without the admission, the caller above what the RTP range carries gets a SIP 488 from PJSIP
before any channel exists, and AMI reports nothing at all: verified on Asterisk 22.10 with a
4-port range, the third caller refused and not one AMI event about it.)"""

from __future__ import annotations

import asyncio
import logging

import pytest

from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.core.alerts import CALL_REFUSED
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import SippCaller

pytestmark = pytest.mark.asterisk


async def test_the_caller_above_capacity_is_refused_and_shows(asterisk_factory, tmp_path, caplog):
    node = asterisk_factory(asterisk={"max_concurrent_calls": 2, "rtp_port_count": 8})
    node.up()
    async with Server(tmp_path, endpoint_of(node.info), config_writer=node) as srv:
        rt = srv.runtime
        await until(srv.ok, 20, "ccserver healthy")
        await rt.acd.create_queue(QueueDefinition(name="support", numbers=("4100",), holidays=""), actor="admin")
        # two callers wait in the queue (nobody logged in): the node is full
        waiting = [SippCaller(node, "4100", caller=f"061234567{i}", talk_seconds=8) for i in range(2)]
        for caller in waiting:
            await caller.start()
        await until(lambda: len(rt.call_tracker.open) == 2, 10, "two callers in the queue")

        caplog.set_level(logging.WARNING, logger="ccserver.app")
        refused = await SippCaller(node, "4100", caller="0699999999", talk_seconds=2).run()
        assert not refused.answered and refused.status == 503

        await until(lambda: rt.alerts.counts[CALL_REFUSED] == 1, 5, "the refusal counted")
        await rt.call_writer.flush_now()
        [row] = [r for r in await asyncio.to_thread(rt.acd_repo.calls) if r.caller_number == "0699999999"]
        assert (row.outcome, row.hangup_cause) == ("refused", 34)
        assert "max_concurrent_calls 2" in row.hangup_reason and row.ended_at is not None
        [line] = [r for r in caplog.records if "refused" in r.getMessage() and r.name == "ccserver.app"]
        assert "0699999999" in line.getMessage() and "max_concurrent_calls 2" in line.getMessage()

        _code, status = await srv.status()
        assert status["alerts"][CALL_REFUSED] == 1
        assert rt.supervision.board_snapshot()["alerts"][CALL_REFUSED] == 1

        # the callers admitted before were served as usual
        results = [await caller.wait(timeout=20) for caller in waiting]
        assert all(r.answered for r in results)
