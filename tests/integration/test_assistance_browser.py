"""Ask a supervisor in real Chromium: Alice's desk asks (keyboard, then the button), Sophie's
wallboard (another browser context) shows the request within a second with its waiting time,
Sophie takes it, Alice's desk says who took it. Then a supervisor listens to an agent who took
the call on the desk's browser phone (WebRTC, endpoint alice~webrtc): their phone hears it."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.integration.test_assistance import supervisor_with_phone
from tests.integration.test_browser_phone import (
    answer_a_queue_call_in_the_page,
    browser_server,
    close_browser_phone,
    open_desk_with_browser_phone,
)
from tests.integration.test_inbound import QUEUE_NUMBER, setup_call_center, start_phones
from tests.integration.test_supervision import SPEECH, silence
from tests.support.browser import WEBRTC_ARGS, chromium, log_in
from tests.support.rtp_capture import RtpCapture
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer, SippCaller

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]


async def test_desk_asks_the_wallboard_shows_it_within_a_second_and_takes_it(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        quiet = silence(tmp_path / "silence.wav")
        sup_phone = await supervisor_with_phone(srv, asterisk, quiet)
        phones = await start_phones(asterisk, {"alice": accounts["alice"]}, alice=Answer(audio=quiet))
        caller = None
        try:
            async with chromium() as browser:
                desk_context, board_context = await browser.new_context(), await browser.new_context()
                desk, board = await desk_context.new_page(), await board_context.new_page()
                await log_in(desk, srv.base_url, "alice", "password-1234")
                await desk.goto(srv.base_url + "/agent")
                await desk.wait_for_function("() => document.body.dataset.live === 'yes'")
                await log_in(board, srv.base_url, "sophie", "password-1234")
                await board.goto(srv.base_url + "/wallboard")
                await board.wait_for_function("() => document.body.dataset.live === 'yes'")
                assert await board.is_visible("#help-empty")

                await desk.click("#btn-login")
                await desk.wait_for_selector("#state[data-state=available]", timeout=10_000)
                assert await desk.is_hidden("#ask-supervisor")
                caller = SippCaller(asterisk, QUEUE_NUMBER, caller="0644556677", talk_seconds=None, max_seconds=90)
                await caller.start()
                await desk.wait_for_selector("#ask-supervisor:not([hidden])", timeout=15_000)

                # Alt+S asks (no reason); the wallboard shows it within a second
                await desk.keyboard.press("Alt+S")
                asked_at = time.monotonic()
                await board.wait_for_selector("#help-table tr[data-agent=alice]", timeout=5_000)
                assert time.monotonic() - asked_at <= 1.0
                await desk.wait_for_selector("#ask-supervisor[data-state=open]", timeout=2_000)
                assert "Superviseur demandé" in await desk.text_content("#ask-state")
                # the agent changes their mind: cancelled, gone from the wallboard
                await desk.click("#btn-ask-cancel")
                await desk.wait_for_selector("#ask-supervisor[data-state=cancelled]", timeout=2_000)
                await board.wait_for_selector("#help-table tr[data-agent=alice]", state="detached", timeout=2_000)

                # then asks with the button and a reason
                await desk.fill("#ask-reason", "client très mécontent")
                await desk.click("#btn-ask-supervisor")
                asked_at = time.monotonic()
                row = "#help-table tr[data-agent=alice]"
                await board.wait_for_selector(row, timeout=5_000)
                assert time.monotonic() - asked_at <= 1.0
                cells = await board.eval_on_selector_all(row + " td", "tds => tds.map(td => td.textContent)")
                assert cells[:4] == ["alice", "support", "0644556677", "client très mécontent"]
                assert await board.text_content("#help-count") == "1"
                # the waiting time ticks on the wallboard
                first = await board.text_content(row + " td.waiting")
                await board.wait_for_function(
                    "([sel, was]) => document.querySelector(sel).textContent !== was",
                    arg=[row + " td.waiting", first],
                    timeout=3_000,
                )

                await board.click(row + " button[data-mode=listen]")
                await desk.wait_for_selector("#ask-supervisor[data-state=taken]", timeout=5_000)
                assert await desk.text_content("#ask-state") == "Pris par sophie"
                await board.wait_for_selector(row, state="detached", timeout=2_000)
                assert await board.text_content("#help-error") == ""
                await until(
                    lambda: rt.supervision.sessions.get("sophie") and rt.supervision.sessions["sophie"].started, 10
                )
                await sup_phone.wait_calls("answered", 1, timeout=10)
                await desk_context.close()
                await board_context.close()
        finally:
            if caller is not None:
                await caller.stop()
            for phone in [*phones.values(), sup_phone]:
                await phone.stop()


async def test_supervisor_listens_to_an_agent_on_the_browser_phone(asterisk, tmp_path):
    async with browser_server(asterisk, tmp_path) as srv:
        rt = srv.runtime
        await setup_call_center(srv)
        sup_phone = await supervisor_with_phone(srv, asterisk, silence(tmp_path / "silence.wav"))
        caller = None
        try:
            async with chromium(WEBRTC_ARGS) as browser:
                page = await open_desk_with_browser_phone(browser, srv, "alice")
                caller = await answer_a_queue_call_in_the_page(page, asterisk, True)
                assert rt.agent_board.agents["alice"].interface == "PJSIP/alice~webrtc"
                call = rt.agent_board.agents["alice"].call.uniqueid

                # the agent asks from the desk; the supervisor takes it: ChanSpy follows the
                # browser phone's channel (PJSIP/alice~webrtc-...), not the softphone's
                await page.click("#btn-ask-supervisor")
                await until(lambda: rt.assistance.desk.for_call(call), 5)
                request = rt.assistance.desk.for_call(call)
                heard = RtpCapture(sup_phone._run.media_port).start()
                try:
                    sophie = await srv.login("sophie", "password-1234")
                    resp = await sophie.post(
                        f"/api/supervision/requests/{request.id}/take", json={}, headers={"X-CSRF-Token": sophie.csrf}
                    )
                    assert resp.status == 200, await resp.text()
                    await until(
                        lambda: rt.supervision.sessions.get("sophie") and rt.supervision.sessions["sophie"].started,
                        10,
                        "ChanSpy started on the browser phone's channel",
                    )
                    listening = time.monotonic()
                    channels = await asyncio.to_thread(asterisk.cli, "core show channels verbose")
                    assert "PJSIP/alice~webrtc-,qEd" in channels
                    await asyncio.sleep(3.5)
                finally:
                    heard.stop()
                # the supervisor's phone hears the call: the customer's speech
                assert heard.rms(listening + 1.0, listening + 3.0) > SPEECH
                await page.wait_for_selector("#ask-supervisor[data-state=taken]", timeout=5_000)
                await page.click("#bp-hangup")
                await page.wait_for_selector("#browser-phone[data-call=idle]", timeout=10_000)
                await until(lambda: "sophie" not in rt.supervision.sessions, 10)
                await sophie.close()
                await close_browser_phone(page)
        finally:
            if caller is not None:
                await caller.stop()
            await sup_phone.stop()
