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
    def subscribe(self, name: str, listener: Any, topics: Iterable[str] | None = None,
                  maxsize: int = 10_000) -> Any: ...


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
    PbxCommandFailed, never hangs."""

    async def originate(self, request: OriginateRequest) -> str: ...
    async def queue_add(self, queue: str, interface: str, member_name: str = "",
                        penalty: int = 0, paused: bool = False, reason: str = "") -> None: ...
    async def queue_pause(self, queue: str | None, interface: str, paused: bool,
                          reason: str = "") -> None: ...
    async def queue_remove(self, queue: str, interface: str) -> None: ...
    async def hangup(self, channel: str) -> None: ...
    async def reload(self, module: str) -> None: ...  # e.g. res_pjsip.so, pbx_config.so (dialplan)
