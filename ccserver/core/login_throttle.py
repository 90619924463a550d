"""Failed-login throttling: pure logic, no I/O, time from an injected `Clock`.

Two independent scopes are counted: the account (the username as typed, known or not, so the
answer never tells whether a user exists) and the client address (IPv4 /32, IPv6 /64: one
machine usually owns a whole /64). Each scope tolerates a few failures, then every further
failure locks the key for a growing time (doubling, capped): a real agent who mistypes five
times waits 30 seconds, a password guesser gets a handful of tries per hour. Failures are
forgiven one by one with quiet time, so a locked-out agent is not punished forever, and a
success clears the account's counter (never the address's: a valid account on the attacker's
side must not launder the address it guesses from).

While a key is locked its attempts are refused before any password is hashed and are not
counted (so the lock ends when announced). Each lock is reported once, when it starts, for the
audit log. Memory is bounded: each scope keeps at most `max_entries` keys, dropping the least
recently touched one, so a flood of random usernames or addresses cannot grow it.
"""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .clock import Clock

ACCOUNT = "account"
ADDRESS = "address"


@dataclass(frozen=True)
class ThrottlePolicy:
    """How one scope reacts to failures."""

    # the failure that starts the first lock: the 5th one with 5 (0: this scope never locks)
    lock_at: int
    # the first lock; each further failure doubles it
    first_lock: timedelta
    max_lock: timedelta
    # one failure is forgiven per this much quiet time (no failure, no lock)
    forgive_every: timedelta

    def __post_init__(self) -> None:
        if self.lock_at < 0:
            raise ValueError("lock_at must be >= 0")
        if self.first_lock <= timedelta(0) or self.max_lock < self.first_lock:
            raise ValueError("locks must be positive and max_lock >= first_lock")
        if self.forgive_every <= timedelta(0):
            raise ValueError("forgive_every must be positive")

    @property
    def enabled(self) -> bool:
        return self.lock_at > 0

    def lock_after(self, failures: int) -> timedelta:
        """How long the key is locked right after its `failures`-th failure (0 if not locked)."""
        excess = failures - self.lock_at
        if not self.enabled or excess < 0:
            return timedelta(0)
        if excess > 40:  # 2**40 locks are past any cap: no huge floats
            return self.max_lock
        return min(self.max_lock, self.first_lock * 2**excess)


ACCOUNT_POLICY = ThrottlePolicy(
    lock_at=5, first_lock=timedelta(seconds=30), max_lock=timedelta(minutes=15), forgive_every=timedelta(minutes=10)
)
# a call center often logs in from one NAT address: more failures tolerated, forgiven faster
ADDRESS_POLICY = ThrottlePolicy(
    lock_at=20, first_lock=timedelta(seconds=10), max_lock=timedelta(minutes=15), forgive_every=timedelta(seconds=30)
)


@dataclass(frozen=True)
class Refusal:
    """An attempt refused without checking the password: come back in `retry_after` seconds."""

    scope: str
    key: str
    retry_after: int


@dataclass(frozen=True)
class Lock:
    """A lock that just started (to be written to the audit log)."""

    scope: str
    key: str
    failures: int
    until: datetime
    seconds: int


@dataclass
class _Entry:
    failures: int = 0
    # failures are forgiven from this instant on (the last failure, or the end of its lock),
    # one per policy.forgive_every
    since: datetime | None = None
    locked_until: datetime | None = None
    # attempts admitted whose outcome is not known yet (accounts only)
    pending: int = 0


@dataclass
class _Scope:
    name: str
    policy: ThrottlePolicy
    max_entries: int
    entries: OrderedDict[str, _Entry] = field(default_factory=OrderedDict)

    def get(self, key: str, now: datetime, *, create: bool) -> _Entry | None:
        entry = self.entries.get(key)
        if entry is None:
            if not create:
                return None
            entry = self.entries[key] = _Entry()
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)
        else:
            self.entries.move_to_end(key)
            self._forgive(entry, now)
        return entry

    def _forgive(self, entry: _Entry, now: datetime) -> None:
        if entry.failures and entry.since is not None and now > entry.since:
            steps = (now - entry.since) // self.policy.forgive_every
            if steps:
                entry.failures = max(0, entry.failures - steps)
                entry.since += steps * self.policy.forgive_every
        if entry.locked_until is not None and entry.locked_until <= now:
            entry.locked_until = None

    def drop_if_idle(self, key: str, entry: _Entry) -> None:
        if not entry.failures and not entry.pending and entry.locked_until is None:
            self.entries.pop(key, None)

    def locked_for(self, entry: _Entry, now: datetime) -> int:
        if entry.locked_until is None or entry.locked_until <= now:
            return 0
        return max(1, math.ceil((entry.locked_until - now).total_seconds()))

    def failed(self, key: str, now: datetime) -> Lock | None:
        entry = self.get(key, now, create=True)
        assert entry is not None
        entry.failures += 1
        entry.pending = max(0, entry.pending - 1)
        entry.since = now  # forgiving starts again after this failure (and after its lock)
        duration = self.policy.lock_after(entry.failures)
        if not duration:
            return None
        until = now + duration
        already = entry.locked_until is not None and entry.locked_until > now
        entry.locked_until = max(until, entry.locked_until) if already else until  # type: ignore[type-var]
        entry.since = entry.locked_until
        if already:
            return None  # attempts admitted before the lock started: it is reported once
        return Lock(self.name, key, entry.failures, until, int(duration.total_seconds()))


