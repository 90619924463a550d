"""A running web app (no PBX) on SQLite with one user of each role."""
from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ccserver.adapters.web.app import create_app
from ccserver.app import Runtime
from ccserver.settings import Settings

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
    client = TestClient(server)
    await client.start_server()
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    resp = await client.post("/login", data={"username": username, "password": password,
                                             "csrf_token": token}, allow_redirects=False)
    assert resp.status == 302, await resp.text()
    return client


async def csrf_of(client: TestClient) -> str:
    me = await client.get("/api/me")
    return (await me.json())["csrf_token"]
