"""/admin/users in a real Chromium: the admin creates a user (the generated password shown once
works), then disables them: the row says so and the user's own open page ends."""

from __future__ import annotations

import asyncio

import pytest

from ccserver.app import Runtime
from ccserver.settings import Settings
from tests.support.browser import chromium, log_in, served_app

pytestmark = pytest.mark.browser


async def test_admin_creates_then_disables_a_user_in_the_browser(tmp_path):
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None)
    await asyncio.to_thread(runtime.database.upgrade)
    await asyncio.to_thread(runtime.users.create_user, "root", "password-1234", role="admin")
    async with served_app(runtime) as base_url, chromium() as browser:
        page = await (await browser.new_context()).new_page()
        refused: list[str] = []  # the CSP's refusals show in the console
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        await log_in(page, base_url, "root", "password-1234")
        await page.goto(base_url + "/admin/users")
        await page.fill("#user-create-form input[name=username]", "nadia")
        await page.fill("#user-create-form input[name=display_name]", "Nadia Benali")
        await page.select_option("#user-create-form select[name=role]", "supervisor")
        await page.click("#user-create-form button[type=submit]")
        await page.wait_for_selector("#password-shown")
        password = (await page.text_content("#shown-password")).strip()
        assert len(password) >= 16
        assert await page.get_attribute("tr[data-user=nadia]", "data-active") == "yes"

        # nadia logs in with it, in her own browser, and opens a live page
        nadia = await (await browser.new_context()).new_page()
        await log_in(nadia, base_url, "nadia", password)
        await nadia.goto(base_url + "/wallboard")
        await nadia.wait_for_function("() => document.body.dataset.live === 'yes'")

        await page.goto(base_url + "/admin/users")
        assert password not in await page.content()  # shown once
        await page.click("tr[data-user=nadia] form.user-disable button")
        await page.wait_for_selector("#user-done")
        assert await page.get_attribute("tr[data-user=nadia]", "data-active") == "no"
        assert "désactivé" in await page.text_content("tr[data-user=nadia] td.active")
        await nadia.wait_for_url(base_url + "/login", timeout=5_000)
        assert refused == []
