"""/admin/dialplans in a real Chromium against the REAL Asterisk: the page loads CodeMirror with
Asterisk highlighting (under the CSP), a save with an unknown application shows the lint error at
its file:line, a good save is stored and applied from the page, and the live Asterisk has the
new extension."""

from __future__ import annotations

import asyncio

import pytest

from ccserver.adapters.asterisk.scratch import ScratchAsterisk
from ccserver.app import Runtime
from ccserver.settings import Settings
from tests.support.asterisk import settings_for_test
from tests.support.browser import chromium, log_in, served_app
from tests.support.server import endpoint_of, until

pytestmark = pytest.mark.browser
PROBE = "[inbound]\nexten => probe,1,Answer()\n same => n,Hangup()\n"


@pytest.fixture
def live(asterisk_factory):
    instance = asterisk_factory()
    instance.up()
    instance.write_dialplans({"default.conf": PROBE})
    instance.reload("pbx_config.so")
    return instance


@pytest.fixture
def scratch(tmp_path_factory, asterisk):
    made = ScratchAsterisk(settings_for_test(tmp_path_factory.mktemp("scratch")), environment=asterisk.environment)
    yield made
    made.instance.destroy()


async def test_editor_loads_codemirror_shows_a_lint_error_saves_and_applies(tmp_path, live, scratch):
    settings = Settings().replace({"storage.data_dir": tmp_path, "pbx.command_timeout": 3.0})
    runtime = Runtime(settings, endpoint_of(live.info), config_writer=live, dialplan_scratch=scratch)
    await asyncio.to_thread(runtime.database.upgrade)
    await asyncio.to_thread(runtime.users.create_user, "root", "password-1234", role="admin")
    async with served_app(runtime) as base_url, chromium() as browser:
        await until(lambda: runtime.pbx.ami.is_up, 10, "AMI up")
        await until(runtime.dialplans.running_id, 10, "v1 stored at start")
        page = await browser.new_page()
        refused: list[str] = []  # the CSP's refusals show in the console
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        await log_in(page, base_url, "root", "password-1234")
        await page.goto(base_url + "/admin/dialplans")
        await page.wait_for_selector(".CodeMirror-code")
        await page.locator(
            ".CodeMirror-code", has_text="exten => probe"
        ).wait_for()  # (no wait_for_function: the CSP forbids eval)
        assert await page.evaluate("dialplanEditor.getOption('mode')") == "asterisk"
        assert await page.locator(".CodeMirror-code span[class^='cm-']").count() > 0  # highlighted

        # typed into the editor: an application Asterisk does not have
        await page.click(".CodeMirror-code")
        await page.keyboard.press("Control+End")
        await page.keyboard.type("exten => 4545,1,Foobar()")
        await page.click("#dialplan-diff")  # against the running version
        await page.locator("#dialplan-diff-text", has_text="+exten => 4545,1,Foobar()").wait_for()
        await page.click("#dialplan-save")
        problem = page.locator("#dialplan-problems li[data-line='4']")
        await problem.wait_for()
        assert "default.conf:4: unknown-application" in await problem.text_content()
        marked = page.locator(".CodeMirror-line:has(.cm-dialplan-error)")
        assert await marked.count() == 1 and "Foobar" in await marked.text_content()  # that line is marked
        assert len(await runtime.dialplans.versions()) == 1  # not stored

        await page.evaluate("dialplanEditor.setValue(dialplanEditor.getValue().replace('Foobar()', 'Answer()'))")
        await page.fill("#dialplan-comment", "number 4545")
        await page.click("#dialplan-save")
        await page.wait_for_selector("tr[data-version='2'] .version-apply")
        assert "number 4545" in await page.text_content("tr[data-version='2']")
        await page.click("tr[data-version='2'] .version-apply")
        await page.locator("#running-version", has_text="v2").wait_for()  # the page reloaded after the apply
        assert "'4545' =>" in await asyncio.to_thread(live.cli, "dialplan show inbound")
        assert refused == []
