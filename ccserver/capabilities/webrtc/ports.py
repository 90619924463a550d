"""What the browser phone needs from outside: the agent's SIP account (the ACD repository),
where generated Asterisk files go, and a PJSIP reload."""

from __future__ import annotations

from typing import Protocol

from ..acd.model import AgentAccount


class Accounts(Protocol):
    def agent(self, username: str) -> AgentAccount:
        """The agent's account (blocking: called from a worker thread); raises NoSuchAgent."""
        ...


class ConfigWriter(Protocol):
    def write_generated(self, filename: str, text: str) -> object: ...


class PjsipReload(Protocol):
    is_up: bool

    async def reload(self, module: str) -> None: ...
