"""A live message the desk never got (its number skipped) makes the page read its whole desk
again, in a real Chromium (no PBX needed: the agent's state is changed behind the page's back)."""

from __future__ import annotations

import pytest
from aiohttp import web

from ccserver.adapters.web.app import create_app
from ccserver.adapters.web.keys import REALTIME
from ccserver.app import Runtime
from ccserver.core import events as ev
from ccserver.settings import Settings
from tests.support.browser import chromium, free_port, log_in
from tests.support.server import until

pytestmark = [pytest.mark.browser]


async def test_a_skipped_message_makes_the_desk_resync(tmp_path):
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None)
    app = create_app(runtime)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base_url = f"http://127.0.0.1:{port}"
    hub = app[REALTIME]
    try:
        await runtime.acd.create_agent("zoe", "password-1234", "Zoé", {}, "admin")
        async with chromium() as browser:
            page = await browser.new_page()
            await log_in(page, base_url, "zoe", "password-1234")
            await page.goto(base_url + "/agent")
            await page.wait_for_function("() => document.body.dataset.deskResyncs === '1'")  # on load
            await page.wait_for_selector("#state[data-state=logged_out]")
            await until(lambda: any(c.user.username == "zoe" for c in hub.clients), 5)
            # the agent is put in a queue, and the push telling the page is lost on the way:
            # numbered, never sent
            runtime.agent_board.apply(
                ev.QueueMemberChanged(change="added", queue="sales", interface="PJSIP/zoe", member_name="zoe", status=1)
            )
            next(c for c in hub.clients if c.user.username == "zoe").seq += 1
            assert await page.is_visible("#state[data-state=logged_out]")
            # the next message shows the hole: the page reads its desk again
            hub.broadcast({"topic": "nothing_for_the_desk"}, roles=set(), usernames={"zoe"})
            await page.wait_for_selector("#state[data-state=available]", timeout=2_000)
            assert await page.evaluate("() => document.body.dataset.deskResyncReason") == "gap"
            assert await page.evaluate("() => document.body.dataset.deskResyncs") == "2"
            # its announcement says so
            assert "Disponible" in await page.text_content("#desk-announce")
    finally:
        await runner.cleanup()
