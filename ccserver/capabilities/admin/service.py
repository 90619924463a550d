"""User administration: disable / enable an account, reset a password, revoke its sessions.

Every change that must end a user's access (disabling, a new password, an explicit revoke)
deletes all of the user's web sessions in the database, then tells the revocation listeners
(the WebSocket hub of this process closes the user's live pages at once). Another process
(the ``ccserver user ...`` command while the server runs) has no hub: the server notices the
vanished sessions on its own, because it re-checks the sessions of its open WebSockets every
`session_check_interval` seconds and every HTTP request looks its session up again.

Every action is written to the audit log with who did it. Synchronous (the repositories are):
call it through ``asyncio.to_thread`` from the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .ports import Audit, Sessions, Users

logger = logging.getLogger(__name__)


# called with (user id, username) after that user's sessions were deleted; may be called from a
# worker thread
RevocationListener = Callable[[int, str], None]


class UserAdminService:
    def __init__(self, users: Users, sessions: Sessions, audit: Audit) -> None:
        self.users = users
        self.sessions = sessions
        self.audit = audit
        self.revocation_listeners: list[RevocationListener] = []

    def disable_user(self, actor: str, username: str) -> int:
        """The user can no longer log in and every session of theirs ends now. Returns how
        many sessions were revoked. Raises `NoSuchUser`."""
        user = self.users.require(username)
        # inactive first: a login racing with this sees the disabled account
        self.users.update(username, active=False)
        revoked = self._revoke(user)
        # TODO(agents): a disabled agent stays a member of their queues until an admin (or the
        # nightly configuration) removes them; logging them out of the queues belongs to the
        # ACD capability (AcdService), hook it here once it offers a logout-everywhere call.
        self.audit.record(actor, "user.disable", username, sessions_revoked=revoked)
        logger.info("user %s disabled by %s (%d session(s) revoked)", username, actor, revoked)
        return revoked

    def enable_user(self, actor: str, username: str) -> None:
        self.users.require(username)
        self.users.update(username, active=True)
        self.audit.record(actor, "user.enable", username)
        logger.info("user %s enabled by %s", username, actor)

    def reset_password(self, actor: str, username: str, password: str) -> int:
        """Set a new password (validated: `InvalidInput` naming ``password``) and end every
        session opened with the old one. Returns how many sessions were revoked."""
        user = self.users.require(username)
        self.users.set_password(username, password)
        revoked = self._revoke(user)
        self.audit.record(actor, "user.password_reset", username, sessions_revoked=revoked)
        logger.info("password of user %s reset by %s (%d session(s) revoked)", username, actor, revoked)
        return revoked

    def revoke_sessions(self, actor: str, username: str) -> int:
        """Log the user out everywhere. Returns how many sessions were revoked."""
        user = self.users.require(username)
        revoked = self._revoke(user)
        self.audit.record(actor, "user.sessions_revoked", username, sessions_revoked=revoked)
        logger.info("sessions of user %s revoked by %s (%d)", username, actor, revoked)
        return revoked

    def purge_expired_sessions(self) -> int:
        """Delete the expired web sessions (they already let nobody in; this keeps the table
        small). Returns how many went."""
        purged = self.sessions.purge_expired()
        logger.info("purged %d expired web session(s)", purged)
        return purged

    def _revoke(self, user: Any) -> int:
        revoked = self.sessions.delete_for_user(user.id)
        for listener in list(self.revocation_listeners):
            try:
                listener(user.id, user.username)
            except Exception:  # a listener failing must not undo the revocation
                logger.exception("revocation listener failed for user %s", user.username)
        return revoked
