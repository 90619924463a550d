"""The browser phone in a real Chromium (fake microphone) through the real Asterisk, with sipp
on the other side: registration shown, a queue call rings in the page with the screen-pop, the
page answers, audio flows both ways; a call placed from the page reaches a sipp phone."""

from __future__ import annotations

import asyncio
import time

import pytest

from ccserver.capabilities.agents.model import AgentState
from tests.integration.test_inbound import QUEUE_NUMBER, queue_members, setup_call_center, start_phones
from tests.support.browser import WEBRTC_ARGS, chromium, log_in
from tests.support.rtp_capture import RtpCapture
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer, SippCaller

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]


def browser_server(asterisk, tmp_path) -> Server:
    return Server(
        tmp_path, endpoint_of(asterisk.info), config_writer=asterisk, asterisk={"wss_port": asterisk.info.wss_port}
    )


async def open_desk_with_browser_phone(browser, srv: Server, username: str):
    page = await browser.new_page()
    await log_in(page, srv.base_url, username, "password-1234")
    await page.goto(srv.base_url + "/agent")
    await page.wait_for_function("() => document.body.dataset.live === 'yes'")
    await page.check("input[name=phone-choice][value=browser]")
    await page.wait_for_selector("#browser-phone[data-registration=registered]", timeout=10_000)
    assert await page.text_content("#bp-registration") == "enregistrée"
    return page


async def answer_a_queue_call_in_the_page(page, asterisk, audio) -> SippCaller:
    """The agent logs in to her queue from the desk, a sipp caller (playing `audio`) dials it,
    and she answers in the page: returns the caller, on call with her."""
    await page.click("#btn-login")
    await page.wait_for_selector("#state[data-state=available]", timeout=10_000)
    caller = SippCaller(asterisk, QUEUE_NUMBER, caller="0644556677", audio=audio, talk_seconds=None, max_seconds=60)
    await caller.start()
    try:
        await page.wait_for_selector("#browser-phone[data-call=ringing]", timeout=10_000)
        await page.click("#bp-answer")
        await page.wait_for_selector("#state[data-state=on_call]", timeout=10_000)
    except BaseException:
        await caller.stop()
        raise
    return caller


async def close_browser_phone(page) -> None:
    """Unregister and close the WebSocket as the page does when the agent switches phones (a
    page that just vanishes leaves Asterisk an abrupt TLS close, logged as an ERROR)."""
    await page.evaluate("() => window.ccsBrowserPhone.stop()")
    await page.wait_for_selector("#browser-phone[data-registration=off]")


async def page_stats(page) -> dict:
    return await page.evaluate("() => window.ccsBrowserPhone.stats()")


def packets_between(capture: RtpCapture, start: float, end: float) -> int:
    return sum(1 for at, _pt, _payload in capture.packets if start <= at < end)


def loud(capture: RtpCapture, since: float, window: float = 0.2) -> bool:
    """A window of audio louder than silence (RMS > 1000) received since `since`."""
    now, at = time.monotonic(), since
    while at + window <= now:
        if capture.rms(at, at + window) > 1000:
            return True
        at += window
    return False