class LoginThrottle:
    """Counts failed logins per account and per address. Not thread-safe: call it from the
    event loop only (every method is quick)."""

    def __init__(
        self,
        clock: Clock,
        *,
        account: ThrottlePolicy = ACCOUNT_POLICY,
        address: ThrottlePolicy = ADDRESS_POLICY,
        max_entries: int = 10_000,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self.clock = clock
        self._account = _Scope(ACCOUNT, account, max_entries)
        self._address = _Scope(ADDRESS, address, max_entries)

    @staticmethod
    def account_key(username: str) -> str:
        return username.strip().lower()[:64]

    def admit(self, username: str, address: str) -> Refusal | None:
        """None when this attempt may check its password (then report it with `failed`,
        `succeeded` or `abandoned`); else why and for how long it is refused."""
        now = self.clock.now()
        account = self.account_key(username)
        refusals = self._locks(account, address_key(address), now)
        if self._account.policy.enabled and not refusals:
            # concurrent guesses on one account: no more in flight than failures left before a
            # lock (at least one), or a burst of parallel tries would all slip under the limit
            entry = self._account.get(account, now, create=True)
            assert entry is not None
            room = max(1, self._account.policy.lock_at - entry.failures)
            if entry.pending >= room:
                refusals.append(Refusal(ACCOUNT, account, 1))
            else:
                entry.pending += 1
        if not refusals:
            return None
        return max(refusals, key=lambda r: r.retry_after)

    def locked(self, username: str, address: str) -> Refusal | None:
        """Whether the account or the address is locked right now (counts nothing): an attempt
        admitted earlier asks again just before its password is hashed."""
        refusals = self._locks(self.account_key(username), address_key(address), self.clock.now())
        return max(refusals, key=lambda r: r.retry_after) if refusals else None

    def _locks(self, account: str, where: str, now: datetime) -> list[Refusal]:
        refusals = []
        for scope, key in ((self._account, account), (self._address, where)):
            if not scope.policy.enabled:
                continue
            entry = scope.get(key, now, create=False)
            if entry is None:
                continue
            wait = scope.locked_for(entry, now)
            if wait:
                refusals.append(Refusal(scope.name, key, wait))
            elif scope is self._address:
                scope.drop_if_idle(key, entry)
        return refusals

    def failed(self, username: str, address: str) -> list[Lock]:
        """A wrong password (or unknown user): the locks this failure started, if any."""
        now = self.clock.now()
        locks = []
        for scope, key in ((self._account, self.account_key(username)), (self._address, address_key(address))):
            if scope.policy.enabled:
                lock = scope.failed(key, now)
                if lock is not None:
                    locks.append(lock)
        return locks

    def succeeded(self, username: str, address: str) -> None:
        """The right password: the account starts afresh (the address keeps its count; other
        attempts still in flight on the account are forgotten too, harmlessly)."""
        self._account.entries.pop(self.account_key(username), None)

    def abandoned(self, username: str, address: str) -> None:
        """An admitted attempt whose password was never checked (the server was busy)."""
        now = self.clock.now()
        key = self.account_key(username)
        entry = self._account.get(key, now, create=False)
        if entry is not None:
            entry.pending = max(0, entry.pending - 1)
            self._account.drop_if_idle(key, entry)

    def tracked(self) -> tuple[int, int]:
        """(accounts, addresses) currently remembered (memory is bounded by max_entries each)."""
        return len(self._account.entries), len(self._address.entries)


def address_key(address: str | None) -> str:
    """The unit an address is counted by: an IPv4 address, or the /64 of an IPv6 one (an
    IPv4-mapped IPv6 address counts as its IPv4 address). Anything else is kept as given."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address.strip().split("%", 1)[0])
    except ValueError:
        return address.strip()[:64] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
