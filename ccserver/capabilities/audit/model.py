"""The audit log's rules, pure (no I/O): the hash chain that makes it tamper-evident, the client
address as it is stored, the filters of a search, and CSV cells that a spreadsheet cannot run.

The chain: entries are ordered by id; each stores `prev_hash` (the `entry_hash` of the entry
before it, `GENESIS` for the first) and `entry_hash` = SHA-256 of `canonical(entry)`, a JSON
serialisation of every stored field including `prev_hash`. Changing, deleting or inserting an
entry anywhere breaks the chain at that point (`verify_chain` names the first broken entry), and
an entry's time may not go back before its predecessor's (so an entry forged with a correct hash
at the end cannot pretend to belong in the past). What a chain alone cannot show: entries cut
off the end; compare `Verdict.head` (the last hash) with one noted elsewhere for that.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ...core.csvtext import neutralise_cell
from ...core.errors import InvalidInput
from ...core.text import Text

GENESIS = "0" * 64
CHAIN_VERSION = 1  # part of every canonical form: a future format cannot be confused with this one
ADDRESS_LENGTH = 64  # VARCHAR(64): the longest IPv6 text form (45) plus a zone id

# the client address of the request being served: the web edge sets it (adapters/web/app.py),
# the audit log stores it with every entry written while serving that request (asyncio.to_thread
# copies the context, so entries written from worker threads carry it too)
CLIENT_ADDRESS: ContextVar[str] = ContextVar("audit_client_address", default="")


@dataclass(frozen=True)
class Link:
    """One entry as the chain sees it (every stored field)."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    details: str  # the JSON text as stored, hashed byte for byte
    client_address: str
    prev_hash: str
    entry_hash: str = ""


def timestamp(at: datetime) -> str:
    """UTC, microseconds, as both databases store it (a naive time is refused, not guessed)."""
    if at.tzinfo is None:
        raise ValueError(Text("naive datetime %(at)r in the audit chain", at=at))
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(link: Link) -> bytes:
    """The bytes hashed for an entry: sorted keys, no spaces, UTF-8 (not ASCII escapes), so the
    same entry always gives the same bytes whatever wrote it."""
    body = {
        "v": CHAIN_VERSION,
        "id": link.id,
        "at": timestamp(link.at),
        "actor": link.actor,
        "action": link.action,
        "target": link.target,
        "details": link.details,
        "client_address": link.client_address,
        "prev_hash": link.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(link: Link) -> str:
    return hashlib.sha256(canonical(link)).hexdigest()


def chained(link: Link, prev_hash: str) -> Link:
    """`link` placed after an entry whose hash is `prev_hash`, with its own hash computed."""
    placed = Link(**{**link.__dict__, "prev_hash": prev_hash, "entry_hash": ""})
    return Link(**{**placed.__dict__, "entry_hash": entry_hash(placed)})


@dataclass(frozen=True)
class Broken:
    """The first entry where the chain does not hold, and why."""

    id: int
    at: datetime
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "reason": self.reason}


@dataclass(frozen=True)
class Verdict:
    """`ok` when every entry holds; `checked` entries read; `head` the last entry's hash."""

    checked: int
    head: str
    broken: Broken | None = None
    unsealed: int = 0  # entries from before the chain (0013), to be sealed

    @property
    def ok(self) -> bool:
        return self.broken is None and self.unsealed == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head": self.head,
            "unsealed": self.unsealed,
            "broken": self.broken.to_dict() if self.broken else None,
        }

    def summary(self) -> str:
        if self.broken is not None:
            return (
                f"audit chain BROKEN at entry {self.broken.id} ({self.broken.at.isoformat()}): "
                f"{self.broken.reason}; {self.checked} entries read"
            )
        if self.unsealed:
            return f"{self.unsealed} entries from before the chain are not sealed yet (ccserver audit seal)"
        return f"audit chain intact: {self.checked} entries, head {self.head}"


