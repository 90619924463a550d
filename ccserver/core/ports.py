"""Ports: what the core and the capabilities need from the outside world.

Adapters implement them (AMI/ARI in `ccserver.adapters.pbx`, the database in `ccserver.adapters.db`,
the bus in `ccserver.core.bus` or a broker adapter). Every PBX command has a timeout and is never
replayed after a reconnect: on an outage it fails with `PbxUnavailable`, and the caller decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .events import Event


class EventBus(Protocol):
    def publish(self, event: Event) -> None: ...
    def subscribe(
        self, name: str, listener: Any, topics: Iterable[str] | None = None, maxsize: int = 10_000
    ) -> Any: ...


class EventIntake(Protocol):
    """The one ordered intake of PBX events (`core.bus.Intake`): synchronous handlers per type."""

    def add_handler(self, event_type: type, handler: Any) -> None: ...
    def submit(self, event: Event) -> None: ...


class AuditTrail(Protocol):
    """Append-only record of who did what (the database adapter's `AuditLog`). Blocking: call it
    from a worker thread (`asyncio.to_thread`)."""

    def record(self, actor: str, action: str, target: str = "", **details: Any) -> Any: ...


class ConfigWriter(Protocol):
    """Where generated Asterisk configuration goes (the private instance's directory)."""

    def write_generated(self, filename: str, text: str) -> Any: ...


@dataclass(frozen=True)
class OriginateRequest:
    """Place a call. `channel` is a dial string (``PJSIP/agent1``, ``Local/100@ivr``)."""

    channel: str
    context: str | None = None
    exten: str | None = None
    priority: int = 1
    application: str | None = None
    data: str | None = None
    caller_id: str | None = None
    timeout_ms: int = 30_000
    variables: dict[str, str] = field(default_factory=dict)
    action_id: str | None = None
    channel_id: str | None = None  # the uniqueid the new channel gets (AMI ChannelId)


class PbxCommands(Protocol):
    """Commands the server sends to Asterisk (AMI). Each raises PbxUnavailable / PbxTimeout /
    PbxCommandFailed, never hangs, and is never replayed after a reconnect. Arguments are
    checked by the adapter (no CR/LF reaches AMI)."""

    @property
    def is_up(self) -> bool: ...

    async def originate(self, request: OriginateRequest) -> str: ...
    async def queue_add(
        self,
        queue: str,
        interface: str,
        member_name: str = "",
        penalty: int = 0,
        paused: bool = False,
        reason: str = "",
    ) -> None: ...
    async def queue_pause(self, queue: str | None, interface: str, paused: bool, reason: str = "") -> None: ...
    async def queue_remove(self, queue: str, interface: str) -> None: ...
    async def queue_penalty(self, queue: str, interface: str, penalty: int) -> None: ...
    # what app_queue runs now: queue name -> its QueueStatus parameters (lower-cased keys:
    # strategy, max, servicelevel...); None when this PBX link cannot tell
    async def queue_params(self) -> dict[str, dict[str, str]] | None: ...
    async def hangup(self, channel: str) -> None: ...
    async def reload(self, module: str) -> None: ...  # e.g. res_pjsip.so, pbx_config.so (dialplan)
    async def mix_monitor(self, channel: str, filename: str, options: str = "b") -> None: ...
    async def mix_monitor_mute(self, channel: str, muted: bool, direction: str = "both") -> None: ...
    async def stop_mix_monitor(self, channel: str) -> None: ...
    async def play_dtmf(self, channel: str, digit: str, duration_ms: int = 120) -> None: ...
    async def set_variable(self, channel: str, name: str, value: str) -> None: ...


class StasisCommands(Protocol):
    """Commands on channels in our Stasis application (ARI), what the IVR engine issues. Each
    has a timeout and is never replayed; it raises PbxUnavailable / PbxTimeout /
    PbxCommandFailed. A command on a channel that no longer exists or has left Stasis raises
    PbxCommandFailed with ``details["gone"] = True``. Arguments are checked by the adapter: no
    CR/LF in names, ids or media; in a variable's value, CR/LF become spaces."""

    async def answer(self, channel_id: str) -> None: ...
    async def play(
        self, channel_id: str, media: list[str], *, language: str = "", playback_id: str = ""
    ) -> str: ...  # the playback id
    async def stop_playback(self, playback_id: str) -> None: ...  # finished already: no error
    async def hangup(self, channel_id: str) -> None: ...
    async def continue_in_dialplan(self, channel_id: str, context: str, exten: str, priority: int = 1) -> None: ...
    async def set_variable(self, channel_id: str, name: str, value: str) -> None: ...
    async def get_variable(self, channel_id: str, name: str) -> str: ...  # functions too
    async def app_channels(self) -> set[str]: ...  # ids of the channels in our application
