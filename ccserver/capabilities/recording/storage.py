"""Where recordings live: Asterisk's spool (MixMonitor writes there) and ccserver's store.

When a recorded call ends, `RecordingStore.ingest` moves the WAV from the spool into the store
(``<store>/YYYY/MM/DD/<id>.wav``), computing its SHA-256, size and duration on the way, and,
when a key is configured, encrypting it at rest (``.wav.enc``).

Encryption at rest: AES-256-GCM by chunks, so a player's range request decrypts only the
chunks it needs. Layout: a 28-byte header (magic ``CCSREC1\\0``, chunk size u32, nonce prefix
8 bytes, plaintext size u64), then for chunk i its ciphertext and 16-byte tag, nonce = prefix +
i (u32 big-endian), associated data = header + i + a last-chunk flag (a truncated, reordered or
resized file fails to decrypt). The SHA-256 recorded is the plaintext WAV's.

Synchronous file I/O: the service calls these through ``asyncio.to_thread``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import secrets
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ...core.errors import ConfigurationError, NotFound
from ...core.text import Text
from .model import parse_wav_header

logger = logging.getLogger(__name__)

MAGIC = b"CCSREC1\0"
HEADER = struct.Struct("<8sI8sQ")  # magic, chunk size, nonce prefix, plaintext size
CHUNK = 64 * 1024
TAG = 16
READ_PIECE = 64 * 1024
# recordings are personal data: never readable by other users of the machine
RECORDING_FILE_MODE = 0o640
RECORDING_DIR_MODE = 0o750


def _make_private_dirs(store: Path, directory: Path) -> None:
    """`directory` (inside `store`) and the directories between, created 0750."""
    for path in [store, *reversed(directory.relative_to(store).parents), directory]:
        path = store / path if not path.is_absolute() else path
        if not path.is_dir():
            path.mkdir(mode=RECORDING_DIR_MODE, parents=True, exist_ok=True)
            os.chmod(path, RECORDING_DIR_MODE)


def parse_key(text: str) -> bytes | None:
    """The AES-256 key from settings (base64 or hex of 32 bytes); None when empty."""
    text = (text or "").strip()
    if not text:
        return None
    for decode in (
        lambda t: bytes.fromhex(t),
        lambda t: base64.b64decode(t, validate=True),
        lambda t: base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)),
    ):
        try:
            key = decode(text)
        except (ValueError, binascii.Error):
            continue
        if len(key) == 32:
            return key
    raise ConfigurationError(
        "recording_encryption_key must be 32 bytes in hex or base64 "
        "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)",
        field="recording_encryption_key",
    )


@dataclass(frozen=True)
class StoredFile:
    path: str  # relative to the store
    size_bytes: int  # of the WAV (plaintext)
    sha256: str
    duration_ms: int
    encrypted: bool


class RecordingFileMissing(NotFound):
    error_id = "recording-file-missing"


class RecordingStore:
    def __init__(self, store_dir: Path, spool_dir: Path | None, key: bytes | None = None) -> None:
        self.store_dir = Path(store_dir)
        self.spool_dir = Path(spool_dir) if spool_dir else None
        self.key = key
        self.close_timeout = 3.0  # seconds to wait for MixMonitor's file after the hangup

    @property
    def encrypting(self) -> bool:
        return self.key is not None

    # --- the spool -----------------------------------------------------------------------------
    def spool_path(self, spool_name: str) -> Path | None:
        if self.spool_dir is None:
            return None
        path = (self.spool_dir / spool_name).resolve()
        if self.spool_dir.resolve() not in path.parents:
            raise ValueError(Text("spool name %(spool_name)r leaves the spool directory", spool_name=spool_name))
        return path

    def wait_closed(self, spool_name: str, timeout: float | None = None, step: float = 0.1) -> Path | None:
        """The spool file once its size stopped changing (MixMonitor closes it right after the
        hangup); None if it never appeared (the call was never bridged)."""
        path = self.spool_path(spool_name)
        if path is None:
            return None
        deadline = time.monotonic() + (self.close_timeout if timeout is None else timeout)
        last = -1
        while True:
            size = path.stat().st_size if path.exists() else -1
            if size >= 0 and size == last:
                return path
            if time.monotonic() > deadline:
                return path if size >= 0 else None
            last = size
            time.sleep(step)

    # --- ingest --------------------------------------------------------------------------------
    def ingest(self, source: Path, name: str) -> StoredFile:
        """Move `source` (a WAV) into the store as `name` (e.g. 2026/11/23/42.wav)."""
        size = source.stat().st_size
        with open(source, "rb") as f:
            info = parse_wav_header(f.read(4096), size)
        relative = name + (".enc" if self.key else "")
        target = self._path(relative)
        _make_private_dirs(self.store_dir, target.parent)
        tmp = target.with_name(target.name + f".tmp-{secrets.token_hex(4)}")
        digest = hashlib.sha256()
        try:
            # a voice is personal data: owner and group only, whatever the umask
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, RECORDING_FILE_MODE)
            os.fchmod(fd, RECORDING_FILE_MODE)
            with open(source, "rb") as src, os.fdopen(fd, "wb") as out:
                if self.key is None:
                    while piece := src.read(1024 * 1024):
                        digest.update(piece)
                        out.write(piece)
                else:
                    self._encrypt(src, out, size, digest)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        source.unlink(missing_ok=True)
        return StoredFile(relative, size, digest.hexdigest(), info.duration_ms, self.key is not None)

    def _encrypt(self, src, out, size: int, digest) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        aead = AESGCM(self.key)
        prefix = secrets.token_bytes(8)
        header = HEADER.pack(MAGIC, CHUNK, prefix, size)
        out.write(header)
        count = max(1, -(-size // CHUNK))
        for index in range(count):
            plain = src.read(CHUNK)
            digest.update(plain)
            out.write(aead.encrypt(prefix + struct.pack(">I", index), plain, _aad(header, index, index == count - 1)))

    # --- reading -------------------------------------------------------------------------------
    def _path(self, relative: str) -> Path:
        path = (self.store_dir / relative).resolve()
        if self.store_dir.resolve() not in path.parents:
            raise ValueError(Text("recording path %(relative)r leaves the store", relative=relative))
        return path

    def exists(self, relative: str) -> bool:
        return self._path(relative).exists()

    def read(self, relative: str, encrypted: bool, start: int, end: int) -> Iterator[bytes]:
        """The WAV's bytes `start`..`end` (inclusive), in pieces of at most 64 KiB."""
        path = self._path(relative)
        if not path.exists():
            raise RecordingFileMissing("the recording's file is missing from the store", path=relative)
        if encrypted:
            yield from self._read_encrypted(path, start, end)
            return
        with open(path, "rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                piece = f.read(min(READ_PIECE, left))
                if not piece:
                    break
                left -= len(piece)
                yield piece

    def _read_encrypted(self, path: Path, start: int, end: int) -> Iterator[bytes]:
        if self.key is None:
            raise ConfigurationError(
                "this recording is encrypted and no recording_encryption_key is configured",
                field="recording_encryption_key",
            )
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        aead = AESGCM(self.key)
        with open(path, "rb") as f:
            header = f.read(HEADER.size)
            magic, chunk, prefix, size = HEADER.unpack(header)
            if magic != MAGIC:
                raise ConfigurationError(Text("%(name)s is not an encrypted recording", name=path.name))
            count = max(1, -(-size // chunk))
            end = min(end, size - 1)
            for index in range(start // chunk, end // chunk + 1):
                f.seek(HEADER.size + index * (chunk + TAG))
                length = min(chunk, size - index * chunk)
                plain = aead.decrypt(
                    prefix + struct.pack(">I", index), f.read(length + TAG), _aad(header, index, index == count - 1)
                )
                first = index * chunk
                yield plain[max(0, start - first) : end - first + 1]

    def read_all(self, relative: str, encrypted: bool, size: int) -> bytes:
        return b"".join(self.read(relative, encrypted, 0, size - 1)) if size else b""

    def delete(self, relative: str | None) -> bool:
        """Remove a stored file (and the day directories left empty); False if it was gone."""
        if not relative:
            return False
        path = self._path(relative)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        parent = path.parent
        root = self.store_dir.resolve()
        while parent != root and root in parent.parents:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent
        return True

    def delete_spool(self, spool_name: str) -> bool:
        path = self.spool_path(spool_name) if spool_name else None
        if path is None or not path.exists():
            return False
        path.unlink()
        return True


def _aad(header: bytes, index: int, last: bool) -> bytes:
    return header + struct.pack(">I?", index, last)
