"""User administration's rules: what a user looks like to an admin, what a valid name, role,
team or scope is, and what an edit changes. Pure: no I/O.

Roles: agents take calls and belong to a team (the team is kept on their SIP account row, so an
agent gets one once they have a phone); supervisors are scoped to teams, queues and outbound
campaigns (they see and act only inside them, see core/permissions.py); admins reach everything.
A user is disabled, never deleted: call records, evaluations and the audit log keep their name.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ...core.errors import InvalidInput
from ...core.text import Text

ROLES = ("agent", "supervisor", "admin")
USERNAME_RE = re.compile(r"^[a-z0-9._-]{2,32}$")
TEAM_RE = re.compile(r"^[\w .'-]{1,64}$")  # a label shown in pages and lists, never sent to Asterisk
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
MAX_DISPLAY_NAME = 100
SCOPE_KINDS = ("team", "queue", "campaign")


@dataclass(frozen=True)
class Scopes:
    """What a supervisor is given: team names, queue names, campaign ids (as strings)."""

    teams: frozenset[str] = frozenset()
    queues: frozenset[str] = frozenset()
    campaigns: frozenset[str] = frozenset()

    def rows(self) -> list[tuple[str, str]]:
        """(kind, value) rows of ``supervisor_scopes``, sorted."""
        return sorted(
            [("team", t) for t in self.teams]
            + [("queue", q) for q in self.queues]
            + [("campaign", c) for c in self.campaigns]
        )

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str]]) -> Scopes:
        found: dict[str, set[str]] = {kind: set() for kind in SCOPE_KINDS}
        for kind, value in rows:
            if kind in found:
                found[kind].add(value)
        return cls(frozenset(found["team"]), frozenset(found["queue"]), frozenset(found["campaign"]))

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "teams": sorted(self.teams),
            "queues": sorted(self.queues),
            "campaigns": sorted(self.campaigns, key=_id_key),
        }

    def __bool__(self) -> bool:
        return bool(self.teams or self.queues or self.campaigns)


def _id_key(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (0, value)


@dataclass(frozen=True)
class UserView:
    """A user as the admin pages, API and CLI show them (never the password hash)."""

    username: str
    display_name: str
    role: str
    active: bool
    team: str = ""
    scopes: Scopes = field(default_factory=Scopes)
    last_login_at: datetime | None = None
    phone: bool = False  # has a SIP account
    sip_username: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "active": self.active,
            "team": self.team,
            "scopes": self.scopes.to_dict(),
            "last_login_at": self.last_login_at.isoformat() if self.last_login_at else None,
            "phone": self.phone,
        }

    def audit_view(self) -> dict[str, Any]:
        """What the audit log keeps as before / after (no login time, no password)."""
        data = self.to_dict()
        data.pop("last_login_at")
        return data


@dataclass(frozen=True)
class UserEdit:
    """The fields an edit changes (None: unchanged)."""

    display_name: str | None = None
    role: str | None = None
    team: str | None = None
    scopes: Scopes | None = None


# --- validation: each error names its field ---------------------------------------------------


def check_username(username: Any) -> str:
    if not isinstance(username, str) or not USERNAME_RE.fullmatch(username):
        raise InvalidInput(
            "a username is 2 to 32 characters among a-z 0-9 . _ -", field="username", value=str(username)[:40]
        )
    return username


def check_role(role: Any) -> str:
    if role not in ROLES:
        raise InvalidInput(
            Text("unknown role %(role)r: one of %(value)s", role=role, value=", ".join(ROLES)),
            field="role",
            value=str(role)[:40],
        )
    return role


def check_display_name(name: Any) -> str:
    if not isinstance(name, str):
        raise InvalidInput("a display name is text", field="display_name")
    name = name.strip()
    if len(name) > MAX_DISPLAY_NAME:
        raise InvalidInput(
            Text("a display name has at most %(MAX_DISPLAY_NAME)s characters", MAX_DISPLAY_NAME=MAX_DISPLAY_NAME),
            field="display_name",
        )
    if any(ord(c) < 32 for c in name):
        raise InvalidInput("a display name has no control characters", field="display_name")
    return name


def check_password(password: Any) -> str:
    if not isinstance(password, str) or not password:
        raise InvalidInput("the password is empty", field="password")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            Text(
                "the password is too weak: at least %(MIN_PASSWORD_LENGTH)s characters",
                MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH,
            ),
            field="password",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            Text("a password has at most %(MAX_PASSWORD_LENGTH)s characters", MAX_PASSWORD_LENGTH=MAX_PASSWORD_LENGTH),
            field="password",
        )
    if password.strip() == "" or len(set(password)) < 3:
        raise InvalidInput("the password is too weak: use at least 3 different characters", field="password")
    return password


def generate_password() -> str:
    """A password an admin hands over once (16 URL-safe characters, ~96 bits)."""
    return secrets.token_urlsafe(12)


def check_team_name(name: Any, field_name: str = "team") -> str:
    if not isinstance(name, str) or not TEAM_RE.fullmatch(name.strip()) or name != name.strip():
        raise InvalidInput(
            "a team name is 1 to 64 letters, digits, spaces or . ' _ - (no leading or trailing space)",
            field=field_name,
            value=str(name)[:70],
        )
    return name


def parse_scopes(value: Any) -> Scopes:
    """Scopes from the API ({"teams": [...], "queues": [...], "campaigns": [...]}) or a form
    (comma-separated strings under the same keys)."""
    if value is None:
        return Scopes()
    if not isinstance(value, Mapping):
        raise InvalidInput("scopes: an object with teams, queues and campaigns", field="scopes")
    unknown = set(value) - {"teams", "queues", "campaigns"}
    if unknown:
        raise InvalidInput(
            Text("scopes: unknown key %(value)r (teams, queues, campaigns)", value=sorted(unknown)[0]), field="scopes"
        )
    out: dict[str, frozenset[str]] = {}
    for key in ("teams", "queues", "campaigns"):
        items = value.get(key) or []
        if isinstance(items, str):
            items = [i for i in (p.strip() for p in items.split(",")) if i]
        if not isinstance(items, list) or not all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in items):
            raise InvalidInput(Text("scopes.%(key)s: a list of names", key=key), field=f"scopes.{key}")
        names = [str(i).strip() for i in items]
        for name in names:
            if not name or len(name) > 64 or any(ord(c) < 32 for c in name):
                raise InvalidInput(
                    Text("scopes.%(key)s: bad name %(name)r", key=key, name=name),
                    field=f"scopes.{key}",
                    value=name[:70],
                )
            if key == "campaigns" and not name.isdigit():
                raise InvalidInput(
                    Text("scopes.campaigns: a campaign id, not %(name)r", name=name),
                    field="scopes.campaigns",
                    value=name,
                )
        out[key] = frozenset(str(int(n)) if key == "campaigns" else n for n in names)
    return Scopes(out["teams"], out["queues"], out["campaigns"])


def check_scopes_exist(
    scopes: Scopes, *, teams: Iterable[str], queues: Iterable[str], campaigns: Iterable[str]
) -> None:
    """Every team, queue and campaign a supervisor is given exists (the error names the first
    unknown one and its field)."""
    for key, given, known in (
        ("teams", scopes.teams, set(teams)),
        ("queues", scopes.queues, set(queues)),
        ("campaigns", scopes.campaigns, set(campaigns)),
    ):
        missing = sorted(given - known)
        if missing:
            kind = key[:-1]
            raise InvalidInput(
                Text("unknown %(kind)s %(missing)r", kind=kind, missing=missing[0]),
                field=f"scopes.{key}",
                value=missing[0],
            )


def changes(before: UserView, after: UserView) -> dict[str, dict[str, Any]]:
    """{field: {"before": ..., "after": ...}} of what differs (for the audit log)."""
    old, new = before.audit_view(), after.audit_view()
    return {k: {"before": old[k], "after": new[k]} for k in new if old.get(k) != new[k]}
