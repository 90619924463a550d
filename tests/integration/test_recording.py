"""Recording on the real Asterisk with sipp phones: a queue call between a sipp caller and a sipp
agent is recorded by MixMonitor, lasts as long as the call, is not silence, has a silent gap of
the paused length; it plays through the page with range requests (in Chromium too), a second
agent is refused, the playback is audit-logged; the purge removes only expired recordings."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import async_playwright

from ccserver.adapters.db.recordings import RecordingFilter
from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.core import events as ev
from tests.support.browser import ARGS
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import SippCaller, SippPhone, wav_levels, wav_rms

pytestmark = pytest.mark.asterisk
logger = logging.getLogger(__name__)

PASSWORD = "password-123"
CHROMIUM = "/usr/bin/chromium"
# the shared flags (a French browser, tests/support/browser.py) and sound without a click
CHROMIUM_ARGS = [*ARGS, "--autoplay-policy=no-user-gesture-required"]


class OffsetClock:
    """The real time, moved forward on demand (to age recordings for the purge)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def setup_queue(srv: Server, number: str) -> dict:
    runtime = srv.runtime
    await until(srv.ok, 20)
    await runtime.acd.create_queue(
        QueueDefinition(
            name="rec",
            numbers=(number,),
            holidays="",
            announce_position=False,
            announce_holdtime=False,
            recording_policy="always",
            retention_days=30,
        ),
        "admin",
    )
    accounts = {}
    for name in ("alice", "bob"):
        accounts[name] = await runtime.acd.create_agent(name, PASSWORD, name.title(), {}, "admin")
    runtime.users.create_user("sup", PASSWORD, role="supervisor", display_name="Sup")
    runtime.acd_repo.give_scope("sup", "queue", "rec")  # supervisors see their queues' recordings
    return accounts


def silent_runs(levels: list[float], window: float, threshold: float = 60.0) -> list[float]:
    """Lengths (seconds) of the runs of silent windows."""
    runs, current = [], 0
    for level in levels:
        if level < threshold:
            current += 1
        else:
            if current:
                runs.append(current * window)
            current = 0
    if current:
        runs.append(current * window)
    return runs


async def test_queue_call_is_recorded_paused_played_with_ranges_and_purged(asterisk, tmp_path):
    clock = OffsetClock()
    async with Server(
        tmp_path, endpoint_of(asterisk.info), config_writer=asterisk, clock=clock, recording={"agents_may_listen": True}
    ) as srv:
        runtime = srv.runtime
        accounts = await setup_queue(srv, "7101")
        alice_web = await srv.login("alice", PASSWORD)
        async with SippPhone(asterisk, accounts["alice"].sip_username, accounts["alice"].sip_password):
            await runtime.acd.login("alice")
            await until(lambda: runtime.agent_board.agents["alice"].state.value == "available", 5)
            caller = SippCaller(asterisk, "7101", "0612345678", talk_seconds=8)
            await caller.start()
            await caller.wait_answered(10)
            await until(
                lambda: (
                    runtime.recording.current("alice") is not None
                    and runtime.recording.current("alice").state == "recording"
                ),
                5,
            )
            # the card number: pause 3 s, then resume, from the desk's API
            await asyncio.sleep(2.0)
            resp = await alice_web.post("/api/agent/recording/pause", json={}, headers={"X-CSRF-Token": alice_web.csrf})
            assert resp.status == 200, await resp.text()
            assert (await resp.json())["recording"]["state"] == "paused"
            paused_at = time.monotonic()
            await asyncio.sleep(3.0)
            resp = await alice_web.post(
                "/api/agent/recording/resume", json={}, headers={"X-CSRF-Token": alice_web.csrf}
            )
            assert resp.status == 200, await resp.text()
            logger.info("paused for %.2f s (wall)", time.monotonic() - paused_at)
            result = await caller.wait(30)
        assert result.answered and result.duration is not None

        uniqueid = next(e.uniqueid for e in srv.events if isinstance(e, ev.AgentConnected))
        rows = await until(
            lambda: [r for r in runtime.recording.repo.for_call(uniqueid) if r.status in ("stored", "failed", "empty")],
            10,
        )
        row = rows[0]
        assert row.status == "stored", row.error
        path = runtime.recording.store.store_dir / row.path
        assert row.agent == "alice" and row.queue == "rec" and row.size_bytes == path.stat().st_size

        # as long as the call, not silence, a ~3 s silent gap where it was paused
        duration = row.duration_ms / 1000
        logger.info(
            "call %.2f s, recording %.2f s (error %+.2f s)", result.duration, duration, duration - result.duration
        )
        assert abs(duration - result.duration) <= 1.0
        assert wav_rms(path) > 300
        levels = wav_levels(path, 0.1)
        gaps = silent_runs(levels, 0.1)
        logger.info("silent runs: %s", gaps)
        assert any(2.5 <= gap <= 3.5 for gap in gaps), gaps
        assert max(gaps) <= 3.5
        [(start, end)] = json.loads(row.pauses)
        assert 1.5 <= start <= 3.0 and 2.7 <= end - start <= 3.3
        assert wav_rms(path, start + 0.3, end - 0.3) < 60  # the gap is where the pause mark says
        assert wav_rms(path, end + 0.2, end + 1.5) > 300  # and the audio comes back after it

        # the supervisor plays it with a range request
        sup = await srv.login("sup", PASSWORD)
        data = path.read_bytes()
        resp = await sup.get(f"/recordings/{row.id}/audio", headers={"Range": "bytes=0-1023"})
        assert resp.status == 206
        assert resp.headers["Content-Range"] == f"bytes 0-1023/{len(data)}"
        assert resp.headers["Accept-Ranges"] == "bytes" and resp.headers["Content-Type"] == "audio/wav"
        assert await resp.read() == data[:1024]
        resp = await sup.get(f"/recordings/{row.id}/audio", headers={"Range": f"bytes={len(data) - 100}-"})
        assert resp.status == 206 and await resp.read() == data[-100:]
        resp = await sup.get(f"/recordings/{row.id}/audio", headers={"Range": f"bytes={len(data)}-"})
        assert resp.status == 416 and resp.headers["Content-Range"] == f"bytes */{len(data)}"
        page = await sup.get(f"/recordings/{row.id}")
        assert page.status == 200 and f'src="/recordings/{row.id}/audio"' in await page.text()
        plays = runtime.audit.list(action="recording.play", actor="sup")
        assert len(plays) == 1 and plays[0].target == str(row.id)
        assert plays[0].details_dict["range"] == "bytes=0-1023"

        # the agent hears her own call; a second agent is refused
        resp = await alice_web.get(f"/recordings/{row.id}/audio", headers={"Range": "bytes=0-99"})
        assert resp.status == 206 and await resp.read() == data[:100]
        bob = await srv.login("bob", PASSWORD)
        resp = await bob.get(f"/recordings/{row.id}/audio", headers={"Range": "bytes=0-99"})
        assert resp.status == 403
        assert not runtime.audit.list(action="recording.play", actor="bob")

        # the purge (a scheduler job) removes only what is past the queue's 30 days
        assert runtime.scheduler.get_job("recording-purge") is not None
        recent_start = clock.now() + timedelta(days=29)
        recent = runtime.recording.repo.insert(
            call_uniqueid="synthetic",
            queue="rec",
            agent="alice",
            started_at=recent_start,
            status="stored",
            retention_days=30,
            path="recent.wav",
        )
        (runtime.recording.store.store_dir / "recent.wav").write_bytes(data)
        clock.offset = timedelta(days=31)
        removed = await runtime.recording.purge()
        assert removed["ids"] == [row.id]
        assert not path.exists() and (runtime.recording.store.store_dir / "recent.wav").exists()
        assert [r.id for r in runtime.recording.repo.for_call("synthetic")] == [recent.id]
        assert runtime.recording.repo.for_call(uniqueid) == []
        for client in (alice_web, sup, bob):
            await client.close()


