"""What the dialplans capability needs from outside: the version store (the database adapter,
blocking: call it from a worker thread), the scratch Asterisk that loads a version first, and
the live Asterisk's dialplan directory."""

from __future__ import annotations

from typing import Protocol

from .model import Deployment, Version


class DialplanRepository(Protocol):
    def add_version(self, files: dict[str, str], author: str, comment: str) -> Version: ...
    def version(self, version_id: int) -> Version:
        """Raises NoSuchVersion."""
        ...

    def versions(self) -> list[Version]:
        """Newest first."""
        ...

    def add_deployment(
        self,
        *,
        actor: str,
        action: str,
        version_id: int,
        previous_version_id: int | None,
        outcome: str,
        comment: str = "",
        detail: str = "",
        seconds: float = 0.0,
    ) -> Deployment: ...
    def deployments(self, limit: int = 200) -> list[Deployment]:
        """Newest first."""
        ...

    def running_version_id(self) -> int | None:
        """The version the last successful apply or rollback left running."""
        ...


class ScratchAsterisk(Protocol):
    """A private Asterisk that is not the live one, started on first use and reused."""

    async def load(self, files: dict[str, str]) -> list[str]:
        """Load the files as its dialplans and reload its dialplan: the warnings and errors it
        logged meanwhile (raw log lines)."""
        ...

    async def applications(self) -> set[str]:
        """The dialplan applications this Asterisk has."""
        ...


class LiveDialplanFiles(Protocol):
    """The live Asterisk's dialplans/ directory (what `#include dialplans/*.conf` reads)."""

    def read_dialplans(self) -> dict[str, str]: ...
    def write_dialplans(self, files: dict[str, str]) -> None:
        """Replace the whole set (files not in `files` are removed), each file atomically."""
        ...


class LiveDialplanPbx(Protocol):
    """The live Asterisk over AMI: reload its dialplan, say which contexts it has loaded, place
    the health probe. Each raises the PBX errors (PbxUnavailable, PbxTimeout, PbxCommandFailed)."""

    async def reload_dialplan(self) -> None: ...
    async def loaded_contexts(self) -> set[str]: ...
    async def probe(self, channel: str, timeout: float) -> str | None:
        """Call `channel` (a Local channel): None when it was answered within `timeout`
        seconds, else why not."""
        ...


class Audit(Protocol):
    def record(self, actor: str, action: str, target: str = "", **details: object) -> object: ...


class ApplyLock(Protocol):
    """One dialplan change at a time across processes (the server and `ccserver dialplan`),
    held around a whole apply: check, write, reload, verify, probe, roll back. Blocking: call
    from a worker thread."""

    def try_acquire(self) -> bool:
        """Take it if no process holds it; False at once otherwise."""
        ...

    def release(self) -> None: ...
