"""The screen-pop follows the call, in two real Chromium desks: alice writes a note during the
call, transfers it to bruno; bruno's desk shows the customer's file with alice's note and
"transféré par alice" within a second of bruno being with the customer, and again after he
reloads his desk (the desk snapshot), with the call's controls."""

from __future__ import annotations

import asyncio
import time

import pytest

from ccserver.capabilities.agents.model import AgentState
from tests.integration.test_call_control import post
from tests.integration.test_inbound import QUEUE_NUMBER, log_in, setup_call_center, start_phones
from tests.support.browser import chromium
from tests.support.browser import log_in as browser_log_in
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer, SippCaller

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]
NOTE = "Box en panne depuis lundi, déjà redémarrée"


async def desk(browser, srv, username):
    context = await browser.new_context()
    page = await context.new_page()
    await browser_log_in(page, srv.base_url, username, "password-1234")
    await page.goto(srv.base_url + "/agent")
    await page.wait_for_selector("#state[data-state]", state="attached")
    await page.wait_for_function("() => document.body.dataset.live === 'yes'")
    return page


async def _hold_and_resume_from_the_page(page, rt, uid) -> None:
    """The desk's Hold button, then Resume once the hold is in place (both shown on the page)."""
    await page.click("button[data-cc=hold]")
    await page.wait_for_selector("#call-control[data-held=yes]", timeout=5_000)
    await until(lambda: rt.call_control.board.calls[uid].settled, 5)
    await page.click("button[data-cc=resume]")
    await page.wait_for_selector("#call-control[data-held=no]", timeout=5_000)


@pytest.mark.parametrize("attended", [False, True], ids=["blind", "attended"])
async def test_transferred_call_pops_the_customer_file_with_the_first_agents_note(asterisk, tmp_path, attended):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        await asyncio.to_thread(
            rt.customers.create_customer, phones=["06 44 55 66 77"], first_name="Hélène", last_name="Dupont"
        )
        talk = Answer(audio=True, audio_seconds=120)
        phones = await start_phones(asterisk, accounts, alice=talk, bruno=talk)
        await log_in(rt, "alice")
        caller = None
        try:
            async with chromium() as browser:
                alice_page = await desk(browser, srv, "alice")
                bruno_page = await desk(browser, srv, "bruno")
                caller = SippCaller(
                    asterisk, QUEUE_NUMBER, caller="0644556677", audio=True, talk_seconds=None, max_seconds=120
                )
                await caller.start()
                await alice_page.wait_for_selector("#customer-known:not([hidden])", timeout=10_000)
                await until(lambda: rt.agent_board.agents["alice"].state is AgentState.ON_CALL, 15)
                uid = rt.agent_board.agents["alice"].call.uniqueid
                # alice writes her note during the call and saves it before transferring
                await alice_page.fill("textarea[name=notes]", NOTE)
                await alice_page.click("#wrapup-form button[type=submit]")
                await alice_page.wait_for_selector("#wrapup-saved:has-text('Enregistré')", timeout=5_000)
                assert await bruno_page.is_hidden("#screen-pop")  # nothing for bruno yet

                alice = await srv.login("alice", "password-1234")
                body = {"kind": "agent", "target": "bruno", "attended": attended}
                status, answer = await post(alice, f"/api/calls/{uid}/transfer", body)
                assert status == 200, answer
                if attended:
                    await phones["bruno"].wait_calls("answered", 1, timeout=15)
                    await until(lambda: rt.call_control.board.calls[uid].settled, 5)
                    status, answer = await post(alice, f"/api/calls/{uid}/transfer/complete")
                    assert status == 200, answer
                await until(lambda: len(rt.acd.legs.legs(uid)) == 2, 15, "bruno with the customer")
                with_customer = time.monotonic()
                await bruno_page.wait_for_function(
                    "(note) => document.getElementById('customer-history').textContent.includes(note)"
                    " && document.getElementById('transferred-by').textContent.includes('alice')",
                    arg=NOTE,
                    timeout=3_000,
                )
                shown = time.monotonic() - with_customer
                assert shown < 1.0, f"bruno's screen-pop took {shown:.2f} s"
                assert "Hélène Dupont" in await bruno_page.text_content("#customer-name")
                history = await bruno_page.text_content("#customer-history")
                assert "alice" in history and NOTE in history
                kind = "transfert supervisé" if attended else "transfert direct"
                assert kind in await bruno_page.text_content("#transferred-by")
                # the call's controls follow it: bruno holds and resumes it from his desk
                await bruno_page.wait_for_selector("#call-control:not([hidden])", timeout=3_000)
                await _hold_and_resume_from_the_page(bruno_page, rt, uid)
                # bruno reloads his desk: the snapshot brings back the customer's file, "transféré
                # par alice" and the call's controls
                await bruno_page.reload()
                await bruno_page.wait_for_selector("#state[data-state=on_call]", state="attached", timeout=5_000)
                await bruno_page.wait_for_function(
                    "(note) => document.getElementById('customer-history').textContent.includes(note)"
                    " && document.getElementById('transferred-by').textContent.includes('alice')",
                    arg=NOTE,
                    timeout=5_000,
                )
                assert "Hélène Dupont" in await bruno_page.text_content("#customer-name")
                assert kind in await bruno_page.text_content("#transferred-by")
                await bruno_page.wait_for_selector("#call-control:not([hidden])", timeout=5_000)
                await _hold_and_resume_from_the_page(bruno_page, rt, uid)
                # bruno may now wrap the call up too (it is his call as well)
                await bruno_page.fill("textarea[name=notes]", "Technicien envoyé")
                await bruno_page.click("#wrapup-form button[type=submit]")
                await bruno_page.wait_for_selector("#wrapup-saved:has-text('Enregistré')", timeout=5_000)
                # the customer's file lists the call with its two legs
                customer_id = await asyncio.to_thread(lambda: rt.customers.find_by_number("0644556677").id)
                await bruno_page.goto(f"{srv.base_url}/customers/{customer_id}")
                await bruno_page.wait_for_selector(f"ul.call-legs[data-call='{uid}'] li.call-leg >> nth=1")
                legs = await bruno_page.locator(f"ul.call-legs[data-call='{uid}'] li.call-leg").all_text_contents()
                assert legs[0].startswith("1. alice — file") and "transféré" in legs[0], legs
                assert legs[1].startswith(f"2. bruno — {kind} (par alice)"), legs
                print(f"screen-pop after transfer ({'attended' if attended else 'blind'}): {shown * 1000:.0f} ms")
                # the customer hangs up: bruno's controls go away
                await rt.pbx.ami.hangup(rt.call_tracker.open[uid].channel)
                await bruno_page.wait_for_selector("#call-control", state="hidden", timeout=5_000)
                await alice.close()
        finally:
            if caller is not None:
                await caller.stop()
            for phone in phones.values():
                await phone.stop()
