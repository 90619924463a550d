"""Stopping `ccserver serve` / `ccserver demo` (Ctrl-C, SIGTERM), run as a user runs them: a real
process on free ports with its own private Asterisk.

- no call up: the private Asterisk the server started stops with it, and the server says so;
- a call up: Asterisk keeps running (the call goes on), and the server says so, with the number
  of calls and the command that stops it; that very command stops it;
- the server's log has no apscheduler INFO lines (two every 5 s before `log.levels`).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ccserver.adapters.asterisk.instance import AsteriskInstance
from tests.support.asterisk import TEST_PREFIX, settings_for_test
from tests.support.browser import free_port
from tests.support.sipp import SippCaller

pytestmark = pytest.mark.asterisk
REPO = Path(__file__).resolve().parents[2]
APSCHEDULER_INFO = re.compile(r"^\S+ \S+ INFO apscheduler", re.M)


class ServerProcess:
    """`python -m ccserver.cli COMMAND` with its own data directory, web port and Asterisk
    instance (free ports, fresh secrets: the settings of tests/support/asterisk.py)."""

    def __init__(self, tmp_path: Path, command: str) -> None:
        self.data_dir = tmp_path / "var"
        self.name = f"{TEST_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
        self.port = free_port()
        self.settings = settings_for_test(self.data_dir, self.name)
        self.instance = AsteriskInstance(self.settings)
        self.env = dict(
            os.environ,
            PYTHONPATH=str(REPO),
            CCSERVER_ASTERISK_INSTANCE=self.name,
            CCSERVER_STORAGE_DATA_DIR=str(self.data_dir),
            CCSERVER_WEB_PORT=str(self.port),
            CCSERVER_PBX_AMI_PORT="0",
            CCSERVER_PBX_ARI_PORT="0",
            CCSERVER_ASTERISK_SIP_PORT="0",
            CCSERVER_ASTERISK_RTP_PORT_START="0",
            CCSERVER_ASTERISK_RTP_PORT_COUNT="200",
            CCSERVER_ASTERISK_MAX_CONCURRENT_CALLS="40",
            CCSERVER_ASTERISK_SIP_BIND_ADDRESS="127.0.0.1",
            CCSERVER_PBX_AMI_SECRET="",
            CCSERVER_PBX_ARI_PASSWORD="",
        )
        self.env.pop("CCSERVER_LOG_LEVELS", None)  # the default is what is tested
        self.log_path = tmp_path / f"{command}.log"
        self.command = command
        self.proc: subprocess.Popen | None = None

    def ccserver(self, *args: str) -> subprocess.CompletedProcess:
        """Another `ccserver` command, as the user would type it next to the server."""
        return subprocess.run(
            [sys.executable, "-m", "ccserver.cli", *args],
            cwd=self.data_dir.parent,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def start(self) -> ServerProcess:
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ccserver.cli", self.command],
                cwd=self.data_dir.parent,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while not await asyncio.to_thread(self._status_ok):
            assert self.proc.poll() is None, self.output[-3000:]
            assert time.monotonic() < deadline, "no /status ok in 120 s:\n" + self.output[-3000:]
            await asyncio.sleep(0.2)
        return self

    def _status_ok(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/status", timeout=2) as resp:
                return resp.status == 200 and json.loads(resp.read())["status"] == "ok"
        except OSError:
            return False

    async def stop_with(self, sig: int) -> int:
        """Send `sig` (what Ctrl-C or `kill` sends) and wait for the process to end."""
        os.kill(self.proc.pid, sig)
        return await asyncio.to_thread(self.proc.wait, 60)

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.instance.destroy()


async def test_ctrl_c_without_calls_stops_the_asterisk_serve_started(tmp_path):
    server = ServerProcess(tmp_path, "serve")
    try:
        await server.start()
        pid = server.instance.pid()
        assert pid is not None and f"Asterisk '{server.name}' running" in server.output
        # apscheduler logs "Added job", "Scheduler started" at INFO before /status says ok
        # (the scheduler runs): none of it is in the log, while ccserver's INFO lines are
        assert re.search(r" INFO ccserver\.", server.output), server.output[-2000:]
        assert not APSCHEDULER_INFO.search(server.output), APSCHEDULER_INFO.findall(server.output)

        assert await server.stop_with(signal.SIGINT) == 0, server.output[-3000:]
        assert f"Asterisk '{server.name}' stopped (no call was up)." in server.output
        assert server.instance.pid() is None
        assert not Path(f"/proc/{pid}").exists() or b"asterisk" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        assert not APSCHEDULER_INFO.search(server.output)  # nor "Scheduler has been shut down"
    finally:
        server.cleanup()


async def test_sigterm_with_a_call_up_leaves_asterisk_running_and_says_how_to_stop_it(tmp_path):
    server = ServerProcess(tmp_path, "demo")
    try:
        await server.start()
        password = re.search(r"alice\s+SIP user: alice\s+SIP password: (\S+)", server.output).group(1)
        pid = server.instance.pid()
        # alice's phone calls the echo test: a call that lasts until somebody hangs up
        call = SippCaller(server.instance, "*43", caller="alice", password=password, max_seconds=90)
        await call.start()
        await call.wait_answered(15)

        assert await server.stop_with(signal.SIGTERM) == 0, server.output[-3000:]
        stop_command = f"ccserver asterisk down --instance {server.name}"
        assert f"Asterisk '{server.name}' is still running: 1 call(s) up" in server.output, server.output[-2000:]
        assert f"Stop it (ending those calls) with: {stop_command}" in server.output
        # the call goes on without the controller
        assert server.instance.pid() == pid
        assert server.instance.channel_count().channels == 1
        assert not call._run.exited.is_set()

        # the printed command, as printed, stops it and ends the call
        done = await asyncio.to_thread(server.ccserver, *stop_command.split()[1:])
        assert done.returncode == 0, done.stderr
        assert f"instance '{server.name}' stopped" in done.stdout
        assert server.instance.pid() is None
        result = await call.wait(30)
        assert result.answered
        assert not APSCHEDULER_INFO.search(server.output)
    finally:
        server.cleanup()
