"""The agent desk in English then French, in a real Chromium, with the real Asterisk.

An English browser (locale en-US) gets the desk in English; the agent picks French in the page
header: the page comes back in French, and so does a live update pushed over the WebSocket
afterwards; a supervisor's English wallboard shows the live agents' states in English. The choice
is stored on the user (users.language): SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.test_inbound import setup_call_center
from tests.support.browser import chromium, log_in
from tests.support.db import postgres_schema_url
from tests.support.server import Server, endpoint_of

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def storage(request):
    """The settings' storage section: the default SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield {}
    else:
        with postgres_schema_url() as url:
            yield {"storage": {"database_url": url}}


async def live(page) -> None:
    # a function: an expression would be eval'd, which the CSP refuses
    await page.wait_for_function("() => document.body.dataset.live === 'yes'")


async def test_english_browser_sees_the_desk_in_english_then_switches_to_french(asterisk, tmp_path, storage):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk, **storage) as srv:
        rt = srv.runtime
        await setup_call_center(srv)
        async with chromium() as browser:
            context = await browser.new_context(locale="en-US")
            page = await context.new_page()
            await log_in(page, srv.base_url, "alice", "password-1234")
            await page.goto(srv.base_url + "/agent")
            await page.wait_for_selector("#btn-login")
            await live(page)
            assert await page.get_attribute("html", "lang") == "en"
            assert (await page.text_content("#state-card h1")).startswith("State:")
            assert (await page.text_content("#btn-login")).strip() == "Log in"
            assert (await page.text_content("#call-control button[data-cc=hold]")).strip() == "Hold"
            assert await page.get_attribute("#language-select", "aria-label") == "Language"
            await page.wait_for_selector("#state[data-state=logged_out]:has-text('Logged out')")

            # the live state, in English
            await page.click("#btn-login")
            await page.wait_for_selector("#state[data-state=available]:has-text('Available')", timeout=10_000)

            # a supervisor's English wallboard: headings and the live agents' states in English
            await asyncio.to_thread(rt.users.create_user, "sophie", "password-1234", role="supervisor")
            await asyncio.to_thread(rt.acd_repo.give_scope, "sophie", "queue", "support")
            board = await (await browser.new_context(locale="en-US")).new_page()
            await log_in(board, srv.base_url, "sophie", "password-1234")
            await board.goto(srv.base_url + "/wallboard")
            assert (await board.text_content("h1")).startswith("Queues")
            await board.wait_for_selector("tr[data-agent=alice] td.state-available:has-text('Available')")

            # the agent picks French: saved, the page reloads in French
            async with page.expect_navigation():
                await page.select_option("#language-select", "fr")
            await page.wait_for_selector("html[lang=fr]")
            await page.wait_for_selector("#state[data-state=available]")
            await live(page)
            assert (await page.text_content("#state-card h1")).startswith("État :")
            assert await page.text_content("#state") == "Disponible"
            assert (await page.text_content("#call-control button[data-cc=hold]")).strip() == "Mettre en attente"
            user = await asyncio.to_thread(rt.users.get_by_username, "alice")
            assert user.language == "fr"

            # a live update pushed after the switch (a pause asked from elsewhere): French
            api = await srv.login("alice", "password-1234")
            resp = await api.post("/api/agent/pause", json={"reason": "lunch"}, headers={"X-CSRF-Token": api.csrf})
            assert resp.status == 200, await resp.text()
            await page.wait_for_selector("#state[data-state=paused]", timeout=10_000)
            assert await page.text_content("#state") == "En pause"
            assert await page.text_content("#pause-reason") == "Motif : lunch"

            # the choice is the user's: another English browser opens the desk in French
            other = await (await browser.new_context(locale="en-US")).new_page()
            await log_in(other, srv.base_url, "alice", "password-1234")
            await other.goto(srv.base_url + "/agent")
            await other.wait_for_selector("#state[data-state=paused]")
            assert await other.get_attribute("html", "lang") == "fr"
            assert await other.text_content("#state") == "En pause"

            await page.click("#btn-logout")
            await page.wait_for_selector("#state[data-state=logged_out]:has-text('Déconnecté')", timeout=10_000)
