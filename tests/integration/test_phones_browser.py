"""/admin/phones in a real Chromium: the admin gives a supervisor a phone, sees its settings and
QR code once (the CSP lets the inline SVG show), and never again on the next visit."""

from __future__ import annotations

import asyncio

import pytest

from ccserver.app import Runtime
from ccserver.settings import Settings
from tests.support.browser import chromium, log_in, served_app

pytestmark = pytest.mark.browser


async def test_admin_makes_a_phone_in_the_browser_and_its_password_is_shown_once(tmp_path):
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None)
    await asyncio.to_thread(runtime.database.upgrade)
    await asyncio.to_thread(runtime.users.create_user, "root", "password-1234", role="admin")
    await asyncio.to_thread(runtime.users.create_user, "nadia", "password-1234", role="supervisor")
    async with served_app(runtime) as base_url, chromium() as browser:
        page = await browser.new_page()
        refused: list[str] = []  # the CSP's refusals show in the console
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        await log_in(page, base_url, "root", "password-1234")
        await page.goto(base_url + "/admin/phones")
        await page.click("tr[data-username=nadia] form.phone-create button")
        await page.wait_for_selector("#issued")
        password = (await page.text_content("#sip-password")).strip()
        assert len(password) >= 20
        assert (await page.text_content("#sip-username")).strip() == "nadia"
        box = await page.locator("#linphone-qr svg").bounding_box()
        assert box is not None and box["width"] >= 80 and box["height"] >= 80
        assert password in await page.text_content("#zoiper-text")
        assert await page.get_attribute("tr[data-username=nadia]", "data-has-phone") == "yes"

        await page.goto(base_url + "/admin/phones")  # the next visit: the phone, not its password
        assert await page.locator("#issued").count() == 0
        assert password not in await page.content()
        await page.click("tr[data-username=nadia] form.phone-password button")
        await page.wait_for_selector("#issued")
        assert (await page.text_content("#sip-password")).strip() != password
        assert refused == []
