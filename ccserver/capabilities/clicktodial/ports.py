"""What click-to-dial needs from outside: the queue callbacks (ACD repository), the agents' SIP
accounts (their own phone rings first), the supervisors' scopes and the call rows' customer
(ACD repository). Blocking: call them from a worker thread. The PBX commands are
`core.ports.PbxCommands` (originate)."""

from __future__ import annotations

from typing import Any, Protocol

from ...core.ports import PbxCommands  # noqa: F401 (the port this capability uses)


class CallbackStore(Protocol):
    def callbacks(self, status: str | None = None) -> list[Any]: ...
    def update_callback(self, callback_id: int, **fields: Any) -> None: ...


class AgentAccounts(Protocol):
    def sip_account_of(self, username: str) -> Any | None: ...  # .interface: "PJSIP/<sip user>"


class ScopeSource(Protocol):
    def scopes_of(self, username: str) -> tuple[set[str], set[str]]: ...
    def teams(self) -> dict[str, str]: ...


class CallNotes(Protocol):
    def annotate_call(self, uniqueid: str, **fields: Any) -> None: ...
