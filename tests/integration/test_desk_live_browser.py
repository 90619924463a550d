"""The agent desk that loses nothing, in a real Chromium against the real Asterisk: a page
frozen (a hidden, throttled tab) while a queue call arrives and is put on hold shows the right
call and state within 2 s of being thawed; a WebSocket dropped during a call keeps the call on
screen, says it reconnects, resyncs what it missed and gets later events; and the desk worked
from the keyboard only at 1366x768, its changes announced through aria-live regions."""

from __future__ import annotations

import asyncio

import pytest

from ccserver.adapters.web.keys import REALTIME
from ccserver.capabilities.agents.model import AgentState
from tests.integration.test_inbound import QUEUE_NUMBER, setup_call_center, start_phones
from tests.support.browser import chromium, log_in
from tests.support.cdp import cdp_page
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer, SippCaller

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]

# the page records whether the call card was ever hidden (a blank desk) from now on
WATCH_BLANK = """() => {
  window.__blank = false;
  const card = document.getElementById('call-card');
  new MutationObserver(() => { if (card.hidden) window.__blank = true; })
    .observe(card, { attributes: true, attributeFilter: ['hidden'] });
}"""


async def open_desk(browser, srv, *, viewport=None):
    page = await browser.new_page(viewport=viewport)
    await log_in(page, srv.base_url, "alice", "password-1234")
    await page.goto(srv.base_url + "/agent")
    await page.wait_for_function(
        "() => document.body.dataset.live === 'yes' && document.body.dataset.deskLink === 'live'"
    )
    return page


async def call_of(rt, username: str = "alice") -> str:
    await until(lambda: rt.agent_board.agents[username].state is AgentState.ON_CALL, 20)
    return rt.agent_board.agents[username].call.uniqueid


async def test_a_frozen_desk_shows_the_call_it_missed_as_soon_as_it_is_thawed(asterisk, tmp_path):
    # resync_after 0: a desk shown again re-reads its state however short its absence (here a
    # few seconds stand for the minutes a background tab stays frozen)
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk, web={"resync_after": 0}) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv, wrapup=30)
        phones = await start_phones(asterisk, {"alice": accounts["alice"]}, alice=Answer(audio=True, audio_seconds=60))
        caller = None
        try:
            async with cdp_page() as page:  # bare DevTools protocol: Playwright keeps pages visible
                await page.log_in(srv.base_url, "alice", "password-1234")
                await page.goto(srv.base_url + "/agent")
                await page.wait_for("document.body.dataset.deskLink === 'live' && document.body.dataset.deskResyncs")
                await page.click("#btn-login")
                await page.wait_for("document.getElementById('state').dataset.state === 'available'")
                resyncs = int(await page.eval("document.body.dataset.deskResyncs"))

                # the tab goes to the background and Chromium freezes it: no script runs in it
                await page.freeze()
                caller = SippCaller(asterisk, QUEUE_NUMBER, caller="0612345678", talk_seconds=None, max_seconds=60)
                await caller.start()
                uid = await call_of(rt)
                await rt.call_control.hold("alice", "agent", uid)  # a state change it misses too
                await until(lambda: rt.call_control.board.calls[uid].held, 10)

                await page.thaw()
                thawed = asyncio.get_running_loop().time()
                await page.wait_for(
                    "document.getElementById('state').dataset.state === 'on_call'"
                    " && !document.getElementById('call-card').hidden"
                    " && !document.getElementById('screen-pop').hidden"
                    " && document.getElementById('call-control').dataset.held === 'yes'",
                    timeout=2.0,
                )
                assert asyncio.get_running_loop().time() - thawed < 2.0
                assert await page.eval("document.getElementById('call-number').textContent") == "0612345678"
                assert "en attente" in await page.eval("document.getElementById('cc-state').textContent")
                # the desk read its whole state again on coming back, not only the queued messages
                await page.wait_for(f"Number(document.body.dataset.deskResyncs) > {resyncs}", timeout=2.0)
                # (the socket may also have been dropped meanwhile: then it resyncs on reconnecting too)
                assert "resumed" in (await page.eval("document.body.dataset.deskResyncReasons")).split()
                assert "0612345678" in await page.eval("document.getElementById('desk-alert').textContent")
        finally:
            if caller is not None:
                await caller.stop()
            for phone in phones.values():
                await phone.stop()


