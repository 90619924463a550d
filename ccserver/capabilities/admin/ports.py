"""What user administration needs from outside: the users and the web sessions (implemented by
adapters/db/repositories.py), the audit log. Synchronous: call through ``asyncio.to_thread``."""

from __future__ import annotations

from typing import Any, Protocol


class Users(Protocol):
    def require(self, username: str) -> Any:
        """The user; raises `NoSuchUser` (.errors)."""
        ...

    def update(self, username: str, *, active: bool | None = None) -> Any: ...
    def set_password(self, username: str, password: str) -> Any: ...


class Sessions(Protocol):
    def delete_for_user(self, user_id: int) -> int: ...
    def purge_expired(self) -> int: ...


class Audit(Protocol):
    def record(self, actor: str, action: str, target: str = "", **details: Any) -> Any: ...
