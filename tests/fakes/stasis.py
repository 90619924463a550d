"""A fake `StasisCommands` (the IVR engine's ARI commands): records every command, answers
``DIALPLAN_EXISTS(...)`` and ``CHANNEL(linkedid)``, and fails the commands it is told to."""

from __future__ import annotations

import asyncio
from typing import Any

from ccserver.core.errors import PbxCommandFailed


def command_failed(op: str, status: int = 500, *, gone: bool = False) -> PbxCommandFailed:
    """What the adapter raises: `gone` when the channel no longer exists or left Stasis."""
    details: dict[str, Any] = {"operation": op, "status": status}
    if gone:
        details["gone"] = True
    return PbxCommandFailed(f"ARI {op} failed: {status}", **details)


class FakeStasis:
    def __init__(self, linkedid: str = "linked-1") -> None:
        self.log: list[tuple[str, Any]] = []  # (command, its arguments); tests add their own
        self.failures: dict[str, BaseException] = {}  # command -> what it raises
        self.missing_contexts: set[str] = set()
        self.channels_in_app: set[str] = set()
        self.linkedid = linkedid

    async def _command(self, op: str, **params: Any) -> None:
        self.log.append((op, params))
        await asyncio.sleep(0)
        failure = self.failures.get(op)
        if failure is not None:
            raise failure

    def ops(self, name: str) -> list[dict[str, Any]]:
        return [params for op, params in self.log if op == name]

    async def answer(self, channel_id: str) -> None:
        await self._command("answer", channel_id=channel_id)

    async def play(self, channel_id: str, media: list[str], *, language: str = "", playback_id: str = "") -> str:
        await self._command(
            "play", channel_id=channel_id, media=list(media), language=language, playback_id=playback_id
        )
        return playback_id

    async def stop_playback(self, playback_id: str) -> None:
        await self._command("stop_playback", playback_id=playback_id)

    async def hangup(self, channel_id: str) -> None:
        await self._command("hangup", channel_id=channel_id)

    async def continue_in_dialplan(self, channel_id: str, context: str, exten: str, priority: int = 1) -> None:
        await self._command(
            "continue_in_dialplan", channel_id=channel_id, context=context, exten=exten, priority=priority
        )

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        await self._command("set_variable", channel_id=channel_id, name=name, value=value)

    async def get_variable(self, channel_id: str, name: str) -> str:
        await self._command("get_variable", channel_id=channel_id, name=name)
        if name.startswith("DIALPLAN_EXISTS("):
            context = name[len("DIALPLAN_EXISTS(") :].split(",")[0]
            return "0" if context in self.missing_contexts else "1"
        if name == "CHANNEL(linkedid)":
            return self.linkedid
        return ""

    async def app_channels(self) -> set[str]:
        await self._command("app_channels")
        return set(self.channels_in_app)