async def test_a_dropped_socket_keeps_the_call_on_screen_and_resyncs_on_reconnection(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv, wrapup=30)
        phones = await start_phones(asterisk, {"alice": accounts["alice"]}, alice=Answer(audio=True, audio_seconds=60))
        caller = None
        try:
            async with chromium() as browser:
                page = await open_desk(browser, srv)
                await page.click("#btn-login")
                await page.wait_for_selector("#state[data-state=available]", timeout=10_000)
                caller = SippCaller(asterisk, QUEUE_NUMBER, caller="0698765432", talk_seconds=None, max_seconds=60)
                await caller.start()
                uid = await call_of(rt)
                await page.wait_for_selector("#call-control:not([hidden])", timeout=5_000)
                await page.evaluate(WATCH_BLANK)

                # the network goes, the server drops the socket (as when it restarts)
                await page.context.set_offline(True)
                await srv.server.app[REALTIME].close_all()
                await page.wait_for_selector("#desk-link:not([hidden])", timeout=5_000)
                assert "reconnexion" in (await page.text_content("#desk-link")).lower()
                assert await page.evaluate("() => document.body.dataset.deskLink") == "reconnecting"
                # meanwhile the call is put on hold and muted: the page cannot hear of it
                await rt.call_control.hold("alice", "agent", uid)
                await rt.call_control.mute("alice", "agent", uid, True)
                await until(lambda: rt.call_control.board.calls[uid].held, 10)
                await asyncio.sleep(1.5)  # at least one reconnection attempt fails offline
                assert await page.is_visible("#call-card") and await page.text_content("#call-number") == "0698765432"

                await page.context.set_offline(False)
                await page.wait_for_selector("#call-control[data-held=yes]", timeout=15_000)
                await page.wait_for_function("() => document.body.dataset.deskLink === 'live'", timeout=5_000)
                assert await page.is_hidden("#desk-link")
                assert await page.evaluate("() => document.body.dataset.deskResyncReason") == "reconnected"
                assert "micro coupé" in await page.text_content("#cc-state")
                assert await page.evaluate("() => window.__blank") is False  # never a blank desk

                # later events still arrive over the new socket
                await rt.call_control.resume("alice", "agent", uid)
                await page.wait_for_selector("#call-control[data-held=no]", timeout=5_000)
                # a reloaded desk shows the call with its screen-pop again (from the snapshot)
                await page.reload()
                await page.wait_for_selector("#screen-pop:not([hidden])", timeout=5_000)
                assert await page.text_content("#call-number") == "0698765432"
                await page.wait_for_selector("#call-control:not([hidden])", timeout=5_000)
                assert "micro coupé" in await page.text_content("#cc-state")
                await rt.call_control.hangup("alice", "agent", uid)
                await page.wait_for_selector("#state[data-state=wrap_up]", timeout=15_000)
                await page.wait_for_selector("#call-control[hidden]", state="attached", timeout=5_000)
        finally:
            if caller is not None:
                await caller.stop()
            for phone in phones.values():
                await phone.stop()


async def announced(page, region: str, words: str) -> None:
    await page.wait_for_function(
        "([id, w]) => document.getElementById(id).textContent.includes(w)", arg=[region, words], timeout=15_000
    )


