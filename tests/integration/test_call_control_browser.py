"""Call control on the agent desk in a real Chromium: hold and resume with the mouse and the
keyboard, a transfer to an unknown agent refused on screen, then a blind transfer to Bruno."""

from __future__ import annotations

import pytest

from ccserver.capabilities.agents.model import AgentState
from tests.integration.test_inbound import QUEUE_NUMBER, setup_call_center, start_phones
from tests.support.browser import chromium, log_in
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer, SippCaller

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]


async def test_agent_holds_resumes_and_transfers_from_the_desk(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        talk = Answer(audio=True, audio_seconds=90)
        phones = await start_phones(asterisk, accounts, alice=talk, bruno=talk)
        caller = None
        try:
            async with chromium() as browser:
                page = await browser.new_page()
                await log_in(page, srv.base_url, "alice", "password-1234")
                await page.goto(srv.base_url + "/agent")
                await page.wait_for_function("() => document.body.dataset.live === 'yes'")
                await page.click("#btn-login")
                await page.wait_for_selector("#state[data-state=available]", timeout=10_000)
                assert await page.is_hidden("#call-control")

                caller = SippCaller(asterisk, QUEUE_NUMBER, caller="0612345678", talk_seconds=None, max_seconds=90)
                await caller.start()
                await page.wait_for_selector("#state[data-state=on_call]", timeout=15_000)
                await page.wait_for_selector("#call-control:not([hidden])", timeout=5_000)
                uid = rt.agent_board.agents["alice"].call.uniqueid

                await page.click("button[data-cc=hold]")
                await page.wait_for_selector("#call-control[data-held=yes]", timeout=5_000)
                assert "en attente" in await page.text_content("#cc-state")
                assert rt.call_control.board.calls[uid].held
                await page.click("button[data-cc=resume]")
                await page.wait_for_selector("#call-control[data-held=no]", timeout=5_000)
                # the same from the keyboard
                await page.keyboard.press("Alt+Shift+H")
                await page.wait_for_selector("#call-control[data-held=yes]", timeout=5_000)
                await page.keyboard.press("Alt+Shift+H")
                await page.wait_for_selector("#call-control[data-held=no]", timeout=5_000)

                # an unknown agent: a clear error, the call untouched
                await page.fill("#cc-target", "nobody")
                await page.click("#cc-transfer")
                await page.wait_for_selector("#cc-error:has-text('nobody')", timeout=5_000)
                assert rt.agent_board.agents["alice"].state is AgentState.ON_CALL

                await page.fill("#cc-target", "bruno")
                await page.click("#cc-transfer")
                await phones["bruno"].wait_calls("answered", 1, timeout=15)
                await page.wait_for_selector("#call-control[hidden]", state="attached", timeout=10_000)
                await until(lambda: rt.agent_board.agents["alice"].state is not AgentState.ON_CALL, 10)
                actions = [e.action for e in reversed(rt.audit.list(actor="alice")) if e.action.startswith("call.")]
                assert actions == ["call.hold", "call.resume", "call.hold", "call.resume", "call.transfer"]
        finally:
            if caller is not None:
                await caller.stop()
            for phone in phones.values():
                await phone.stop()
