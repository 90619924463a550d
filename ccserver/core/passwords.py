"""Password hashing with the standard library's scrypt.

A hash is a self-describing string ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` so the cost
parameters can be raised later: `needs_rehash` tells when a stored hash uses older ones, and the
caller re-hashes the password on the next successful login. Verification is constant-time.

Each hash takes about 32 MiB and tens of milliseconds of CPU: the server runs them on a
`HashingPool`, a small executor of its own with a bounded wait queue, so a flood of logins can
neither starve the event loop (nor the default executor its database calls run on) nor make
memory grow with the number of logins in flight.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import hmac
import logging
import os
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from .errors import CcError

logger = logging.getLogger(__name__)
T = TypeVar("T")

# scrypt cost: n=2**15, r=8, p=1 (about 32 MiB and ~50-100 ms per hash on a current CPU)
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
_PREFIX = "scrypt"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # maxmem: OpenSSL's default (32 MiB) is just too small for n=2**15, r=8
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=2 * 128 * r * (n + p + 2)
    )


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, n, r, p, HASH_BYTES)
    return f"{_PREFIX}${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != _PREFIX:
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return None
    # refuse absurd parameters rather than burn CPU/memory on a corrupted or hostile row
    if n < 2 or n & (n - 1) or n > 2**20 or not 1 <= r <= 32 or not 1 <= p <= 16 or not digest:
        return None
    return n, r, p, salt, digest


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches `stored`; False for a wrong password or an unusable hash."""
    parsed = _parse(stored)
    if parsed is None:
        return False
    n, r, p, salt, digest = parsed
    candidate = _scrypt(password, salt, n, r, p, len(digest))
    return hmac.compare_digest(candidate, digest)


def needs_rehash(stored: str) -> bool:
    """True when `stored` was made with other parameters than the current ones (or is unusable)."""
    parsed = _parse(stored)
    if parsed is None:
        return True
    n, r, p, salt, digest = parsed
    return (n, r, p, len(salt), len(digest)) != (SCRYPT_N, SCRYPT_R, SCRYPT_P, SALT_BYTES, HASH_BYTES)


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def verify_dummy(password: str) -> bool:
    """Spend the time of a real verification and return False: used when a login names an unknown
    or disabled user, so the answer takes as long as for a real one (no enumeration by timing)."""
    verify_password(password, _dummy_hash())
    return False


class HashingBusy(CcError):
    """Every password-hashing slot is taken: the caller answers at once instead of queueing."""

    error_id = "server-busy"
    status = 503


def _lower_priority() -> None:
    # Linux: the nice value is per thread. A hashing thread yields the CPU to the event loop, so
    # pages and APIs stay fast while logins queue (a no-op where unsupported)
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass


class HashingPool:
    """Runs password hashing on `workers` threads with at most `queue` calls waiting.

    At most `workers` hashes run at once, which bounds their memory (32 MiB each) and their
    CPU; a call arriving when `workers + queue` are already admitted raises `HashingBusy` at
    once rather than waiting behind an unbounded queue. Calls wait on the event loop, not in
    the executor, so `ready` can still give up (raise) just before a thread is used: a login
    whose account got locked while it waited spends no hash. Use it from one event loop."""

    def __init__(self, workers: int = 2, queue: int = 128) -> None:
        if workers < 1 or queue < 0:
            raise ValueError("a hashing pool needs workers >= 1 and queue >= 0")
        self.workers, self.queue = workers, queue
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="password-hash", initializer=_lower_priority
        )
        self._slots = asyncio.Semaphore(workers)
        self._admitted = 0
        self.refused = 0

    @property
    def admitted(self) -> int:
        """Calls running or waiting right now."""
        return self._admitted

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a hashing thread (raises `HashingBusy` at once when the queue is full);
        inside, `call` runs on it. What the caller does first inside (a last check, a quick
        database read on another executor) happens before any hash is spent."""
        if self._admitted >= self.workers + self.queue:
            self.refused += 1
            raise HashingBusy(
                "the server is busy checking other logins: try again in a moment",
                workers=self.workers,
                queue=self.queue,
            )
        self._admitted += 1
        try:
            async with self._slots:
                yield
        finally:
            self._admitted -= 1

    async def call(self, fn: Callable[..., T], *args) -> T:
        """Run `fn` on a hashing thread (inside `slot`)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def run(self, fn: Callable[..., T], *args, ready: Callable[[], None] | None = None) -> T:
        """`fn(*args)` on a hashing thread; `ready` may still give up (raise) just before."""
        async with self.slot():
            if ready is not None:
                ready()
            return await self.call(fn, *args)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