async def test_queue_call_rings_in_the_page_and_audio_flows_both_ways(asterisk, tmp_path):
    async with browser_server(asterisk, tmp_path) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        await asyncio.to_thread(
            rt.customers.create_customer, phones=["06 12 34 56 78"], first_name="Hélène", last_name="Dupont"
        )
        async with chromium(WEBRTC_ARGS) as browser:
            page = await open_desk_with_browser_phone(browser, srv, "alice")
            contacts = await asyncio.to_thread(asterisk.cli, "pjsip show contacts")
            assert "alice~webrtc/" in contacts
            await page.click("#btn-login")
            await page.wait_for_selector("#state[data-state=available]", timeout=10_000)
            # the ACD rings the phone the agent chose
            members = await queue_members(rt)
            assert "PJSIP/alice~webrtc" in members and "PJSIP/alice" not in members
            assert rt.acd.phone_of("alice") == "browser"
            assert accounts["alice"].sip_username == "alice"

            caller = SippCaller(asterisk, QUEUE_NUMBER, caller="0033612345678", talk_seconds=None, max_seconds=60)
            await caller.start()
            try:
                # it rings in the page, with the caller's file on screen, until the agent answers
                await page.wait_for_selector("#browser-phone[data-call=ringing]", timeout=10_000)
                await page.wait_for_selector("#customer-known:not([hidden])", timeout=5_000)
                assert "Hélène Dupont" in await page.text_content("#customer-name")
                assert "0033612345678" in await page.text_content("#bp-peer")
                assert rt.agent_board.agents["alice"].state is AgentState.RINGING
                heard_by_caller = RtpCapture(caller._run.media_port).start()
                try:
                    await page.click("#bp-answer")
                    await page.wait_for_selector("#browser-phone[data-call=active]", timeout=10_000)
                    await page.wait_for_selector("#state[data-state=on_call]", timeout=10_000)
                    answered = time.monotonic()
                    # the browser hears the caller: its peer connection receives RTP ...
                    stats = await until(lambda: _received(page, 50), 10, "50 RTP packets received by the browser")
                    assert stats["outbound_packets"] > 0
                    # ... and the caller receives the browser's audio through Asterisk
                    await until(
                        lambda: packets_between(heard_by_caller, answered, time.monotonic()) >= 50,
                        10,
                        "50 RTP packets from the browser at the caller",
                    )
                    # what the caller hears is the browser's microphone (Chromium's fake one beeps)
                    await until(lambda: loud(heard_by_caller, answered), 10, "the browser's beep at the caller")
                finally:
                    heard_by_caller.stop()
                # the page hangs up: the call ends on both sides, the agent goes to wrap-up
                await page.click("#bp-hangup")
                await page.wait_for_selector("#browser-phone[data-call=idle]", timeout=10_000)
                await caller.wait(timeout=10)
                await page.wait_for_selector("#state[data-state=wrap_up]", timeout=10_000)
            finally:
                await caller.stop()
                await close_browser_phone(page)


async def _received(page, count: int):
    """The page's stats once its peer connection received `count` RTP packets carrying sound
    (the audio energy WebRTC measures on them is above silence)."""
    stats = await page_stats(page)
    return stats if stats["inbound_packets"] >= count and stats["inbound_energy"] > 0 else None


async def test_call_from_the_page_reaches_a_sipp_phone_with_audio_both_ways(asterisk, tmp_path):
    async with browser_server(asterisk, tmp_path) as srv:
        accounts = await setup_call_center(srv)
        phones = await start_phones(asterisk, {"bruno": accounts["bruno"]}, bruno=Answer())
        try:
            async with chromium(WEBRTC_ARGS) as browser:
                page = await open_desk_with_browser_phone(browser, srv, "alice")
                heard_by_bruno = RtpCapture(phones["bruno"]._run.media_port).start()
                try:
                    await page.fill("#bp-dial", "bruno")
                    await page.click("#bp-dial-form button[type=submit]")
                    await page.wait_for_selector("#browser-phone[data-call=active]", timeout=10_000)
                    await phones["bruno"].wait_calls("answered", 1, timeout=10)
                    answered = time.monotonic()
                    await until(lambda: _received(page, 50), 10, "50 RTP packets from bruno in the browser")
                    await until(
                        lambda: packets_between(heard_by_bruno, answered, time.monotonic()) >= 50,
                        10,
                        "50 RTP packets from the browser at bruno's phone",
                    )
                    await until(lambda: loud(heard_by_bruno, answered), 10, "the browser's beep at bruno's phone")
                finally:
                    heard_by_bruno.stop()
                # the agent's own number is shown, as from their softphone
                [call] = phones["bruno"].active_calls
                assert (call.caller, call.dialed) == ("alice", "bruno")
                await page.click("#bp-hangup")
                await page.wait_for_selector("#browser-phone[data-call=idle]", timeout=10_000)
                await phones["bruno"].wait_calls("ended", 1, timeout=10)
                await close_browser_phone(page)
        finally:
            for phone in phones.values():
                await phone.stop()