async def browser_login(browser, base: str, username: str):
    page = await browser.new_page()
    await page.goto(base + "/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(base + "/")
    return page


@pytest.mark.browser
async def test_desk_button_pauses_and_supervisor_page_plays_the_recording_in_chromium(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        runtime = srv.runtime
        accounts = await setup_queue(srv, "7102")
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                desk = await browser_login(browser, srv.base_url, "alice")
                async with SippPhone(asterisk, accounts["alice"].sip_username, accounts["alice"].sip_password):
                    await runtime.acd.login("alice")
                    await until(lambda: runtime.agent_board.agents["alice"].state.value == "available", 5)
                    await desk.goto(srv.base_url + "/agent")
                    caller = SippCaller(asterisk, "7102", "0612345678", talk_seconds=7)
                    await caller.start()
                    # the desk shows the recording; the agent pauses it with the button, then resumes
                    await desk.wait_for_selector("#recording-box .rec-state[data-state=recording]", timeout=10000)
                    await desk.click("#recording-box button[data-action=pause]")
                    await desk.wait_for_selector("#recording-box .rec-state[data-state=paused]", timeout=5000)
                    assert await desk.is_visible("#recording-box button[data-action=resume]")
                    await asyncio.sleep(2.0)
                    await desk.click("#recording-box button[data-action=resume]")
                    await desk.wait_for_selector("#recording-box .rec-state[data-state=recording]", timeout=5000)
                    result = await caller.wait(30)
                assert result.answered
                rows = await until(lambda: [r for r, _c in runtime.recording.repo.search(RecordingFilter())[0]], 10)
                recording = rows[0]
                [(start, end)] = json.loads(recording.pauses)
                assert 1.7 <= end - start <= 2.8

                page = await browser_login(browser, srv.base_url, "sup")
                await page.goto(srv.base_url + "/recordings")
                await page.click(f"#recordings tr[data-id='{recording.id}'] a")
                await page.wait_for_url(srv.base_url + f"/recordings/{recording.id}")
                await page.evaluate("document.getElementById('player').play()")
                await page.wait_for_function(
                    "() => { const a = document.getElementById('player');"
                    " return a.readyState >= 2 && a.currentTime > 0.5; }",
                    timeout=15000,
                )
                state = await page.evaluate(
                    "() => { const a = document.getElementById('player');"
                    " return {ready: a.readyState, time: a.currentTime, duration: a.duration, error: a.error}; }"
                )
                logger.info("chromium player: %s", state)
                assert state["error"] is None and abs(state["duration"] - recording.duration_ms / 1000) < 0.2
            finally:
                await browser.close()
        [play] = runtime.audit.list(action="recording.play", actor="sup")
        assert play.target == str(recording.id)
        assert play.details_dict["range"].startswith("bytes=")  # the browser asked for a range
        assert [e.action for e in runtime.audit.list(actor="alice") if e.action.startswith("recording.")] == [
            "recording.resume",
            "recording.pause",
        ]
