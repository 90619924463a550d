"""Disabling a user on the real Asterisk: their agent leaves every queue (gone from QueueStatus)
within 5 s, whether the admin disables them through the API (this server) or with
`ccserver user disable` in another process (the server's sweep notices)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ccserver.capabilities.acd.model import QueueDefinition
from tests.support.server import Server, endpoint_of, until

pytestmark = pytest.mark.asterisk
REPO = Path(__file__).resolve().parents[2]
PASSWORD = "password-1234"


async def members(rt) -> dict[str, set[str]]:
    """Queue -> member interfaces, as Asterisk's QueueStatus reports them now."""
    rows = await rt.pbx.ami.list_action({"Action": "QueueStatus"})
    found: dict[str, set[str]] = {}
    for row in rows:
        if row.get("event") == "QueueMember":
            found.setdefault(row["queue"], set()).add(row["location"])
    return found


async def two_queues_with_alice_logged_in(srv: Server) -> None:
    rt = srv.runtime
    await until(srv.ok, 15)
    await asyncio.to_thread(rt.acd_repo.add_skill, "fr")
    for name, number in (("support", "4101"), ("sales", "4102")):
        await rt.acd.create_queue(
            QueueDefinition(name=name, required_skills={"fr": 1}, numbers=(number,), holidays=""), actor="admin"
        )
    await rt.acd.create_agent("alice", PASSWORD, "Alice", "fr:5", actor="admin")
    await rt.acd.create_agent("bruno", PASSWORD, "Bruno", "fr:5", actor="admin")
    await asyncio.to_thread(rt.users.create_user, "boss", "boss-password-1", role="admin")
    await rt.acd.login("alice", ["support", "sales"])
    await rt.acd.login("bruno", ["support"])

    async def both_in() -> bool:
        m = await members(rt)
        return {"PJSIP/alice"} <= m.get("sales", set()) and {"PJSIP/alice", "PJSIP/bruno"} <= m.get("support", set())

    await until(both_in, 10, "alice in support and sales, bruno in support")
    await until(lambda: rt.agent_board.agents["alice"].queues == frozenset({"support", "sales"}), 5)


def run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CCSERVER_STORAGE_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO)}
    env.pop("CCSERVER_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "ccserver.cli", *args], env=env, capture_output=True, text=True, timeout=60
    )


async def alice_gone_within(rt, seconds: float, since: float) -> float:
    async def gone() -> bool:
        return not any("PJSIP/alice" in m for m in (await members(rt)).values())

    await until(gone, seconds, "alice gone from every queue in QueueStatus", step=0.1)
    return time.monotonic() - since


async def test_disabling_through_the_api_takes_the_agent_out_of_every_queue(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        await two_queues_with_alice_logged_in(srv)
        admin = await srv.login("boss", "boss-password-1")
        started = time.monotonic()
        resp = await admin.post("/api/users/alice/disable", headers={"X-CSRF-Token": admin.csrf})
        assert resp.status == 200, await resp.text()
        answer = await resp.json()
        assert sorted(answer["queues_left"]) == ["sales", "support"]
        took = await alice_gone_within(rt, 5, started)
        assert took <= 5.0
        # bruno stays; a restart of the server would not put alice back (her login is cleared)
        assert "PJSIP/bruno" in (await members(rt))["support"]
        assert await asyncio.to_thread(rt.acd_repo.stored_logins) and all(
            login.username != "alice" for login in await asyncio.to_thread(rt.acd_repo.stored_logins)
        )
        [entry] = await asyncio.to_thread(rt.audit.list, action="agent.logout_everywhere", target="alice")
        assert entry.actor == "boss"
        await admin.close()


async def test_disabling_with_the_cli_in_another_process_logs_the_agent_out_within_5_seconds(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        await two_queues_with_alice_logged_in(srv)
        done = await asyncio.to_thread(run_cli, tmp_path, "user", "disable", "alice", "--json")
        ended = time.monotonic()
        assert done.returncode == 0, done.stderr
        took = await alice_gone_within(rt, 5, ended)
        assert took <= 5.0, f"alice left the queues {took:.1f} s after the command"
        assert "PJSIP/bruno" in (await members(rt))["support"]
        [entry] = await asyncio.to_thread(rt.audit.list, action="agent.logout_everywhere", target="alice")
        assert entry.actor == "system"
