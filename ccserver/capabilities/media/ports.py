"""What the media capability needs from outside: its repository (implemented by
`ccserver.adapters.db.media.MediaRepository`), the audio converter (`ccserver.adapters.audio`)
and the directory of audio files Asterisk reads (`ccserver.adapters.asterisk.media_files`).
Blocking: call them from a worker thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .model import MediaFile, QueueMedia


@dataclass(frozen=True)
class ConvertedAudio:
    wav: bytes  # 16-bit PCM WAV, 8 kHz, mono
    seconds: float


class AudioConverter(Protocol):
    def convert(self, filename: str, data: bytes, max_seconds: int) -> ConvertedAudio:
        """The audio as Asterisk plays it; InvalidInput naming `filename` when it is not audio
        that can be read, or longer than `max_seconds`."""
        ...


class MediaFiles(Protocol):
    """Where the audio files live, seen by Asterisk as `asterisk_dir`."""

    @property
    def asterisk_dir(self) -> str: ...

    def languages(self) -> list[str] | None:
        """The languages Asterisk has sounds for (its sounds/<language> directories); None when
        this host cannot see them (an external Asterisk): then only the code's form is checked."""
        ...

    def write(self, relative: str, data: bytes) -> None: ...

    def remove(self, relative: str) -> None: ...


class MediaRepository(Protocol):
    def prompts(self) -> list[MediaFile]: ...
    def save_prompt(self, prompt: MediaFile) -> None: ...
    def delete_prompt(self, language: str, name: str) -> bool: ...
    def music_classes(self) -> dict[str, list[MediaFile]]: ...
    def create_music_class(self, name: str, actor: str) -> None: ...  # Conflict when it exists
    def delete_music_class(self, name: str) -> bool: ...
    def save_music_file(self, music: MediaFile) -> None: ...  # NoSuchMusicClass
    def delete_music_file(self, class_name: str, name: str) -> bool: ...
    def queue_media(self) -> dict[str, QueueMedia]: ...
    def save_queue_media(self, media: QueueMedia) -> None: ...


class Audit(Protocol):
    def record(self, actor: str, action: str, target: str = "", **details: Any) -> Any: ...
