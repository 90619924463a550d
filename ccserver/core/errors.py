"""One error hierarchy with stable ids.

Every error the server shows to a user or an API client is a `CcError`: it carries a stable
`error_id` (for example ``no-such-queue``), an HTTP status and structured `details` (file, line,
field...). The web layer renders them as JSON for the API and as a page for browsers.
"""

from __future__ import annotations

from typing import Any


class CcError(Exception):
    error_id = "internal-error"
    status = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.error_id, "code": self.error_id, "message": self.message, "details": self.details}


class InvalidInput(CcError):
    """Bad input from a user, a file or an API call; details name what is wrong."""

    error_id = "invalid-input"
    status = 400


class PayloadTooLarge(CcError):
    """A request body larger than the route accepts (refused before it is parsed)."""

    error_id = "payload-too-large"
    status = 413


class NotFound(CcError):
    error_id = "not-found"
    status = 404


class Conflict(CcError):
    error_id = "conflict"
    status = 409


class AuthenticationRequired(CcError):
    error_id = "authentication-required"
    status = 401


class Forbidden(CcError):
    error_id = "forbidden"
    status = 403


class CsrfRejected(CcError):
    error_id = "csrf-rejected"
    status = 403


class PbxUnavailable(CcError):
    """Asterisk cannot be reached right now (not running, restarting, refused our login)."""

    error_id = "pbx-unavailable"
    status = 503


class PbxTimeout(CcError):
    """Asterisk did not answer a command in time; the command is not replayed."""

    error_id = "pbx-timeout"
    status = 504


class PbxCommandFailed(CcError):
    """Asterisk answered a command with an error."""

    error_id = "pbx-command-failed"
    status = 502


class ConfigurationError(CcError):
    """A configuration file or setting is unusable; details name the file/line/field."""

    error_id = "configuration-error"
    status = 500
