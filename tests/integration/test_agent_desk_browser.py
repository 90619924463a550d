"""The agent desk in a real Chromium: live state, the screen-pop while the phone rings, wrap-up."""

from __future__ import annotations

import asyncio

import pytest

from ccserver.capabilities.agents.model import AgentState
from tests.integration.test_inbound import QUEUE_NUMBER, queue_members, setup_call_center, start_phones
from tests.support.browser import chromium, log_in
from tests.support.server import Server, endpoint_of
from tests.support.sipp import Answer, SippCaller

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]


async def test_agent_page_shows_the_customer_while_the_phone_rings(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        await asyncio.to_thread(
            rt.customers.create_customer,
            phones=["06 12 34 56 78"],
            first_name="Hélène",
            last_name="Dupont",
            customer_number="12345678",
        )
        phones = await start_phones(
            asterisk, {"alice": accounts["alice"]}, alice=Answer(ring_seconds=6, talk_seconds=3)
        )
        try:
            async with chromium() as browser:
                page = await browser.new_page()
                await log_in(page, srv.base_url, "alice", "password-1234")
                await page.goto(srv.base_url + "/agent")
                await page.wait_for_selector("#btn-login")
                # a function: an expression would be eval'd, which the CSP refuses
                await page.wait_for_function("() => document.body.dataset.live === 'yes'")
                await page.click("#btn-login")
                await page.wait_for_selector("#state[data-state=available]", timeout=10_000)
                assert (await queue_members(rt))["PJSIP/alice"]["paused"] == "0"

                caller = SippCaller(asterisk, QUEUE_NUMBER, caller="0033612345678", talk_seconds=None, max_seconds=40)
                await caller.start()
                await page.wait_for_selector("#state[data-state=ringing]", timeout=10_000)
                await page.wait_for_selector("#customer-known:not([hidden])", timeout=5_000)
                assert "Hélène Dupont" in await page.text_content("#customer-name")
                # still ringing while the file is on screen
                assert rt.agent_board.agents["alice"].state is AgentState.RINGING
                assert phones["alice"].calls_answered == 0

                await page.wait_for_selector("#state[data-state=on_call]", timeout=15_000)
                await page.wait_for_selector("#state[data-state=wrap_up]", timeout=15_000)
                await page.select_option("#disposition", "resolved")
                await page.fill("textarea[name=notes]", "Box redémarrée")
                await page.fill("input[name=ticket_subject]", "Coupures internet")
                await page.click("#wrapup-form button[type=submit]")
                await page.wait_for_selector("#wrapup-saved:has-text('Enregistré')", timeout=5_000)
                await caller.stop()

                await rt.call_writer.flush_now()
                [row] = await asyncio.to_thread(rt.acd_repo.calls)
                assert (row.disposition, row.notes) == ("resolved", "Box redémarrée")
                file = await asyncio.to_thread(rt.customers.find_by_number, "0612345678")
                assert [t.subject for t in file.open_tickets] == ["Coupures internet"]
                assert file.interactions[0].disposition == "resolved"

                # pause with a reason from the page, seen by Asterisk
                await page.select_option("#pause-select", "lunch")
                await page.click("#btn-pause")
                await page.wait_for_selector("#state[data-state=paused]", timeout=10_000)
                assert (await queue_members(rt))["PJSIP/alice"]["pausedreason"] == "lunch"
                await page.click("#btn-logout")
                await page.wait_for_selector("#state[data-state=logged_out]", timeout=10_000)
                assert "PJSIP/alice" not in await queue_members(rt)
        finally:
            for phone in phones.values():
                await phone.stop()
