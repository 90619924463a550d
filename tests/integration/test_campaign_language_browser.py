"""A campaign's language in a real Chromium: created in French from /outbound, changed to English
on its page (PATCH, the page shows it after reloading), and a refused value shown by field."""

from __future__ import annotations

import asyncio

import pytest

from ccserver.app import Runtime
from ccserver.settings import Settings
from tests.support.browser import chromium, log_in, served_app

pytestmark = pytest.mark.browser


async def test_a_supervisor_sets_a_campaigns_language_in_the_browser(tmp_path):
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None)
    await asyncio.to_thread(runtime.database.upgrade)
    await asyncio.to_thread(runtime.users.create_user, "sup", "password-1234", role="supervisor")
    campaigns = runtime.outbound.campaigns
    campaigns.installed_languages = lambda: ["en", "fr"]  # what Asterisk would have sounds for
    async with served_app(runtime) as base_url, chromium() as browser:
        page = await browser.new_page()
        refused: list[str] = []  # the CSP's refusals show in the console
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        await log_in(page, base_url, "sup", "password-1234")
        await page.goto(base_url + "/outbound")
        await page.fill("#campaign-create input[name=name]", "Automne")
        await page.select_option("#campaign-create select[name=language]", "fr")
        await page.click("#campaign-create button[type=submit]")
        await page.wait_for_url(base_url + "/outbound/campaigns/*")
        cid = int(page.url.rsplit("/", 1)[1])
        assert (await campaigns.campaign(cid))["language"] == "fr"
        assert await page.input_value("#campaign-language select[name=language]") == "fr"

        await page.select_option("#campaign-language select[name=language]", "en")
        async with page.expect_navigation():  # saved, then the page reloads
            await page.click("#campaign-language button[type=submit]")
        assert await page.input_value("#campaign-language select[name=language]") == "en"
        assert (await campaigns.campaign(cid))["language"] == "en"

        # a language that is no longer installed: the error is shown, nothing changes
        campaigns.installed_languages = lambda: ["fr"]
        await page.click("#campaign-language button[type=submit]")
        error = page.locator("#campaign-language [data-error]")
        await error.filter(has_text="language").wait_for()
        assert "pas de sons en 'en'" in await error.text_content()  # the French browser's language
        assert (await campaigns.campaign(cid))["language"] == "en"
        assert refused == []
