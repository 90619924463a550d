"""Alerts (a call not recorded although its policy says so, a caller refused for lack of
resources) are counted where people look: the supervisors' wallboard and /status."""
from __future__ import annotations

from datetime import datetime, timezone

from aiohttp.test_utils import TestClient

from ccserver.adapters.web.keys import RUNTIME
from ccserver.core.alerts import CALL_REFUSED, RECORDING_MISSED
from tests.web.conftest import login


async def test_alerts_are_counted_on_the_wallboard_and_in_status(web_app):
    runtime = web_app.app[RUNTIME]
    supervisor = await login(web_app, "supervisor1")
    board = await (await supervisor.get("/api/wallboard")).json()
    assert board["alerts"] == {RECORDING_MISSED: 0, CALL_REFUSED: 0}

    runtime.alerts.note(RECORDING_MISSED, datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc),
                        call="1.1", queue="sales", agent="alice", reason="could not start: No such channel")
    board = await (await supervisor.get("/api/wallboard")).json()
    assert board["alerts"][RECORDING_MISSED] == 1
    assert runtime.supervision.dirty  # pushed to open wallboards at the next tick

    anonymous = TestClient(web_app)
    await anonymous.start_server()
    status = await (await anonymous.get("/status")).json()
    assert status["alerts"] == {RECORDING_MISSED: 1, CALL_REFUSED: 0}  # counts only: /status is public
    await anonymous.close()
    await supervisor.close()
