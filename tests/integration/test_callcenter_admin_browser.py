"""/admin/callcenter in a real Chromium on a fresh install: the admin creates a skill, a queue
and a pause code; an agent pauses with that code on the desk (seen by Asterisk); the admin's
new skill level changes the agent's penalty in Asterisk at once."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.test_inbound import queue_members, start_phones
from tests.support.browser import chromium, log_in
from tests.support.server import Server, endpoint_of, until

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]


async def test_admin_creates_a_skill_and_a_pause_code_then_an_agent_pauses_with_it(asterisk, tmp_path):
    info = asterisk.info
    async with Server(tmp_path, endpoint_of(info), config_writer=asterisk, asterisk={"sip_port": info.sip_port}) as srv:
        rt = srv.runtime
        await until(srv.ok, 15)
        await asyncio.to_thread(rt.users.create_user, "root", "password-1234", role="admin")
        assert await rt.callcenter.skills() == [] and await rt.callcenter.pause_codes() == []  # fresh install
        phones = {}
        try:
            async with chromium() as browser:
                admin = await browser.new_page()
                errors = []
                admin.on("pageerror", lambda exc: errors.append(str(exc)))
                await log_in(admin, srv.base_url, "root", "password-1234")
                await admin.goto(srv.base_url + "/admin/callcenter")
                await admin.fill("#skill-form input[name=name]", "fr")
                await admin.fill("#skill-form input[name=label]", "Français")
                await admin.click("#skill-form button[type=submit]")
                await admin.wait_for_selector("#skills tr[data-skill=fr]")

                await admin.click("#queue-new")
                await admin.fill("#queue-fields input[name=name]", "support")
                await admin.fill("#queue-fields input[name=required_skills]", "fr:1")
                await admin.fill("#queue-fields input[name=max_callers]", "12")
                await admin.click("#queue-form button[type=submit]")
                await admin.wait_for_selector("#cc-done:has-text('File support créée')")
                assert (await rt.pbx.ami.queue_params())["support"]["max"] == "12"  # live in Asterisk

                # a bad value is refused naming the field, and nothing changes
                await admin.fill("#pause-form input[name=code]", "Bad Code")
                await admin.click("#pause-form button[type=submit]")
                await admin.wait_for_selector("#cc-error:has-text('champ : code')")
                await admin.fill("#pause-form input[name=code]", "meeting")
                await admin.fill("#pause-form input[name=label]", "Réunion d'équipe")
                await admin.check("#pause-form input[name=paid]")
                await admin.fill("#pause-form input[name=max_minutes]", "30")
                await admin.click("#pause-form button[type=submit]")
                await admin.wait_for_selector("#pause-codes tr[data-code=meeting]")
                assert "oui" in await admin.text_content("#pause-codes tr[data-code=meeting]")

                # an agent (made on /admin/acd) logs in on the desk and pauses with the new code
                account = await rt.acd.create_agent("alice", "password-1234", "Alice", {"fr": 5}, "root")
                phones = await start_phones(asterisk, {"alice": account})
                desk = await browser.new_page()
                await log_in(desk, srv.base_url, "alice", "password-1234")
                await desk.goto(srv.base_url + "/agent")
                await desk.wait_for_function("() => document.body.dataset.live === 'yes'")
                assert await desk.eval_on_selector_all(
                    "#pause-select option", "options => options.map(o => [o.value, o.textContent])"
                ) == [["meeting", "Réunion d'équipe"]]
                await desk.click("#btn-login")
                await desk.wait_for_selector("#state[data-state=available]", timeout=10_000)
                await desk.select_option("#pause-select", "meeting")
                await desk.click("#btn-pause")
                await desk.wait_for_selector("#state[data-state=paused]", timeout=10_000)
                member = (await queue_members(rt))["PJSIP/alice"]
                assert (member["pausedreason"], member["penalty"]) == ("meeting", "5")

                # the admin raises her level: her penalty in Asterisk changes at once
                await admin.reload()
                await admin.fill("#levels tr[data-agent=alice] input[name=fr]", "9")
                await admin.click("#levels tr[data-agent=alice] button")
                await admin.wait_for_selector("#cc-done:has-text('support : 1')")
                assert (await queue_members(rt))["PJSIP/alice"]["penalty"] == "1"
                assert errors == []
        finally:
            for phone in phones.values():
                await phone.stop()


async def test_the_first_queue_form_shows_every_setting_with_its_default(tmp_path):
    """On a fresh install (no queue to copy), "Nouvelle file" offers every setting, holidays
    and hours included, each with the server's default (no hidden "FR" holidays)."""
    from ccserver.app import Runtime
    from ccserver.capabilities.acd.model import QueueDefinition
    from ccserver.settings import Settings
    from tests.support.browser import served_app

    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None)
    await asyncio.to_thread(runtime.database.upgrade)
    await asyncio.to_thread(runtime.users.create_user, "root", "password-1234", role="admin")
    async with served_app(runtime) as base_url, chromium() as browser:
        page = await browser.new_page()
        await log_in(page, base_url, "root", "password-1234")
        await page.goto(base_url + "/admin/callcenter")
        await page.wait_for_selector("#queue-select", state="attached")
        await page.click("#queue-new")
        shown = await page.eval_on_selector_all("#queue-fields [name]", "els => els.map(e => e.name)")
        assert sorted(shown) == sorted(QueueDefinition.__dataclass_fields__)
        assert await page.input_value("#queue-fields input[name=holidays]") == "FR"
        assert await page.input_value("#queue-fields select[name=recording_policy]") == "always"
        assert await page.input_value("#queue-fields input[name=timezone]") == "Europe/Paris"
