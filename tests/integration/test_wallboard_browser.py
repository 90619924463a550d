"""The wallboard in a real Chromium: live within a second, and its counters equal the stored
call records after a burst of 50 calls."""

from __future__ import annotations

import asyncio
import time

import pytest

from ccserver.capabilities.acd.service import record_from_row
from ccserver.capabilities.agents.model import AgentState
from ccserver.capabilities.supervision.model import queue_figures
from ccserver.core import events as ev
from tests.integration.test_inbound import QUEUE_NUMBER, log_in, setup_call_center, start_phones
from tests.support.browser import chromium
from tests.support.browser import log_in as browser_log_in
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer, SippCaller

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]


async def cell(page, queue: str, css: str) -> str:
    return (await page.text_content(f"#queues tr[data-queue={queue}] td.{css}")).strip()


async def test_wallboard_is_live_and_agrees_with_the_records_after_a_burst(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv, wrapup=0)
        await asyncio.to_thread(rt.users.create_user, "sophie", "password-1234", role="supervisor")
        await asyncio.to_thread(rt.acd_repo.give_scope, "sophie", "queue", "support")
        phones = await start_phones(asterisk, accounts, alice=Answer(talk_seconds=1.5), bruno=Answer(talk_seconds=1.5))
        joined_at: dict[str, float] = {}
        rt.bus.subscribe(
            "test-joins",
            lambda e: joined_at.setdefault(e.uniqueid, time.monotonic()),
            topics=[ev.QueueCallerJoined.topic],
        )
        try:
            await log_in(rt, "alice", "bruno")
            await rt.acd.pause("alice", "break")
            await rt.acd.pause("bruno", "break")
            await until(lambda: rt.agent_board.agents["bruno"].state is AgentState.PAUSED, 5)
            async with chromium() as browser:
                page = await browser.new_page()
                await browser_log_in(page, srv.base_url, "sophie", "password-1234")
                await page.goto(srv.base_url + "/wallboard")
                # a function: an expression would be eval'd, which the CSP refuses
                await page.wait_for_function("() => document.body.dataset.live === 'yes'")
                await page.wait_for_selector("#queues tr[data-queue=support]")
                assert await cell(page, "support", "waiting") == "0"

                # one caller waits (everybody is paused): on the board within a second
                waiting = SippCaller(asterisk, QUEUE_NUMBER, caller="0655000001", talk_seconds=4)
                await waiting.start()
                await page.wait_for_selector("#queues tr[data-queue=support] td.waiting:text-is('1')", timeout=5_000)
                shown_at = time.monotonic()
                assert len(joined_at) == 1
                assert shown_at - next(iter(joined_at.values())) <= 1.0
                await waiting.wait(timeout=15)

                # a burst of 50 calls on two agents: some answered, some abandoned
                await rt.acd.unpause("alice")
                await rt.acd.unpause("bruno")
                callers = []
                for i in range(50):
                    caller = SippCaller(asterisk, QUEUE_NUMBER, caller=f"06550{i:05d}", talk_seconds=4, max_seconds=30)
                    await caller.start()
                    callers.append(caller)
                    await asyncio.sleep(0.1)
                await asyncio.gather(*(c.wait(timeout=60) for c in callers), return_exceptions=True)
                await until(lambda: not rt.call_tracker.open, 30)
                await rt.call_writer.flush_now()
                await asyncio.sleep(1.5)  # the next push (at most 1 s later) carries the last call

                rows = [r for r in await asyncio.to_thread(rt.acd_repo.calls) if r.queue == "support"]
                assert len(rows) == 51
                stored = queue_figures("support", 20, [record_from_row(r) for r in rows], [], [], rt.clock.now())
                assert stored.answered > 0 and stored.abandoned > 0
                assert await cell(page, "support", "answered") == str(stored.answered)
                assert await cell(page, "support", "abandoned") == str(stored.abandoned)
                assert await cell(page, "support", "waiting") == "0"
                api = await (await (await srv.login("sophie", "password-1234")).get("/api/wallboard")).json()
                [figures] = [q for q in api["queues"] if q["queue"] == "support"]
                assert (figures["answered"], figures["abandoned"], figures["offered"]) == (
                    stored.answered,
                    stored.abandoned,
                    stored.offered,
                )
                assert figures["service_level_pct"] == stored.service_level_pct
                assert figures["average_handle_seconds"] == stored.average_handle_seconds
        finally:
            for phone in phones.values():
                await phone.stop()


async def test_forced_pause_uses_a_pause_code_of_this_call_center(asterisk, tmp_path):
    """The wallboard's "Pause" sends the code chosen in its list of the call center's codes
    (it used to send "break", which a fresh install does not have: refused)."""
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv, wrapup=0)
        await rt.callcenter.retire_pause_code("break", "admin")  # only "lunch" is left
        await asyncio.to_thread(rt.users.create_user, "sophie", "password-1234", role="supervisor")
        await asyncio.to_thread(rt.acd_repo.give_scope, "sophie", "queue", "support")
        phones = await start_phones(asterisk, {"alice": accounts["alice"]})
        try:
            await log_in(rt, "alice")
            async with chromium() as browser:
                page = await browser.new_page()
                await browser_log_in(page, srv.base_url, "sophie", "password-1234")
                await page.goto(srv.base_url + "/wallboard")
                await page.wait_for_function("() => document.body.dataset.live === 'yes'")
                await page.wait_for_selector("#force-pause-reason option[value=lunch]", state="attached")
                options = await page.eval_on_selector_all("#force-pause-reason option", "os => os.map(o => o.value)")
                assert options == ["lunch"]
                await page.click("#agents tr[data-agent=alice] button:text-is('Pause')")
                await until(lambda: rt.agent_board.agents["alice"].state is AgentState.PAUSED, 5)
                assert await page.text_content("#board-error") == ""
                member = next(
                    r
                    for r in await rt.pbx.ami.list_action({"Action": "QueueStatus", "Queue": "support"})
                    if r.get("event") == "QueueMember"
                )
                assert member["pausedreason"] == "lunch"
        finally:
            for phone in phones.values():
                await phone.stop()
