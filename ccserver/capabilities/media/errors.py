"""The media capability's domain errors (stable ids; rendered by the web error middleware)."""

from __future__ import annotations

from ...core.errors import Conflict, NotFound


class NoSuchPrompt(NotFound):
    error_id = "no-such-prompt"


class NoSuchMusicClass(NotFound):
    error_id = "no-such-music-class"


class MediaInUse(Conflict):
    """A prompt or music class a queue uses: unassign it first."""

    error_id = "media-in-use"


class NoMediaDirectory(Conflict):
    """No directory shared with Asterisk for audio files (an external Asterisk without one)."""

    error_id = "no-media-directory"
