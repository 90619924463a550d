"""The scratch Asterisk: a private instance that is never the live one, where the dialplans
capability loads a version first. Started on first use (0.5 s once the root is built), then
reused; Asterisk's own warnings and errors about the files come from its messages.log."""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
import time
from pathlib import Path

from ...core.errors import ConfigurationError
from ...settings import Settings
from .instance import AsteriskEnvironment, AsteriskInstance, write_dialplan_dir

_APPLICATION_LINE = re.compile(r"^\s*([A-Za-z0-9_]+):\s")


class ScratchAsterisk:
    def __init__(self, settings: Settings, *, environment: AsteriskEnvironment | None = None, name: str = "") -> None:
        name = name or f"{settings.asterisk.instance}-scratch"
        scratch_settings = settings.replace(
            {
                "asterisk.instance": name,
                "pbx.ami_port": 0,
                "pbx.ari_port": 0,
                "asterisk.sip_port": 0,
                "asterisk.rtp_port_start": 0,
                "asterisk.rtp_port_count": 200,
                "asterisk.max_concurrent_calls": 40,
                "pbx.ami_secret": "",
                "pbx.ari_password": "",
                "asterisk.sip_bind_address": "127.0.0.1",
            }
        )
        self.instance = AsteriskInstance(scratch_settings, environment=environment)
        self._lock = threading.Lock()  # one load at a time: the log is read between markers
        self._apps: set[str] | None = None
        self.started = False  # by this object (stop() ends only what it started)

    def _ensure_up(self) -> None:
        if self.instance.status() is None or self.instance.pid() is None:
            self.instance.up()
            self.started = True

    def _log(self) -> Path:
        return self.instance.instance_dir / "log" / "messages.log"

    def _load(self, files: dict[str, str], timeout: float = 10.0) -> list[str]:
        with self._lock:
            self._ensure_up()
            token = secrets.token_hex(6)
            marker = f"ccs-scratch-missing-{token}"
            # a last context including one that does not exist: Asterisk warns about it after
            # it read every file, so once its line is in the log every earlier one is too
            marked = {
                **files,
                f"zzzz-scratch-marker-{token}.conf": f"[ccs-scratch-marker-{token}]\ninclude => {marker}\n",
            }
            directory = self.instance.instance_dir / "etc" / "dialplans"
            write_dialplan_dir(directory, marked, self.instance.run_user.gid if self.instance.run_user else None)
            log = self._log()
            start = log.stat().st_size if log.exists() else 0
            self.instance.cli("dialplan reload")
            deadline = time.monotonic() + timeout
            while True:
                text = log.read_bytes()[start:].decode("utf-8", "replace") if log.exists() else ""
                if marker in text:
                    break
                if time.monotonic() > deadline:
                    raise ConfigurationError(
                        "the scratch Asterisk did not finish loading the dialplan", instance=self.instance.name
                    )
                time.sleep(0.02)  # polling a file Asterisk writes: there is nothing to wait on
            return [line for line in text.splitlines() if token not in line]

    async def load(self, files: dict[str, str]) -> list[str]:
        return await asyncio.to_thread(self._load, files)

    def _applications(self) -> set[str]:
        with self._lock:
            if self._apps is None:
                self._ensure_up()
                out = self.instance.cli("core show applications")
                self._apps = {m.group(1) for m in map(_APPLICATION_LINE.match, out.splitlines()) if m}
            return set(self._apps)

    async def applications(self) -> set[str]:
        return await asyncio.to_thread(self._applications)

    def stop(self) -> None:
        """Stop the scratch Asterisk if this object started it (the server's cleanup)."""
        with self._lock:
            if self.started:
                self.instance.down()
                self.started = False
