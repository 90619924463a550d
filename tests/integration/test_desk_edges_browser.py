"""The two transfer edges in real Chromium desks and wallboard (French pages), on the real Asterisk
with sipp phones: bruno, logged in to no queue, gets a call transferred to him: his desk and the
wallboard say "En appel (hors file)", his desk shows the customer and the call's controls but no
pause (he is in no queue), and he is "Déconnecté" again afterwards. He sends the call back to alice
while she is on another call: her desk lists the call not shown under "Vos autres appels en
cours"; "Afficher cet appel" brings its customer and controls; when the call shown ends, the
other one is shown with its customer."""

from __future__ import annotations

import asyncio

import pytest

from ccserver.capabilities.agents.model import AgentState
from tests.support.browser import chromium
from tests.support.browser import log_in as browser_log_in
from tests.support.calls import QUEUE_NUMBER, log_in, post, setup_call_center, start_phones, talk
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import SippCaller

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]


async def page_of(browser, srv, username: str, path: str):
    context = await browser.new_context()
    page = await context.new_page()
    await browser_log_in(page, srv.base_url, username, "password-1234")
    await page.goto(srv.base_url + path)
    await page.wait_for_function("() => document.body.dataset.live === 'yes'")
    return page


def customer_call(asterisk, number: str) -> SippCaller:
    return SippCaller(asterisk, QUEUE_NUMBER, caller=number, audio=True, talk_seconds=None, max_seconds=120)


async def test_outside_queues_then_two_calls_at_once_on_the_desks(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv, wrapup=1)
        await asyncio.to_thread(rt.users.create_user, "sophie", "password-1234", role="supervisor")
        await asyncio.to_thread(rt.acd_repo.give_scope, "sophie", "queue", "support")  # not bruno's team
        for phone, first, last in (("06 44 55 66 77", "Hélène", "Dupont"), ("06 55 44 33 22", "Marc", "Petit")):
            await asyncio.to_thread(rt.customers.create_customer, phones=[phone], first_name=first, last_name=last)
        phones = await start_phones(asterisk, accounts, alice=talk(), bruno=talk())
        await log_in(rt, "alice")
        callers: list[SippCaller] = []
        try:
            async with chromium() as browser:
                alice_page = await page_of(browser, srv, "alice", "/agent")
                bruno_page = await page_of(browser, srv, "bruno", "/agent")
                wallboard = await page_of(browser, srv, "sophie", "/wallboard")
                alice = await srv.login("alice", "password-1234")
                bruno = await srv.login("bruno", "password-1234")
                callers.append(customer_call(asterisk, "0644556677"))
                await callers[0].start()
                await until(lambda: rt.agent_board.agents["alice"].state is AgentState.ON_CALL, 15)
                first = rt.agent_board.agents["alice"].call.uniqueid
                await alice_page.wait_for_selector("#customer-name:has-text('Hélène Dupont')", timeout=10_000)

                # 1. to bruno, logged in to no queue
                status, body = await post(alice, f"/api/calls/{first}/transfer", {"kind": "agent", "target": "bruno"})
                assert status == 200, body
                await bruno_page.wait_for_selector("#state:has-text('En appel (hors file)')", timeout=15_000)
                await bruno_page.wait_for_selector("#customer-name:has-text('Hélène Dupont')", timeout=5_000)
                await bruno_page.wait_for_selector("#call-control:not([hidden])", timeout=5_000)
                assert await bruno_page.is_hidden("#controls")  # no pause: he is in no queue
                row = wallboard.locator("#agents tr[data-agent=bruno]")
                await row.locator("td.state-on_call:has-text('En appel (hors file)')").wait_for(timeout=5_000)

                # 2. alice takes another customer; bruno sends the first one back to her
                await until(lambda: rt.agent_board.agents["alice"].state is AgentState.AVAILABLE, 10, "alice free")
                callers.append(customer_call(asterisk, "0655443322"))
                await callers[1].start()
                await until(lambda: rt.agent_board.agents["alice"].state is AgentState.ON_CALL, 15)
                second = rt.agent_board.agents["alice"].call.uniqueid
                await alice_page.wait_for_selector("#customer-name:has-text('Marc Petit')", timeout=10_000)
                status, body = await post(bruno, f"/api/calls/{first}/transfer", {"kind": "agent", "target": "alice"})
                assert status == 200, body
                await bruno_page.wait_for_selector("#state[data-state=logged_out]", state="attached", timeout=15_000)
                assert await bruno_page.text_content("#state") == "Déconnecté"
                # alice: Hélène's call (transferred to her) shown, Marc's listed
                await alice_page.wait_for_selector("#customer-name:has-text('Hélène Dupont')", timeout=5_000)
                listed = alice_page.locator(f"#other-calls-list li[data-uniqueid='{second}']")
                await listed.wait_for(timeout=5_000)
                assert "0655443322" in await listed.text_content()
                assert await alice_page.text_content("#state") == "En communication"
                # she shows Marc's call: its customer and its controls, Hélène's listed
                await listed.locator("button:has-text('Afficher cet appel')").click()
                await alice_page.wait_for_selector("#customer-name:has-text('Marc Petit')", timeout=5_000)
                await alice_page.wait_for_selector(f"#other-calls-list li[data-uniqueid='{first}']", timeout=5_000)
                await alice_page.wait_for_selector("#call-control:not([hidden])", timeout=5_000)
                await alice_page.click("button[data-cc=mute]")
                await until(
                    lambda: second in rt.call_control.board.calls and rt.call_control.board.calls[second].muted,
                    5,
                    "Marc's call muted",
                )
                await alice_page.wait_for_selector("button[data-cc=unmute]:not([hidden])", timeout=5_000)
                # Marc hangs up: Hélène's call shown again with her file, nothing else listed
                await rt.pbx.ami.hangup(rt.call_tracker.open[second].channel)
                await alice_page.wait_for_selector("#customer-name:has-text('Hélène Dupont')", timeout=5_000)
                await alice_page.wait_for_selector("#other-calls", state="hidden", timeout=5_000)
                assert await alice_page.text_content("#state") == "En communication"
                await alice_page.wait_for_selector("#call-control:not([hidden])", timeout=5_000)
                await alice_page.wait_for_selector("button[data-cc=mute]:not([hidden])", timeout=5_000)
                await alice.close()
                await bruno.close()
        finally:
            for caller in callers:
                await caller.stop()
            for phone in phones.values():
                await phone.stop()
