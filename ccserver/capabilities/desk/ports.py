"""What the desk snapshot reads from the other capabilities (their live services)."""

from __future__ import annotations

from typing import Any, Protocol


class AgentStates(Protocol):
    def status_of(self, username: str) -> Any:
        """The agent's live `AgentStatus` (with `to_dict()`), None if they have no agent account."""
        ...

    def focus_call(self, username: str, uniqueid: str) -> list[Any]:
        """Show the agent's call `uniqueid` (one of their other calls): the events to publish."""
        ...


class CallControls(Protocol):
    def control_state(self, uniqueid: str) -> dict[str, Any] | None:
        """The controlled call's state (held, muted, consulting...), None if never controlled."""
        ...


class Callbacks(Protocol):
    async def callbacks_for(self, username: str, role: str) -> list[dict[str, Any]]: ...


class Recordings(Protocol):
    def desk_state(self, username: str) -> dict[str, Any]: ...
