"""One Asterisk node as the rest of the server sees it: AMI + ARI links, resync, health."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...core import events as ev
from ...core.errors import CcError
from ...core.events import PbxEvent
from .ami import AmiLink
from .ari import AriLink
from .fence import SnapshotFence
from .resync import take_snapshot

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PbxEndpoint:
    """Where and how to reach one Asterisk node."""

    ami_host: str
    ami_port: int
    ami_username: str
    ami_secret: str
    ari_url: str
    ari_username: str
    ari_password: str
    ari_app: str = "ccserver"
    node: str = "asterisk"

    @classmethod
    def of_instance(cls, info: Any, **changes: Any) -> PbxEndpoint:
        """The endpoint of a private Asterisk instance (its `InstanceInfo`), with `changes`."""
        values: dict[str, Any] = dict(
            ami_host=info.ami_host,
            ami_port=info.ami_port,
            ami_username=info.ami_username,
            ami_secret=info.ami_secret,
            ari_url=info.ari_url + "/",
            ari_username=info.ari_username,
            ari_password=info.ari_password,
            ari_app=info.ari_app,
            node=info.name,
        )
        values.update(changes)
        return cls(**values)


class PbxConnection:
    """The links to one node and its resync. A snapshot is taken after every (re)connect of
    either link, and, every `resync_interval` seconds, only when something suggests the events
    missed a change (an event about a channel never seen created, a link drop): a snapshot is
    a correction, never a blind overwrite of what events told (see `SnapshotFence`)."""

    def __init__(
        self,
        endpoint: PbxEndpoint,
        submit: Callable[[PbxEvent], None],
        *,
        command_timeout: float = 5.0,
        resync_interval: float = 60.0,
    ) -> None:
        self.endpoint = endpoint
        self._submit_to_intake = submit
        self.fence = SnapshotFence()
        submit = self._submit
        self.resync_interval = resync_interval
        self.ami = AmiLink(
            host=endpoint.ami_host,
            port=endpoint.ami_port,
            username=endpoint.ami_username,
            secret=endpoint.ami_secret,
            submit=submit,
            node=endpoint.node,
            command_timeout=command_timeout,
            on_login=self.request_resync,
        )
        self.ari = AriLink(
            base_url=endpoint.ari_url,
            username=endpoint.ari_username,
            password=endpoint.ari_password,
            app=endpoint.ari_app,
            submit=submit,
            node=endpoint.node,
            command_timeout=command_timeout,
            on_connect=self.request_resync,
        )
        self.last_resync_at: float | None = None
        self.last_resync_error = ""
        self.resyncs = 0
        self.resyncs_skipped = 0  # periodic checks that found no sign of drift
        self._resync_wanted = asyncio.Event()
        self._synced_since_login = False
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.ami.start()
        await self.ari.start()
        self._task = asyncio.get_running_loop().create_task(self._resync_loop(), name="pbx-resync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.ari.stop()
        await self.ami.stop()

    def _submit(self, event: PbxEvent) -> None:
        """Every event from the links goes through here, in order, on its way to the intake."""
        self.fence.observe(event)
        self._submit_to_intake(event)

    def request_resync(self) -> None:
        """Called on every (re)connect of either link: the snapshot is taken soon after."""
        self._synced_since_login = False
        self._resync_wanted.set()

    def suspect_drift(self, reason: str) -> None:
        """Something suggests our state differs from Asterisk's: resync at the next check."""
        if not self.fence.drift:
            self.fence.drift = reason

    async def _resync_loop(self) -> None:
        while True:
            reason = "link (re)connected"
            try:
                await asyncio.wait_for(self._resync_wanted.wait(), self.resync_interval)
            except TimeoutError:
                if not self.fence.drift:
                    self.resyncs_skipped += 1
                    continue  # the events kept us in step: nothing to correct
                reason = self.fence.drift
            self._resync_wanted.clear()
            if not self.ami.is_up:
                continue
            start_seq = self.fence.open()
            try:
                snapshot = await take_snapshot(self.ami, self.ari, self.endpoint.node)
            except CcError as exc:
                self.fence.close(ev.PbxSnapshot(node=self.endpoint.node))  # discarded
                self.last_resync_error = exc.message
                logger.warning("resync from %s failed: %s; retrying", self.endpoint.node, exc.message)
                await asyncio.sleep(0.5)
                self._resync_wanted.set()
                continue
            # synchronously with the submit: no event can slip between the fence and the intake
            snapshot, report = self.fence.close(snapshot)
            self._submit_to_intake(snapshot)
            self.resyncs += 1
            self.last_resync_at = time.time()
            self.last_resync_error = ""
            self._synced_since_login = True
            logger.info(
                "resync from %s (%s): %d channels, %d queue members; %d events arrived while "
                "it was taken (from #%d), %d entries kept from them",
                self.endpoint.node,
                reason,
                len(snapshot.channels),
                len(snapshot.queue_members),
                report.events,
                start_seq,
                report.corrected,
            )

    @property
    def healthy(self) -> bool:
        return self.ami.is_up and self.ari.is_up and self._synced_since_login

    def health(self) -> dict[str, Any]:
        return {
            "ami": {
                "state": self.ami.state,
                "error": self.ami.last_error,
                "address": f"{self.endpoint.ami_host}:{self.endpoint.ami_port}",
            },
            "ari": {"state": self.ari.state, "error": self.ari.last_error, "url": self.endpoint.ari_url},
            "resync": {
                "done": self._synced_since_login,
                "last_at": self.last_resync_at,
                "error": self.last_resync_error,
                "count": self.resyncs,
                "skipped": self.resyncs_skipped,
                "drift": self.fence.drift,
            },
        }
