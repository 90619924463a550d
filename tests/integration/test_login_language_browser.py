"""The login page's language selector, in a real (French) Chromium, with the real Asterisk.

A French browser opens the login page in French; the agent picks English there with the
keyboard only (the selector is a plain form: no script needed), the login page comes back in
English, and after logging in the desk is in English, live state included; the choice is saved
on the user. The domain's messages follow: a refused action on the desk is explained in English.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.test_inbound import setup_call_center
from tests.support.browser import chromium
from tests.support.server import Server, endpoint_of

FR = {"Accept-Language": "fr-FR,fr;q=0.9"}

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]


async def test_choosing_english_on_the_login_page_gives_the_desk_in_english(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        await setup_call_center(srv)
        async with chromium() as browser:
            context = await browser.new_context(java_script_enabled=False)  # the form works without JS
            page = await context.new_page()
            await page.goto(srv.base_url + "/login")
            assert await page.get_attribute("html", "lang") == "fr"
            assert (await page.text_content("h1")).strip() == "Connexion"

            # keyboard only: Tab from the password field reaches the login button, then the
            # language list and its button
            await page.focus("input[name=password]")
            for _ in range(10):
                await page.keyboard.press("Tab")
                if await page.evaluate("() => document.activeElement.id") == "login-language":
                    break
            assert await page.evaluate("() => document.activeElement.id") == "login-language"
            await page.select_option("#login-language", "en")  # what arrow keys do on a focused list
            await page.keyboard.press("Tab")
            assert await page.evaluate("() => document.activeElement.id") == "login-language-apply"
            async with page.expect_navigation():
                await page.keyboard.press("Enter")
            assert await page.get_attribute("html", "lang") == "en"
            assert (await page.text_content("h1")).strip() == "Log in"
            assert await page.input_value("#login-language") == "en"
            await context.close()

            # the same with scripts on, as an agent uses it, then the desk
            context = await browser.new_context()
            page = await context.new_page()
            await page.goto(srv.base_url + "/login")
            assert await page.get_attribute("html", "lang") == "fr"
            await page.select_option("#login-language", "en")
            async with page.expect_navigation():
                await page.click("#login-language-apply")
            assert (await page.text_content("h1")).strip() == "Log in"
            await page.fill("input[name=username]", "alice")
            await page.fill("input[name=password]", "password-1234")
            async with page.expect_navigation():
                await page.click("form[action='/login'] button[type=submit]")
            await page.goto(srv.base_url + "/agent")
            await page.wait_for_selector("#btn-login")
            await page.wait_for_function("() => document.body.dataset.live === 'yes'")
            assert await page.get_attribute("html", "lang") == "en"
            assert (await page.text_content("#state-card h1")).startswith("State:")
            assert (await page.text_content("#btn-login")).strip() == "Log in"
            await page.wait_for_selector("#state[data-state=logged_out]:has-text('Logged out')")
            await page.click("#btn-login")
            await page.wait_for_selector("#state[data-state=available]:has-text('Available')", timeout=10_000)
            user = await asyncio.to_thread(rt.users.get_by_username, "alice")
            assert user.language == "en"

            # a refusal that names a value, explained in English (French before the choice)
            csrf = await page.get_attribute("meta[name=csrf-token]", "content")
            resp = await page.request.post(
                srv.base_url + "/api/agent/pause", data={"reason": "siesta"}, headers={"X-CSRF-Token": csrf}
            )
            body = await resp.json()
            assert resp.status == 400 and body["code"] == "invalid-input" and body["details"]["field"] == "reason"
            assert body["title"] == "Invalid input"
            assert body["message"] == "unknown pause reason 'siesta'"
            api = await srv.login("alice", "password-1234")  # another client: French by default
            await asyncio.to_thread(rt.users.set_language, user.id, None)
            resp = await api.post(
                "/api/agent/pause", json={"reason": "siesta"}, headers={"X-CSRF-Token": api.csrf, **FR}
            )
            body = await resp.json()
            assert body["message"] == "motif de pause inconnu 'siesta'" and body["details"]["field"] == "reason"
