"""What the phones capability needs from outside: its repository (implemented by
`ccserver.adapters.db.phones.PhoneRepository`). Blocking: call it from a worker thread."""

from __future__ import annotations

from typing import Any, Protocol

from .model import PhoneLine


class PhoneRepository(Protocol):
    def lines(self) -> list[PhoneLine]:
        """Every active user with the state of their phone, by username."""
        ...

    def line(self, username: str) -> PhoneLine:
        """One active user and their phone; raises NoSuchUser (admin.errors)."""
        ...

    def create_phone(self, username: str, sip_username: str, password: str) -> PhoneLine:
        """A SIP account for an existing active user, storing only the password's digests;
        Conflict (field ``username``) when they have one or the SIP name is taken."""
        ...

    def set_phone_password(self, username: str, password: str) -> PhoneLine:
        """New digests for the user's SIP account; raises NoSuchPhone when they have none."""
        ...


class Audit(Protocol):
    def record(self, actor: str, action: str, target: str = "", **details: Any) -> Any: ...


class Registrations(Protocol):
    """Which phones are registered now (the PBX's contacts). Raises the PBX errors (PbxUnavailable,
    PbxTimeout, PbxCommandFailed) when it cannot tell."""

    async def registered(self) -> set[str]:
        """The SIP user names with at least one registered contact."""
        ...