async def test_a_call_worked_from_the_keyboard_only_at_1366x768_is_announced(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv, wrapup=60)
        phones = await start_phones(asterisk, {"alice": accounts["alice"]}, alice=Answer(audio=True, audio_seconds=60))
        caller = None
        try:
            async with chromium() as browser:
                page = await open_desk(browser, srv, viewport={"width": 1366, "height": 768})
                assert await page.get_attribute("#desk-announce", "aria-live") == "polite"
                assert await page.get_attribute("#desk-alert", "aria-live") == "assertive"
                await page.keyboard.press("Alt+Shift+K")  # the help lists the shortcuts
                await page.wait_for_selector("#desk-keys[open] dl", state="visible")
                keys = await page.inner_text("#desk-keys dl")
                assert "Alt+Maj+X" in keys.replace(" ", "") and "raccrocher" in keys
                assert await page.evaluate("() => document.activeElement.tagName") == "SUMMARY"
                await page.keyboard.press("Alt+Shift+K")
                await page.wait_for_selector("#desk-keys dl", state="hidden")

                await page.keyboard.press("Alt+Shift+L")  # log in to the queues
                await page.wait_for_selector("#state[data-state=available]", timeout=10_000)
                await announced(page, "desk-announce", "État : Disponible")

                caller = SippCaller(asterisk, QUEUE_NUMBER, caller="0611223344", talk_seconds=None, max_seconds=60)
                await caller.start()
                await announced(page, "desk-alert", "Appel entrant de 0611223344")
                uid = await call_of(rt)
                await page.wait_for_selector("#call-control:not([hidden])", timeout=5_000)
                await announced(page, "desk-announce", "État : En communication")

                # 1366x768: no horizontal scrollbar, the call controls in view without scrolling
                layout = await page.evaluate(
                    """() => {
                      const r = document.getElementById('call-control').getBoundingClientRect();
                      return { scroll: document.documentElement.scrollWidth, width: document.documentElement.clientWidth,
                               top: r.top, bottom: r.bottom, right: r.right, height: window.innerHeight, y: window.scrollY };
                    }"""
                )
                assert layout["scroll"] <= layout["width"], layout
                assert layout["y"] == 0 and 0 <= layout["top"] and layout["bottom"] <= layout["height"], layout
                assert layout["right"] <= layout["width"], layout

                await page.keyboard.press("Alt+Shift+H")
                await page.wait_for_selector("#call-control[data-held=yes]", timeout=5_000)
                await announced(page, "desk-announce", "Appel en attente")
                await page.keyboard.press("Alt+Shift+H")
                await page.wait_for_selector("#call-control[data-held=no]", timeout=5_000)
                await announced(page, "desk-announce", "Appel repris")
                await page.keyboard.press("Alt+Shift+M")
                await announced(page, "desk-announce", "Micro coupé")
                assert rt.call_control.board.calls[uid].muted
                await page.keyboard.press("Alt+Shift+X")  # hang up
                await page.wait_for_selector("#state[data-state=wrap_up]", timeout=10_000)
                await announced(page, "desk-announce", "État : Post-appel")

                # qualify the call with the keyboard: focus on the code, pick it, tab to save
                await page.keyboard.press("Alt+Shift+E")
                assert await page.evaluate("() => document.activeElement.id") == "disposition"
                await page.keyboard.press("ArrowDown")  # "resolved"
                await page.keyboard.press("Tab")
                await page.keyboard.type("Réglé au téléphone")
                focus_seen = await page.evaluate(
                    "() => getComputedStyle(document.activeElement).outlineStyle !== 'none'"
                )
                assert focus_seen, "the focused field shows no focus outline"
                await page.keyboard.press("Tab")  # the ticket subject, left empty
                await page.keyboard.press("Tab")  # the save button
                assert await page.evaluate("() => document.activeElement.textContent") == "Enregistrer"
                await page.keyboard.press("Enter")
                await page.wait_for_selector("#wrapup-saved:has-text('Enregistré')", timeout=5_000)

                await page.keyboard.press("Alt+Shift+P")  # pause (the first reason)
                await page.wait_for_selector("#state[data-state=paused]", timeout=10_000)
                await announced(page, "desk-announce", "État : En pause")
                await page.keyboard.press("Alt+Shift+A")  # available again
                await page.wait_for_selector("#state[data-state=available]", timeout=10_000)
                await announced(page, "desk-announce", "État : Disponible")
                await rt.call_writer.flush_now()
                [row] = await asyncio.to_thread(rt.acd_repo.calls)
                assert (row.disposition, row.notes) == ("resolved", "Réglé au téléphone")
        finally:
            if caller is not None:
                await caller.stop()
            for phone in phones.values():
                await phone.stop()
