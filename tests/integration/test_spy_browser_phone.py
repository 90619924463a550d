"""Whisper and barge when the agent works on the desk's browser phone (WebRTC in a real
Chromium): the supervisor's voice reaches the agent's page in whisper and both the agent and
the customer in barge, never the customer in listen or whisper. The agent and the customer say
nothing (a silent fake microphone, a silent sipp caller); only the supervisor's phone speaks."""

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
from tests.integration.test_supervision import SPEECH, silence
from tests.support.browser import WEBRTC_ARGS, chromium
from tests.support.calls import setup_call_center
from tests.support.rtp_capture import RtpCapture
from tests.support.server import until

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]

# The page's received audio energy (WebRTC's totalAudioEnergy: the sum of squared normalised
# samples times their duration) per second: digital silence through G.711 measured 6e-8, the
# supervisor's sample speech 5e-2.
HEARD = 1e-3


async def energy_per_second(page, seconds: float) -> float:
    """The audio energy the page's phone received per second over the next `seconds`."""
    before = (await page.evaluate("() => window.ccsBrowserPhone.stats()"))["inbound_energy"]
    started = time.monotonic()
    await asyncio.sleep(seconds)
    after = (await page.evaluate("() => window.ccsBrowserPhone.stats()"))["inbound_energy"]
    return (after - before) / (time.monotonic() - started)


async def test_whisper_and_barge_reach_an_agent_on_the_browser_phone(asterisk, tmp_path):
    quiet = silence(tmp_path / "silence.wav")
    async with browser_server(asterisk, tmp_path) as srv:
        rt = srv.runtime
        await setup_call_center(srv)
        sup_phone = await supervisor_with_phone(srv, asterisk, True)
        caller = None
        try:
            async with chromium([*WEBRTC_ARGS, f"--use-file-for-fake-audio-capture={quiet}"]) as browser:
                page = await open_desk_with_browser_phone(browser, srv, "alice")
                caller = await answer_a_queue_call_in_the_page(page, asterisk, quiet)
                heard_by_caller = RtpCapture(caller._run.media_port).start()

                sophie = await srv.login("sophie", "password-1234")
                headers = {"X-CSRF-Token": sophie.csrf}
                resp = await sophie.post(
                    "/api/supervision/spy", json={"agent": "alice", "mode": "listen"}, headers=headers
                )
                assert resp.status == 201, await resp.text()
                await until(
                    lambda: rt.supervision.sessions.get("sophie") and rt.supervision.sessions["sophie"].started,
                    10,
                    "ChanSpy started on the browser phone's channel",
                )
                channels = await asyncio.to_thread(asterisk.cli, "core show channels verbose")
                assert "PJSIP/alice~webrtc-,qEd" in channels
                agent_hears, windows = {}, {}
                for mode in ("listen", "whisper", "barge"):
                    if mode != "listen":
                        resp = await sophie.post("/api/supervision/spy/mode", json={"mode": mode}, headers=headers)
                        assert resp.status == 200, await resp.text()
                    await asyncio.sleep(1.0)  # away from the switching moment
                    start = time.monotonic()
                    agent_hears[mode] = await energy_per_second(page, 2.5)
                    windows[mode] = (start, time.monotonic())
                heard_by_caller.stop()
                caller_hears = {mode: heard_by_caller.rms(a, b) for mode, (a, b) in windows.items()}
                report = (agent_hears, caller_hears)

                assert agent_hears["listen"] < HEARD and caller_hears["listen"] < SPEECH, report
                assert agent_hears["whisper"] > HEARD and caller_hears["whisper"] < SPEECH, report
                assert agent_hears["barge"] > HEARD and caller_hears["barge"] > SPEECH, report

                await page.click("#bp-hangup")
                await page.wait_for_selector("#browser-phone[data-call=idle]", timeout=10_000)
                await until(lambda: "sophie" not in rt.supervision.sessions, 10, "the spy session ended with the call")
                await sophie.close()
                await close_browser_phone(page)
        finally:
            if caller is not None:
                await caller.stop()
            await sup_phone.stop()
