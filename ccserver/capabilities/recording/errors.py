"""The recording capability's domain errors (stable ids, rendered by the web error mapping)."""

from __future__ import annotations

from ...core.errors import NotFound


class NoSuchRecording(NotFound):
    error_id = "no-such-recording"


class NoSuchGrid(NotFound):
    error_id = "no-such-grid"


class NoSuchEvaluation(NotFound):
    error_id = "no-such-evaluation"
