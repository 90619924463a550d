"""The privacy capability's domain errors."""

from __future__ import annotations

from ...core.errors import CcError


class ErasureIncomplete(CcError):
    """The database part is done, but some files could not be removed or rewritten."""

    error_id = "erasure-incomplete"
    status = 500
