"""Alerts (a call not recorded although its policy says so, a caller refused for lack of
resources) are counted where people look: the supervisors' wallboard and /status."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from ccserver.adapters.web.keys import RUNTIME
from ccserver.core.alerts import CALL_REFUSED, PAUSE_OVERRUN, RECORDING_MISSED
from tests.support.browser import chromium
from tests.support.browser import log_in as browser_log_in
from tests.web.conftest import PASSWORD, login


async def test_alerts_are_counted_on_the_wallboard_and_in_status(web_app):
    runtime = web_app.app[RUNTIME]
    supervisor = await login(web_app, "supervisor1")
    board = await (await supervisor.get("/api/wallboard")).json()
    assert board["alerts"] == {RECORDING_MISSED: 0, CALL_REFUSED: 0, PAUSE_OVERRUN: 0}

    runtime.alerts.note(
        RECORDING_MISSED,
        datetime(2026, 12, 4, 9, 0, tzinfo=UTC),
        call="1.1",
        queue="sales",
        agent="alice",
        reason="could not start: No such channel",
    )
    board = await (await supervisor.get("/api/wallboard")).json()
    assert board["alerts"][RECORDING_MISSED] == 1
    assert runtime.supervision.dirty  # pushed to open wallboards at the next tick

    status = await (await supervisor.get("/status")).json()
    assert status["alerts"] == {RECORDING_MISSED: 1, CALL_REFUSED: 0, PAUSE_OVERRUN: 0}
    anonymous = TestClient(web_app)
    await anonymous.start_server()
    status = await (await anonymous.get("/status")).json()
    assert "alerts" not in status  # anonymous: only whether the server is healthy
    await anonymous.close()
    await supervisor.close()


@pytest.mark.browser
async def test_the_wallboard_shows_the_alerts_live_in_french(web_app):
    runtime = web_app.app[RUNTIME]
    base = str(web_app.make_url("")).rstrip("/")
    async with chromium() as browser:
        page = await browser.new_page()
        await browser_log_in(page, base, "supervisor1", PASSWORD)
        await page.goto(base + "/wallboard")
        await page.wait_for_selector("#queues")
        assert await page.locator("#alerts").is_hidden()  # nothing to report

        runtime.alerts.note(
            CALL_REFUSED,
            datetime(2026, 12, 4, 9, 0, tzinfo=UTC),
            call="1.2",
            caller="0612345678",
            number="4100",
            reason="capacity",
            limit=300,
        )
        banner = page.locator("#alerts")
        await banner.wait_for(state="visible", timeout=5000)  # pushed, no reload
        assert await banner.text_content() == ("Alertes depuis le démarrage : 1 appel(s) refusé(s) faute de ressources")
        runtime.alerts.note(
            RECORDING_MISSED,
            datetime(2026, 12, 4, 9, 1, tzinfo=UTC),
            call="1.3",
            queue="sales",
            agent="alice",
            reason="could not start",
        )
        await page.wait_for_function(  # a function, not a string: the CSP forbids eval
            "() => document.getElementById('alerts').textContent.includes('non enregistré')", timeout=5000
        )
