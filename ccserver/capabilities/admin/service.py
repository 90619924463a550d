"""User administration: list, create and edit users (role, team, supervisor scopes), disable /
enable an account, reset a password, revoke its sessions; create and rename teams.

Every change that must end a user's access (disabling, a new password, an explicit revoke)
deletes all of the user's web sessions in the database, then tells the revocation listeners
(the WebSocket hub of this process closes the user's live pages at once). Another process
(the ``ccserver user ...`` command while the server runs) has no hub: the server notices the
vanished sessions on its own, because it re-checks the sessions of its open WebSockets every
`session_check_interval` seconds and every HTTP request looks its session up again.

Disabling also takes the user's agent out of every queue within seconds: the web and API call
`disable_and_log_out` (the ACD logs them out at once); a disable made by another process is
caught by `log_out_disabled_agents`, which the server runs every `DISABLED_SWEEP_SECONDS`.

The last active admin can be neither disabled nor demoted; the check and the change are one
database transaction (adapters/db/users.py), so two concurrent demotions cannot both pass.

Every action is written to the audit log with who did it and, for edits, each changed field
before and after (never a password). Synchronous (the repositories are): call it through
``asyncio.to_thread`` from the event loop, except the two async methods named above.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ...core.errors import InvalidInput
from ...core.passwords import hash_password
from .model import (
    Scopes,
    UserEdit,
    UserView,
    changes,
    check_display_name,
    check_password,
    check_role,
    check_team_name,
    check_username,
    generate_password,
)
from .ports import Audit, QueueMembership, Sessions, UserDirectory, Users

logger = logging.getLogger(__name__)


# called with (user id, username) after that user's sessions were deleted; may be called from a
# worker thread
RevocationListener = Callable[[int, str], None]

# how often the server looks for disabled users still logged into queues (a disable made by the
# CLI, in another process): well inside the 5 s within which they must be gone
DISABLED_SWEEP_SECONDS = 2


class UserAdminService:
    def __init__(
        self,
        users: Users,
        sessions: Sessions,
        audit: Audit,
        directory: UserDirectory | None = None,
        membership: QueueMembership | None = None,
    ) -> None:
        self.users = users
        self.sessions = sessions
        self.audit = audit
        self.directory = directory
        self.membership = membership  # the ACD; None in the CLI (the server's sweep logs out)
        self.revocation_listeners: list[RevocationListener] = []

    def _directory(self) -> UserDirectory:
        if self.directory is None:  # pragma: no cover - wiring error
            raise RuntimeError("user administration was set up without a user directory")
        return self.directory

    # --- reads -----------------------------------------------------------------------------------
    def list_users(self) -> list[UserView]:
        return self._directory().users()

    def user(self, username: str) -> UserView:
        return self._directory().user(check_username(username))

    def teams(self) -> list[tuple[str, int]]:
        return self._directory().teams()

    def choices(self) -> dict[str, Any]:
        """What the scope fields may name: teams, queues, campaigns (id, name)."""
        directory = self._directory()
        return {
            "teams": [name for name, _count in directory.teams()],
            "queues": directory.known_queues(),
            "campaigns": directory.known_campaigns(),
        }

    # --- create and edit -------------------------------------------------------------------------
    def create_user(
        self,
        actor: str,
        username: str,
        password: str | None,
        role: str,
        display_name: str = "",
        scopes: Scopes | None = None,
    ) -> tuple[UserView, str | None]:
        """A new active user. `password` None: one is generated and returned (to show once);
        a given one is checked (empty or weak: `InvalidInput` naming ``password``). Scopes are
        for supervisors only and must name existing teams, queues and campaigns."""
        check_username(username)
        check_role(role)
        display_name = check_display_name(display_name) or username
        generated = generate_password() if password is None else None
        password = check_password(generated or password)
        scopes = scopes or Scopes()
        if scopes and role != "supervisor":
            raise InvalidInput("only a supervisor has scopes (teams, queues, campaigns)", field="scopes")
        view = self._directory().create(username, hash_password(password), role, display_name, scopes)
        self.audit.record(actor, "user.create", username, after=view.audit_view())
        logger.info("user %s (%s) created by %s", username, role, actor)
        return view, generated

    def edit_user(self, actor: str, username: str, edit: UserEdit) -> UserView:
        """Change display name, role, team and scopes in one transaction. Demoting the last
        active admin is `LastAdmin`; a role other than supervisor drops the scopes."""
        check_username(username)
        if edit.role is not None:
            check_role(edit.role)
        if edit.display_name is not None:
            edit = UserEdit(check_display_name(edit.display_name) or username, edit.role, edit.team, edit.scopes)
        if edit.team:
            check_team_name(edit.team)
        role_after = edit.role
        if edit.scopes and role_after is None:
            role_after = self._directory().user(username).role
        if edit.scopes and role_after != "supervisor":
            raise InvalidInput("only a supervisor has scopes (teams, queues, campaigns)", field="scopes")
        before, after = self._directory().edit(username, edit)
        changed = changes(before, after)
        if changed:
            self.audit.record(actor, "user.edit", username, changes=changed)
            logger.info("user %s edited by %s: %s", username, actor, ", ".join(sorted(changed)))
        return after

    # --- teams -----------------------------------------------------------------------------------
    def create_team(self, actor: str, name: str) -> None:
        check_team_name(name, "name")
        self._directory().create_team(name)
        self.audit.record(actor, "team.create", name)

    def rename_team(self, actor: str, old: str, new: str) -> int:
        """Rename everywhere (its agents, the supervisors given it); returns its agent count."""
        check_team_name(new, "new_name")
        moved = self._directory().rename_team(old, new)
        self.audit.record(actor, "team.rename", new, before=old, after=new, agents=moved)
        return moved

    # --- access ----------------------------------------------------------------------------------
    def disable_user(self, actor: str, username: str) -> int:
        """The user can no longer log in and every session of theirs ends now. Returns how
        many sessions were revoked. Raises `NoSuchUser`, `LastAdmin` (the last active admin).
        Their agent leaves the queues through `disable_and_log_out` or the server's sweep."""
        user = self.users.require(username)
        # inactive first: a login racing with this sees the disabled account
        if self.directory is not None:
            self.directory.set_active(username, False)  # refuses the last active admin
        else:
            self.users.update(username, active=False)
        revoked = self._revoke(user)
        self.audit.record(
            actor,
            "user.disable",
            username,
            sessions_revoked=revoked,
            before={"active": user.active},
            after={"active": False},
        )
        logger.info("user %s disabled by %s (%d session(s) revoked)", username, actor, revoked)
        return revoked

    def enable_user(self, actor: str, username: str) -> None:
        user = self.users.require(username)
        if self.directory is not None:
            self.directory.set_active(username, True)
        else:
            self.users.update(username, active=True)
        self.audit.record(actor, "user.enable", username, before={"active": user.active}, after={"active": True})
        logger.info("user %s enabled by %s", username, actor)

    async def disable_and_log_out(self, actor: str, username: str) -> dict[str, Any]:
        """Disable (sessions and WebSockets end now), then take their agent out of every queue.
        Returns {"sessions_revoked": n, "queues_left": [...]}."""
        revoked = await asyncio.to_thread(self.disable_user, actor, username)
        answer: dict[str, Any] = {"sessions_revoked": revoked, "queues_left": []}
        if self.membership is not None and username in self.membership.logged_in_agents():
            try:
                answer["queues_left"] = await self.membership.logout_everywhere(username, actor, "user disabled")
            except Exception as exc:  # the PBX away: the account is disabled all the same, the sweep retries
                logger.warning("disabled user %s not yet out of the queues (%s): retried", username, exc)
                answer["queues_pending"] = True
        return answer

    async def log_out_disabled_agents(self) -> list[str]:
        """The server's sweep: every agent logged into a queue whose account is disabled (by the
        CLI in another process, or a failed earlier attempt) leaves all their queues."""
        if self.membership is None or self.directory is None:
            return []
        logged_in = self.membership.logged_in_agents()
        if not logged_in:
            return []
        disabled = await asyncio.to_thread(self.directory.inactive_among, logged_in)
        done = []
        for username in sorted(disabled):
            try:
                await self.membership.logout_everywhere(username, "system", "user disabled")
                done.append(username)
            except Exception as exc:  # the next sweep tries again (the PBX may be restarting)
                logger.warning("could not log disabled agent %s out of their queues yet: %s", username, exc)
        return done

    def new_password(self, actor: str, username: str, password: str | None = None) -> tuple[str | None, int]:
        """Set `password`, or a generated one when None (returned, to show once); every session
        ends. Returns (the generated password or None, sessions revoked)."""
        check_username(username)
        generated = generate_password() if password is None else None
        revoked = self.reset_password(actor, username, generated or password)
        return generated, revoked

    def reset_password(self, actor: str, username: str, password: str) -> int:
        """Set a new password (validated: `InvalidInput` naming ``password``) and end every
        session opened with the old one. Returns how many sessions were revoked."""
        user = self.users.require(username)
        self.users.set_password(username, check_password(password))
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