def verify_chain(links: Iterable[Link], after: Link | None = None) -> Verdict:
    """Walk the entries in id order and stop at the first that breaks the chain; `after`: the
    entry just before the first of `links` (None: they start at the beginning of the log).

    Entries with no hash at the very start are the legacy rows a `seal` will chain (counted,
    not broken); an entry without a hash after a chained one was not written by ccserver."""
    checked, unsealed, previous = 0, 0, after

    def broken(link: Link, reason: str) -> Verdict:
        head = previous.entry_hash if previous is not None else GENESIS
        return Verdict(checked, head, Broken(link.id, link.at, reason), unsealed)

    for link in links:
        checked += 1
        if not link.entry_hash:
            if previous is None:
                unsealed += 1
                continue
            return broken(link, "the entry has no hash: it was not written by ccserver")
        if previous is None and unsealed:
            return broken(link, "a chained entry follows entries that were never sealed")
        if link.prev_hash != (previous.entry_hash if previous is not None else GENESIS):
            if previous is None:
                return broken(link, "the first entry does not start the chain: entries before it were deleted")
            return broken(
                link, f"its previous hash is not entry {previous.id}'s: an entry between them was deleted or inserted"
            )
        if entry_hash(link) != link.entry_hash:
            return broken(link, "its content does not match its hash: it was changed after it was written")
        if previous is not None and link.at < previous.at:
            return broken(link, f"its time is before entry {previous.id}'s: it was back-dated")
        previous = link
    return Verdict(checked, previous.entry_hash if previous is not None else GENESIS, None, unsealed)


def seal(links: Iterable[Link], prev_hash: str = GENESIS) -> list[Link]:
    """Chain legacy entries (no hash yet) in their order, after `prev_hash`."""
    sealed = []
    for link in links:
        placed = chained(link, prev_hash)
        sealed.append(placed)
        prev_hash = placed.entry_hash
    return sealed


def normalise_address(text: str | None) -> str:
    """An IP address in its one canonical text form (IPv6 compressed and lower-case, an
    IPv4-mapped IPv6 address as the IPv4 it is), or "" when `text` is not an address (a Unix
    socket, nothing): never a free-form string in the column."""
    if not text:
        return ""
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    value = str(ip)
    return value if len(value) <= ADDRESS_LENGTH else ""


# --- searching -----------------------------------------------------------------------------

MAX_PAGE = 500
TEXT_LIMIT = 100


@dataclass(frozen=True)
class Filters:
    """A search of the log: exact actor and target, an action or action prefix (``login`` finds
    ``login``, ``login.failed``...), a time range (`since` inclusive, `until` exclusive) and a
    text found anywhere in the target or details."""

    since: datetime | None = None
    until: datetime | None = None
    actor: str = ""
    action: str = ""
    target: str = ""
    text: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def to_query(self) -> dict[str, str]:
        out = {
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "q": self.text,
        }
        return {k: v for k, v in out.items() if v}


def parse_instant(text: str, name: str) -> datetime:
    """An ISO 8601 time; a date alone is its midnight, a time without zone is UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            Text("%(name)s must be a date or an ISO 8601 time (2026-12-05T14:00Z)", name=name), field=name, value=text
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_filters(query: dict[str, str] | Any) -> Filters:
    """Filters from a query string (web) or CLI options, each bad field named."""
    get = query.get
    values: dict[str, Any] = {}
    for name in ("actor", "action", "target", "q"):
        value = str(get(name, "") or "").strip()
        if len(value) > (TEXT_LIMIT if name == "q" else 255):
            raise InvalidInput(Text("%(name)s is too long", name=name), field=name)
        if any(ch in value for ch in "\r\n\x00"):
            raise InvalidInput(Text("%(name)s may not contain control characters", name=name), field=name)
        values["text" if name == "q" else name] = value
    since = parse_instant(get("from"), "from") if get("from") else None
    until = parse_instant(get("to"), "to") if get("to") else None
    if since and until and until <= since:
        raise InvalidInput("to must be after from", field="to")
    return Filters(since=since, until=until, **values)


def parse_page(query: Any, default_size: int = 50) -> tuple[int, int]:
    """(page, size) from ``page`` (from 1) and ``size`` (1..MAX_PAGE)."""
    out = []
    for name, default, top in (("page", 1, 1_000_000), ("size", default_size, MAX_PAGE)):
        text = str(query.get(name, "") or default)
        if not text.isdigit() or not 1 <= int(text) <= top:
            raise InvalidInput(
                Text("%(name)s must be a whole number from 1 to %(top)s", name=name, top=top), field=name, value=text
            )
        out.append(int(text))
    return out[0], out[1]


# --- CSV -----------------------------------------------------------------------------------

CSV_COLUMNS = ("id", "at", "actor", "action", "target", "client_address", "details", "prev_hash", "entry_hash")


def csv_row(link: Link) -> list[str]:
    """One CSV line of the export, every text cell neutralised (core.csvtext)."""
    return [
        neutralise_cell(link.id),
        timestamp(link.at),
        *(neutralise_cell(v) for v in (link.actor, link.action, link.target, link.client_address, link.details)),
        link.prev_hash,
        link.entry_hash,
    ]
