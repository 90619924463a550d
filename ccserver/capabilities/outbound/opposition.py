"""Opposition lists as memory-mapped bitmaps over the French number space.

One bit per national significant number (NSN, see numbers.py): 10**9 bits = 125,000,000 bytes,
whatever the list's size. Membership is one byte read, so a million numbers are checked in a few
milliseconds with numpy, and many processes share the same pages through the OS page cache.

File layout: a 4096-byte header (magic ``CCOPPBM1`` then UTF-8 JSON metadata: kind, source,
scrubbed_at, built_at, count), then the bitmap (bit ``nsn & 7`` of byte ``nsn >> 3``).

A list is rebuilt into a temporary file in the same directory, flushed, then renamed over the old
one with ``os.replace`` (atomic on POSIX): a reader sees the old list or the new one, never half
of one. Readers already holding the old mapping keep it until they reopen.

Kinds: ``company-dnc`` (the company's own do-not-call list, always enforced), ``bloctel`` (an
opposition file imported from the Bloctel service), ``bloctel-scrub`` (built from a scrubbed
campaign file: the numbers the service removed). Bloctel lists carry their scrub date: older than
30 days, they block canvassing until re-scrubbed (compliance rule ``bloctel.list_stale``).

This module is an adapter: it reads and writes files. The decision itself stays in
compliance.py and only receives booleans and dates.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ...core.errors import InvalidInput
from ...core.text import Text
from .numbers import NSN_SPACE, normalize_many, parse_lines

logger = logging.getLogger(__name__)

MAGIC = b"CCOPPBM1"
HEADER_SIZE = 4096
BITMAP_BYTES = NSN_SPACE // 8  # 125,000,000
KINDS = ("company-dnc", "bloctel", "bloctel-scrub")
MAX_AGE = timedelta(days=30)


@dataclass(frozen=True)
class ListMeta:
    kind: str
    source: str
    scrubbed_at: str | None  # ISO-8601 UTC; None for the company list
    built_at: str
    count: int  # distinct numbers in the list

    @property
    def scrubbed(self) -> datetime | None:
        return datetime.fromisoformat(self.scrubbed_at) if self.scrubbed_at else None

    def is_stale(self, at: datetime, max_age: timedelta = MAX_AGE) -> bool:
        """A Bloctel list older than 30 days blocks canvassing until re-scrubbed."""
        if self.kind == "company-dnc":
            return False
        scrubbed = self.scrubbed
        return scrubbed is None or at - scrubbed > max_age


@dataclass(frozen=True)
class BuildReport:
    meta: ListMeta
    lines: int
    invalid_lines: int
    path: str


class OppositionList:
    """A read-only, memory-mapped opposition bitmap."""

    def __init__(self, path: Path, meta: ListMeta, bits: np.ndarray, mm: mmap.mmap | None):
        self.path = path
        self.meta = meta
        self._bits = bits
        self._mm = mm

    @classmethod
    def open(cls, path: str | Path, populate: bool = True) -> OppositionList:
        path = Path(path)
        with open(path, "rb") as f:
            header = f.read(HEADER_SIZE)
            meta = _read_header(header, path)
            size = os.fstat(f.fileno()).st_size
            if size != HEADER_SIZE + BITMAP_BYTES:
                raise InvalidInput("opposition bitmap has the wrong size", file=str(path), size=size)
            flags = mmap.MAP_SHARED
            if populate and hasattr(mmap, "MAP_POPULATE"):
                flags |= mmap.MAP_POPULATE  # fault the pages in now, not during lookups
            mm = mmap.mmap(f.fileno(), 0, flags=flags, prot=mmap.PROT_READ)
        bits = np.frombuffer(mm, dtype=np.uint8, count=BITMAP_BYTES, offset=HEADER_SIZE)
        return cls(path, meta, bits, mm)

    @classmethod
    def empty(cls, kind: str = "company-dnc") -> OppositionList:
        """An in-memory empty list (tests, no list configured)."""
        meta = ListMeta(kind, "empty", None, _now_iso(), 0)
        return cls(Path(""), meta, np.zeros(BITMAP_BYTES, dtype=np.uint8), None)

    def __contains__(self, nsn: int) -> bool:
        return 0 <= nsn < NSN_SPACE and bool((self._bits[nsn >> 3] >> (nsn & 7)) & 1)

    def contains_many(self, nsns: np.ndarray) -> np.ndarray:
        """Boolean membership for an int64 array of NSNs (-1, invalid, is never a member)."""
        nsns = np.asarray(nsns, dtype=np.int64)
        valid = (nsns >= 0) & (nsns < NSN_SPACE)
        safe = np.where(valid, nsns, 0)
        byte = self._bits[safe >> 3]
        hit = (byte >> (safe & 7).astype(np.uint8)) & 1
        return hit.astype(bool) & valid

    def contains_numbers(self, numbers: Iterable[str]) -> np.ndarray:
        return self.contains_many(normalize_many(list(numbers)))

    def count(self) -> int:
        return int(np.bitwise_count(self._bits.view(np.uint64)).sum())

    def close(self) -> None:
        self._bits = np.zeros(0, dtype=np.uint8)
        if self._mm is not None:
            try:
                self._mm.close()
            except BufferError:  # arrays handed out still view it: the GC will close it
                pass
            self._mm = None


class OppositionStore:
    """Holds the current list of one kind and swaps in a rebuilt one atomically."""

    def __init__(self, path: str | Path, kind: str):
        self.path = Path(path)
        self.kind = kind
        self._lock = threading.Lock()  # serializes rebuilds; readers never wait
        self._current: OppositionList | None = None
        if self.path.exists():
            self._current = OppositionList.open(self.path)

    @property
    def current(self) -> OppositionList | None:
        return self._current

    def rebuild_from_file(
        self, text_file: str | Path, *, scrubbed_at: datetime | None, source: str | None = None
    ) -> BuildReport:
        with self._lock:
            report = build_from_text_file(text_file, self.path, kind=self.kind, scrubbed_at=scrubbed_at, source=source)
            self._current = OppositionList.open(self.path)  # one reference assignment: atomic
            return report


# --- building ----------------------------------------------------------------------------------
class BitmapBuilder:
    """Accumulates NSNs into a bitmap in memory."""

    def __init__(self) -> None:
        self.bits = np.zeros(BITMAP_BYTES, dtype=np.uint8)
        self.lines = 0
        self.invalid = 0

    def add(self, nsns: np.ndarray) -> None:
        nsns = np.asarray(nsns, dtype=np.int64)
        self.lines += nsns.size
        valid = nsns[(nsns >= 0) & (nsns < NSN_SPACE)]
        self.invalid += nsns.size - valid.size
        # one pass per bit position: inside a pass, repeated bytes get the same value, so a
        # plain fancy-indexed read-modify-write is exact (and faster than ufunc.at)
        low = (valid & 7).astype(np.uint8)
        byte = valid >> 3
        for b in range(8):
            sel = byte[low == b]
            self.bits[sel] |= np.uint8(1 << b)

    def remove(self, nsns: np.ndarray) -> None:
        nsns = np.asarray(nsns, dtype=np.int64)
        valid = nsns[(nsns >= 0) & (nsns < NSN_SPACE)]
        low = (valid & 7).astype(np.uint8)
        byte = valid >> 3
        for b in range(8):
            sel = byte[low == b]
            self.bits[sel] &= np.uint8(0xFF ^ (1 << b))

    def count(self) -> int:
        return int(np.bitwise_count(self.bits.view(np.uint64)).sum())

    def write(self, path: str | Path, *, kind: str, scrubbed_at: datetime | None, source: str) -> ListMeta:
        if kind not in KINDS:
            raise InvalidInput(
                Text("unknown opposition list kind, expected one of %(KINDS)s", KINDS=KINDS), field="kind", value=kind
            )
        if kind != "company-dnc" and scrubbed_at is None:
            raise InvalidInput("a Bloctel list needs its scrub date", field="scrubbed_at")
        if scrubbed_at is not None and scrubbed_at.tzinfo is None:
            raise InvalidInput("the scrub date must be timezone-aware", field="scrubbed_at")
        meta = ListMeta(
            kind=kind,
            source=source,
            scrubbed_at=(scrubbed_at.astimezone(UTC).isoformat() if scrubbed_at else None),
            built_at=_now_iso(),
            count=self.count(),
        )
        _atomic_write(Path(path), _header(meta), self.bits)
        return meta


def build_from_nsns(
    path: str | Path, nsns: np.ndarray, *, kind: str, scrubbed_at: datetime | None, source: str = "numbers"
) -> ListMeta:
    builder = BitmapBuilder()
    builder.add(nsns)
    return builder.write(path, kind=kind, scrubbed_at=scrubbed_at, source=source)


def build_from_text_file(
    text_file: str | Path,
    path: str | Path,
    *,
    kind: str,
    scrubbed_at: datetime | None,
    source: str | None = None,
    chunk_bytes: int = 1 << 20,
) -> BuildReport:
    """Rebuild a list from a text file of numbers (one a line, any common French writing)."""
    builder = BitmapBuilder()
    with open(text_file, "rb") as f:
        for nsns in iter_file_numbers(f, chunk_bytes):
            builder.add(nsns)
    meta = builder.write(path, kind=kind, scrubbed_at=scrubbed_at, source=source or Path(text_file).name)
    logger.info(
        "opposition list %s rebuilt from %s: %d lines, %d invalid, %d numbers",
        path,
        text_file,
        builder.lines,
        builder.invalid,
        meta.count,
    )
    return BuildReport(meta, builder.lines, builder.invalid, str(path))


def build_from_scrub(
    path: str | Path,
    submitted: np.ndarray,
    returned: np.ndarray,
    *,
    scrubbed_at: datetime,
    source: str = "bloctel scrub",
) -> ListMeta:
    """From a campaign file sent to Bloctel and the scrubbed file it returned: the numbers the
    service removed are the opposed ones."""
    builder = BitmapBuilder()
    builder.add(submitted)
    builder.remove(returned)
    return builder.write(path, kind="bloctel-scrub", scrubbed_at=scrubbed_at, source=source)


def iter_file_numbers(f: BinaryIO, chunk_bytes: int = 1 << 20) -> Iterable[np.ndarray]:
    """NSN arrays from a binary text stream, chunk by chunk (reusing one buffer)."""
    buf = bytearray(chunk_bytes)
    view = memoryview(buf)
    carry = b""
    while True:
        n = f.readinto(view)
        if not n:
            break
        data = np.frombuffer(buf, dtype=np.uint8, count=n)
        last_nl = int(n - 1 - np.argmax(data[::-1] == 10)) if (data == 10).any() else -1
        if last_nl < 0:
            carry += bytes(view[:n])
            continue
        if carry:
            head_end = int(np.argmax(data == 10))
            yield parse_lines(carry + bytes(view[: head_end + 1]))
            start = head_end + 1
        else:
            start = 0
        if last_nl + 1 > start:
            yield parse_lines(data[start : last_nl + 1])
        carry = bytes(view[last_nl + 1 : n])
    if carry.strip():
        yield parse_lines(carry)


def _header(meta: ListMeta) -> bytes:
    body = MAGIC + json.dumps(asdict(meta), ensure_ascii=False).encode("utf-8")
    if len(body) > HEADER_SIZE:
        raise InvalidInput("opposition list metadata too long", field="source")
    return body + b"\0" * (HEADER_SIZE - len(body))


def _read_header(header: bytes, path: Path) -> ListMeta:
    if len(header) < HEADER_SIZE or not header.startswith(MAGIC):
        raise InvalidInput("not an opposition bitmap file", file=str(path))
    try:
        data = json.loads(header[len(MAGIC) :].rstrip(b"\0").decode("utf-8"))
        return ListMeta(**data)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(Text("unreadable opposition bitmap header: %(exc)s", exc=exc), file=str(path)) from None


def is_bitmap_file(path: str | Path) -> bool:
    with open(path, "rb") as f:
        return f.read(len(MAGIC)) == MAGIC


def _atomic_write(path: Path, header: bytes, bits: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(header)
            f.write(memoryview(bits))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()
