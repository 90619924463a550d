"""Times and numbers in the page's language (<html lang>), not the browser's: a French page's
wallboard clock reads 15:30:13, never 3:30:13 PM, even in an English browser (Chromium's
default, how the "3:30:13 PM" was seen) whose user chose French."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from ccserver.app import Runtime
from ccserver.core.clock import ManualClock
from ccserver.settings import Settings
from tests.support.browser import chromium, log_in, served_app

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
AT = datetime(2026, 12, 5, 14, 30, 13, tzinfo=UTC)  # 15:30:13 in Paris (winter: UTC+1)


def spaces(text: str) -> str:
    """French separates thousands and "%" with a narrow no-break space: compare as spaces."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


@pytest.mark.parametrize(("locale", "saved"), [("fr-FR", None), ("en-US", "fr")])
async def test_wallboard_clock_and_numbers_follow_the_page_language(tmp_path, locale, saved):
    """A French page (a French browser, or an English one whose user chose French) reads
    15:30:13 and 85,5 %, whatever the browser's own language."""
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None, clock=ManualClock(AT))
    async with served_app(runtime) as base_url, chromium() as browser:
        user = await asyncio.to_thread(runtime.users.create_user, "sophie", PASSWORD, role="supervisor")
        if saved:
            await asyncio.to_thread(runtime.users.set_language, user.id, saved)
        context = await browser.new_context(locale=locale, timezone_id="Europe/Paris")
        page = await context.new_page()
        await log_in(page, base_url, "sophie", PASSWORD)
        await page.goto(base_url + "/wallboard")
        await page.wait_for_function("() => document.getElementById('board-at').textContent !== ''")
        assert await page.get_attribute("html", "lang") == "fr"
        assert await page.text_content("#board-at") == "· 15:30:13"
        assert await page.evaluate("() => navigator.language") == locale  # the browser's own
        assert spaces(await page.evaluate("() => ccsLocale.percent(85.5)")) == "85,5 %"
        assert spaces(await page.evaluate("() => ccsLocale.number(1234.5)")) == "1 234,5"
        assert await page.evaluate("() => ccsLocale.dateTime('2026-12-05T14:30:13+00:00')") == "05/12/2026 15:30"
        assert await page.evaluate("() => ccsLocale.duration(3725)") == "1:02:05"
        await context.close()


async def test_an_english_page_writes_english_times_and_numbers(tmp_path):
    """An English browser without a saved choice gets the English page, and its formats."""
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None, clock=ManualClock(AT))
    async with served_app(runtime) as base_url, chromium() as browser:
        await asyncio.to_thread(runtime.users.create_user, "sophie", PASSWORD, role="supervisor")
        context = await browser.new_context(locale="en-US", timezone_id="Europe/Paris")
        page = await context.new_page()
        await log_in(page, base_url, "sophie", PASSWORD)
        await page.goto(base_url + "/wallboard")
        await page.wait_for_function("() => document.getElementById('board-at').textContent !== ''")
        assert await page.get_attribute("html", "lang") == "en"
        assert await page.text_content("#board-at") == "· 03:30:13 PM"
        assert spaces(await page.evaluate("() => ccsLocale.percent(85.5)")) == "85.5%"
        assert await page.evaluate("() => ccsLocale.number(1234.5)") == "1,234.5"
        await context.close()
