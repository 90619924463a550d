"""A running web app (no PBX) on SQLite with one user of each role."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ccserver.adapters.web.app import create_app
from ccserver.app import Runtime
from ccserver.settings import Settings
from tests.support.web import api_csrf, logged_in

PASSWORD = "correct horse battery"


@pytest.fixture
async def web_app(tmp_path):
    settings = Settings().replace({"storage.data_dir": tmp_path})
    runtime = Runtime(settings, endpoint=None)
    app = create_app(runtime)
    server = TestServer(app)
    await server.start_server()
    for role in ("agent", "supervisor", "admin"):
        runtime.users.create_user(f"{role}1", PASSWORD, role=role, display_name=f"{role.title()} One")
    yield server
    await server.close()


async def login(server: TestServer, username: str, password: str = PASSWORD) -> TestClient:
    """A new client logged in as `username` (tests.support.web.logged_in, the shared helper)."""
    return await logged_in(server, username, password)


async def csrf_of(client: TestClient) -> str:
    return await api_csrf(client)
