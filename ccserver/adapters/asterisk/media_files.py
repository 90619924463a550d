"""The directory of audio files (uploaded prompts, music on hold) that Asterisk reads.

The private instance keeps them in its own directory (``<instance>/media``: inside the chroot
root when Asterisk runs there, so it sees them); an external Asterisk (docker) shares one through
the settings `asterisk.media_dir` (this host's path) and `asterisk.media_dir_in_asterisk` (the
same directory as Asterisk sees it). Files are written whole (temporary file, then rename):
Asterisk never plays half a prompt.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path, PurePosixPath

from ...capabilities.ivr.service import resolve_in_root
from ...core.errors import ConfigurationError

_RELATIVE_RE = re.compile(r"^(prompts|moh)(/[a-zA-Z0-9_-]+){1,2}(\.wav)?$")
_LANGUAGE_RE = re.compile(r"^[a-z]{2}(_[A-Z]{2})?$")
DATA_DIRS = ("/usr/share/asterisk", "/var/lib/asterisk")


class DirectoryMediaFiles:
    """`host_dir` on this machine is `asterisk_dir` for Asterisk; `sounds_dir` is Asterisk's own
    sounds directory on this machine (its language subdirectories say what is installed;
    `root` resolves the links inside a chroot root, such as Debian's sounds/fr alternative)."""

    def __init__(self, host_dir: Path, asterisk_dir: str, sounds_dir: Path | None, root: Path | None = None) -> None:
        self.host_dir = Path(host_dir)
        self._asterisk_dir = str(asterisk_dir).rstrip("/")
        self.sounds_dir = sounds_dir
        self.root = root

    @property
    def asterisk_dir(self) -> str:
        return self._asterisk_dir

    def languages(self) -> list[str] | None:
        if self.sounds_dir is None:
            return None  # an external Asterisk whose sounds this host cannot see
        base = resolve_in_root(self.root, PurePosixPath(self.sounds_dir)) if self.root else Path(self.sounds_dir)
        try:
            names = [p.name for p in base.iterdir()]
        except OSError:
            return []
        found = []
        for name in names:
            inner = PurePosixPath(self.sounds_dir) / name
            path = resolve_in_root(self.root, inner) if self.root else base / name
            if _LANGUAGE_RE.match(name) and path.is_dir():
                found.append(name)
        return sorted(found)

    def _path(self, relative: str) -> Path:
        if not _RELATIVE_RE.match(relative):
            raise ConfigurationError(f"{relative!r} is not a media file name", file=relative)
        return self.host_dir / relative

    def write(self, relative: str, data: bytes) -> None:
        target = self._path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        for directory in (self.host_dir, *target.relative_to(self.host_dir).parents):
            os.chmod(self.host_dir / directory, 0o755)  # Asterisk's user reads them (no secret in audio)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def remove(self, relative: str) -> None:
        path = self._path(relative)
        if path.is_dir():
            for child in path.iterdir():
                child.unlink()
            path.rmdir()
        else:
            path.unlink(missing_ok=True)


def media_files_for_instance(instance) -> DirectoryMediaFiles:
    """The media directory of a private `AsteriskInstance`: ``<instance dir>/media``."""
    env = instance.environment
    host = instance.instance_dir / "media"
    host.mkdir(parents=True, exist_ok=True)
    data = env.find_dir(DATA_DIRS, "data")
    root = env.root if env.mode == "chroot" else None
    return DirectoryMediaFiles(host, str(instance.inner_path(host)), PurePosixPath(data) / "sounds", root)


def media_files_of(settings, config_writer) -> DirectoryMediaFiles | None:
    """The private instance's media directory, or the one shared with an external Asterisk
    (settings asterisk.media_dir + media_dir_in_asterisk); None when there is none."""
    if config_writer is not None and hasattr(config_writer, "instance_dir") and hasattr(config_writer, "environment"):
        return media_files_for_instance(config_writer)
    shared = getattr(settings.asterisk, "media_dir", "")
    if shared:
        inside = getattr(settings.asterisk, "media_dir_in_asterisk", "") or shared
        return DirectoryMediaFiles(Path(shared), inside, None)
    return None
