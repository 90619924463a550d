"""Sessions end when they should: logging out, disabling a user, resetting their password or
revoking their sessions deletes the sessions and closes the user's live pages (WebSockets) at
once, also when it is done by the `ccserver user` command in another process; expired sessions
are purged on a schedule."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from ccserver.adapters.db.tables import WebSession
from ccserver.adapters.web.app import create_app
from ccserver.adapters.web.auth import SESSION_COOKIE
from ccserver.app import Runtime
from ccserver.settings import Settings
from tests.support.browser import chromium, log_in, served_app
from tests.support.web import api_csrf, post_login

PASSWORD = "correct horse battery"
REPO = Path(__file__).resolve().parents[2]


class Site:
    """A running web app (no PBX) on SQLite with agents, a supervisor and an admin."""

    def __init__(self, tmp_path, **settings) -> None:
        self.settings = Settings().replace({"storage.data_dir": tmp_path}, **settings)
        self.runtime = Runtime(self.settings, endpoint=None)
        self.server = TestServer(create_app(self.runtime))
        self.clients: list[TestClient] = []
        self.sockets: list = []

    async def __aenter__(self) -> Site:
        await self.server.start_server()
        for name, role in (("agent1", "agent"), ("agent2", "agent"), ("super1", "supervisor"), ("admin1", "admin")):
            self.runtime.users.create_user(name, PASSWORD, role=role)
        return self

    async def __aexit__(self, *exc) -> None:
        for ws in self.sockets:  # as a browser does; else the server waits for each reply
            await ws.close()
        for client in self.clients:
            await client.close()
        await self.server.close()

    async def login(self, username: str, password: str = PASSWORD) -> TestClient:
        """A separate browser logged in as `username` (``client.token``: its session cookie)."""
        client = TestClient(self.server)
        await client.start_server()
        self.clients.append(client)
        resp = await post_login(client, username, password)
        assert resp.status == 302, await resp.text()
        client.token = resp.cookies[SESSION_COOKIE].value
        client.csrf = await api_csrf(client)
        return client

    async def login_refused(self, username: str, password: str) -> bool:
        client = TestClient(self.server)
        await client.start_server()
        self.clients.append(client)
        return (await post_login(client, username, password)).status == 401

    async def live_socket(self, client: TestClient):
        ws = await client.ws_connect("/ws")
        self.sockets.append(ws)
        hello = await ws.receive_json(timeout=5)
        assert hello["topic"] == "hello"
        return ws

    async def status_with_cookie(self, token: str, path: str = "/api/me") -> int:
        """What a request carrying that (old) session cookie gets."""
        client = TestClient(self.server, cookies={SESSION_COOKIE: token})
        await client.start_server()
        self.clients.append(client)
        return (await client.get(path)).status

    def session_rows(self, username: str) -> list[WebSession]:
        user = self.runtime.users.require(username)
        with self.runtime.database.session() as session:
            return list(session.exec(select(WebSession).where(WebSession.user_id == user.id)).all())


async def closed_with(ws, timeout: float) -> tuple[int | None, float]:
    """Wait for the server to close `ws`: (close code, seconds it took)."""
    started = time.monotonic()
    while True:
        msg = await ws.receive(timeout=timeout)
        if msg.type is WSMsgType.CLOSE:  # the code the server's close frame carries
            return msg.data, time.monotonic() - started
        if msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return ws.close_code, time.monotonic() - started
        # other messages (live updates) may arrive before the close


async def still_open(ws, seconds: float) -> bool:
    try:
        msg = await ws.receive(timeout=seconds)
    except TimeoutError:
        return not ws.closed
    return msg.type not in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED) and not ws.closed


# the periodic re-check is pushed far away in the "at once" tests: what closes the sockets there
# is the revocation itself, not the next re-check
AT_ONCE = {"web": {"session_check_interval": 60.0}}


async def test_logout_ends_this_session_and_closes_its_sockets_at_once(tmp_path):
    async with Site(tmp_path, **AT_ONCE) as site:
        here = await site.login("agent1")
        elsewhere = await site.login("agent1")  # the same agent on another browser
        other = await site.login("agent2")
        here_ws, elsewhere_ws, other_ws = [await site.live_socket(c) for c in (here, elsewhere, other)]

        resp = await here.post("/logout", data={"csrf_token": here.csrf}, allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"] == "/login"

        code, took = await closed_with(here_ws, timeout=5)
        assert code == 4401 and took < 1.0
        assert await site.status_with_cookie(here.token) == 401
        # only this browser's session ended
        assert len(await asyncio.to_thread(site.session_rows, "agent1")) == 1
        assert (await elsewhere.get("/api/me")).status == 200
        assert await still_open(elsewhere_ws, 0.5) and await still_open(other_ws, 0.1)
        [entry] = await asyncio.to_thread(site.runtime.audit.list, action="logout")
        assert entry.actor == "agent1"


async def test_logout_everywhere_ends_every_session_of_the_user(tmp_path):
    async with Site(tmp_path, **AT_ONCE) as site:
        here, elsewhere, other = (await site.login("agent1"), await site.login("agent1"), await site.login("agent2"))
        here_ws, elsewhere_ws, other_ws = [await site.live_socket(c) for c in (here, elsewhere, other)]

        resp = await here.post("/logout", data={"csrf_token": here.csrf, "scope": "all"}, allow_redirects=False)
        assert resp.status == 302

        for ws in (here_ws, elsewhere_ws):
            code, took = await closed_with(ws, timeout=5)
            assert code == 4401 and took < 1.0
        assert await asyncio.to_thread(site.session_rows, "agent1") == []
        assert await site.status_with_cookie(elsewhere.token) == 401
        assert await still_open(other_ws, 0.3)
        assert (await other.get("/api/me")).status == 200


@pytest.mark.parametrize("action", ["disable", "reset_password", "revoke"])
async def test_admin_action_revokes_every_session_and_closes_the_users_sockets(tmp_path, action):
    async with Site(tmp_path, **AT_ONCE) as site:
        browsers = [await site.login("agent1"), await site.login("agent1")]
        other = await site.login("super1")
        sockets = [await site.live_socket(c) for c in browsers]
        other_ws = await site.live_socket(other)
        admin = site.runtime.user_admin

        if action == "disable":
            await asyncio.to_thread(admin.disable_user, "admin1", "agent1")
        elif action == "reset_password":
            await asyncio.to_thread(admin.reset_password, "admin1", "agent1", "a brand new secret")
        else:
            await asyncio.to_thread(admin.revoke_sessions, "admin1", "agent1")

        for ws in sockets:
            code, took = await closed_with(ws, timeout=5)
            assert code == 4401 and took < 1.0
        assert await asyncio.to_thread(site.session_rows, "agent1") == []
        for browser in browsers:
            assert (await browser.get("/api/me")).status == 401
            page = await browser.get("/agent", allow_redirects=False)
            assert page.status == 302 and page.headers["Location"].startswith("/login")
        assert await still_open(other_ws, 0.3)
        assert (await other.get("/api/me")).status == 200
        [entry] = await asyncio.to_thread(
            site.runtime.audit.list,
            target="agent1",
            action={
                "disable": "user.disable",
                "reset_password": "user.password_reset",
                "revoke": "user.sessions_revoked",
            }[action],
        )
        assert entry.actor == "admin1"
        if action == "disable":
            assert await site.login_refused("agent1", PASSWORD)
            await asyncio.to_thread(admin.enable_user, "admin1", "agent1")
            await site.login("agent1")
        elif action == "reset_password":
            assert await site.login_refused("agent1", PASSWORD)
            await site.login("agent1", "a brand new secret")
        else:
            await site.login("agent1")  # revoking does not lock the account


def run_cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "CCSERVER_STORAGE_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO)}
    env.pop("CCSERVER_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "ccserver.cli", *args], input=stdin, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("command", ["disable", "passwd", "revoke"])
async def test_cli_in_another_process_closes_the_servers_sockets_within_5_seconds(tmp_path, command):
    async with Site(tmp_path) as site:  # default re-check interval
        browser = await site.login("agent1")
        other = await site.login("agent2")
        ws, other_ws = await site.live_socket(browser), await site.live_socket(other)

        done = await asyncio.to_thread(run_cli, tmp_path, "user", command, "agent1", stdin="another long password\n")
        assert done.returncode == 0, done.stderr
        code, took = await closed_with(ws, timeout=10)
        assert code == 4401 and took <= 5.0, f"closed {took:.1f} s after the command ended"
        assert (await browser.get("/api/me")).status == 401
        assert await still_open(other_ws, 0.2)
        assert (await other.get("/api/me")).status == 200
        [entry] = [
            e for e in await asyncio.to_thread(site.runtime.audit.list, target="agent1") if e.action.startswith("user.")
        ]
        assert (
            entry.actor.startswith("cli")
            and entry.action
            == {"disable": "user.disable", "passwd": "user.password_reset", "revoke": "user.sessions_revoked"}[command]
        )


def test_cli_names_an_unknown_user(tmp_path):
    done = run_cli(tmp_path, "user", "disable", "nobody")
    assert done.returncode == 2
    assert "no user 'nobody'" in done.stderr


async def test_a_socket_closes_when_its_session_expires(tmp_path):
    async with Site(tmp_path) as site:
        browser = await site.login("agent1")
        ws = await site.live_socket(browser)
        [row] = await asyncio.to_thread(site.session_rows, "agent1")
        with site.runtime.database.session() as session:
            row = session.get(WebSession, row.id)
            row.expires_at = site.runtime.clock.now() - timedelta(seconds=1)
            session.add(row)
        code, took = await closed_with(ws, timeout=10)
        assert code == 4401 and took <= 5.0


async def test_purge_job_removes_only_expired_sessions(tmp_path):
    async with Site(tmp_path) as site:
        rt = site.runtime
        user = rt.users.require("agent1")
        for _ in range(3):
            rt.sessions.create(user.id, timedelta(seconds=-5))  # already expired
        live_token, _csrf = rt.sessions.create(user.id, timedelta(hours=1))

        job = rt.scheduler.get_job("sessions-purge-expired")
        assert job is not None
        assert job.trigger.interval == timedelta(minutes=rt.settings.web.session_purge_interval)
        assert await job.func() == 3

        rows = await asyncio.to_thread(site.session_rows, "agent1")
        assert len(rows) == 1 and rows[0].expires_at > rt.clock.now()
        assert await site.status_with_cookie(live_token) == 200


@pytest.mark.browser
async def test_the_open_page_says_session_ended_and_goes_to_login_when_the_user_is_disabled(tmp_path):
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None)
    async with served_app(runtime) as base:
        for name, role in (("super1", "supervisor"), ("admin1", "admin")):
            await asyncio.to_thread(runtime.users.create_user, name, PASSWORD, role=role)
        async with chromium() as browser:
            pages = {}
            for name in ("super1", "admin1"):
                page = await (await browser.new_context()).new_page()
                await log_in(page, base, name, PASSWORD)
                await page.goto(base + "/wallboard")
                await page.wait_for_function("() => document.body.dataset.live === 'yes'")
                pages[name] = page

            done = await asyncio.to_thread(run_cli, tmp_path, "user", "disable", "super1")
            assert done.returncode == 0, done.stderr
            banner = pages["super1"].get_by_role("alert").filter(has_text="Session terminée")
            await banner.wait_for(timeout=5_000)
            await pages["super1"].wait_for_url(base + "/login", timeout=5_000)
            # the other user's page stays live
            assert await pages["admin1"].evaluate("() => document.body.dataset.live") == "yes"
            assert pages["admin1"].url == base + "/wallboard"


@pytest.mark.browser
async def test_logging_out_in_one_browser_leaves_the_other_browser_logged_in(tmp_path):
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None)
    async with served_app(runtime) as base:
        await asyncio.to_thread(runtime.users.create_user, "super1", PASSWORD, role="supervisor")
        async with chromium() as browser:
            office, home = [await (await browser.new_context()).new_page() for _ in range(2)]
            for page in (office, home):
                await log_in(page, base, "super1", PASSWORD)
                await page.goto(base + "/wallboard")
                await page.wait_for_function("() => document.body.dataset.live === 'yes'")

            await office.get_by_role("button", name="Déconnexion").click()
            await office.wait_for_url(base + "/login")
            await home.reload()
            await home.wait_for_function("() => document.body.dataset.live === 'yes'")
            assert home.url == base + "/wallboard"

            # "Partout": every browser of this user is logged out, the open page is told so
            await log_in(office, base, "super1", PASSWORD)
            await office.get_by_role("button", name="Partout").click()
            await office.wait_for_url(base + "/login")
            await home.get_by_role("alert").filter(has_text="Session terminée").wait_for(timeout=5_000)
            await home.wait_for_url(base + "/login", timeout=5_000)
