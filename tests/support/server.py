"""Running a ccserver (runtime + web app) against a real Asterisk inside a test."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiohttp.test_utils import TestClient, TestServer

from ccserver.adapters.pbx.connection import PbxEndpoint
from ccserver.adapters.web.app import create_app
from ccserver.app import Runtime
from ccserver.core import events as ev
from ccserver.settings import Settings
from tests.support.web import logged_in


def endpoint_of(info, **changes) -> PbxEndpoint:
    """The instance's endpoint with an ARI application of this test's own."""
    return PbxEndpoint.of_instance(info, **{"ari_app": f"t{uuid.uuid4().hex[:8]}", **changes})


async def until(predicate, timeout: float, what: str = "the condition", step: float = 0.05):
    """Poll `predicate` (plain, async, or returning an awaitable) until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout} s")
        await asyncio.sleep(step)


class Server:
    """A ccserver web app + runtime on a free port, talking to a given endpoint."""

    def __init__(self, tmp_path, endpoint, *, config_writer=None, clock=None, **settings):
        self.settings = Settings().replace({"storage.data_dir": tmp_path, "pbx.command_timeout": 3.0}, **settings)
        self.runtime = Runtime(self.settings, endpoint, config_writer=config_writer, clock=clock)
        self.events: list[ev.Event] = []
        self.runtime.bus.subscribe("test-recorder", self.events.append)
        self.server = TestServer(create_app(self.runtime))
        self.client: TestClient | None = None
        self._status_client: TestClient | None = None

    async def __aenter__(self):
        await self.server.start_server()
        self.client = TestClient(self.server)
        await self.client.start_server()
        return self

    async def __aexit__(self, *exc):
        await self.client.close()
        if self._status_client is not None:
            await self._status_client.close()
        await self.server.close()

    async def status(self):
        """/status as a supervisor sees it: the parts' states and errors (anonymous callers
        get only {"status": ...})."""
        if self._status_client is None:
            await asyncio.to_thread(
                self.runtime.users.create_user, "status-probe", "status-probe-password", role="supervisor"
            )
            self._status_client = await self.login("status-probe", "status-probe-password")
        resp = await self._status_client.get("/status")
        return resp.status, await resp.json()

    async def ok(self):
        """What a healthcheck sees (anonymous): 200 and {"status": "ok"}."""
        resp = await self.client.get("/status")
        return resp.status == 200 and (await resp.json())["status"] == "ok"

    async def login(self, username: str, password: str) -> TestClient:
        """A separate browser-like client logged in as `username` (``client.csrf`` set)."""
        return await logged_in(self.server, username, password)

    @property
    def base_url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"
