"""`ccserver user list|add|edit|disable|enable|passwd|revoke` and `ccserver team
list|add|rename`, each with ``--json``.

Runs in its own process, against the database the server uses. The server notices what a
command did: deleted sessions end the user's pages within `session_check_interval` (and their
next HTTP request is 401), and a disabled user's agent is logged out of every queue by the
server's sweep within a few seconds (capabilities/admin/service.py).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from ..core.errors import InvalidInput
from ..settings import Settings
from .server import _cli_actor

ROLES = ("agent", "supervisor", "admin")


def register(sub: argparse._SubParsersAction) -> None:
    user = sub.add_parser("user", help="web users: list, create, edit, disable, passwords, sessions")
    user_sub = user.add_subparsers(dest="user_command", required=True)

    listing = user_sub.add_parser("list", help="every user with role, team, scopes, active, last login, phone")
    _json_flag(listing)
    listing.set_defaults(func=cmd_user_list)

    add = user_sub.add_parser("add", help="create a user (password read from stdin or prompted)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--display-name", default="")
    add.add_argument(
        "--generate-password", action="store_true", help="generate the password and print it once (no stdin)"
    )
    _scope_flags(add)
    _json_flag(add)
    add.set_defaults(func=cmd_user_add)

    edit = user_sub.add_parser("edit", help="change display name, role, team or supervisor scopes")
    edit.add_argument("username")
    edit.add_argument("--display-name")
    edit.add_argument("--role", choices=ROLES)
    edit.add_argument("--team", help="the agent's team ('' for none); the user needs a SIP account")
    _scope_flags(edit)
    _json_flag(edit)
    edit.set_defaults(func=cmd_user_edit)

    for name, help_text in (
        ("disable", "disable a user: no more logins, every session ends now, their agent leaves every queue"),
        ("enable", "enable a disabled user again"),
        ("passwd", "set a new password (stdin or prompted, or --generate); every session ends now"),
        ("revoke", "end every session of a user (log them out everywhere)"),
    ):
        action = user_sub.add_parser(name, help=help_text)
        action.add_argument("username")
        if name == "passwd":
            action.add_argument("--generate", action="store_true", help="generate the password and print it once")
        _json_flag(action)
        action.set_defaults(func=cmd_user_admin, user_action=name)

    team = sub.add_parser("team", help="teams: list, create, rename (agents and scopes follow)")
    team_sub = team.add_subparsers(dest="team_command", required=True)
    listing = team_sub.add_parser("list", help="every team and how many agents it has")
    _json_flag(listing)
    listing.set_defaults(func=cmd_team_list)
    add = team_sub.add_parser("add", help="create a team")
    add.add_argument("name")
    _json_flag(add)
    add.set_defaults(func=cmd_team_add)
    rename = team_sub.add_parser("rename", help="rename a team: its agents and the supervisors given it follow")
    rename.add_argument("name")
    rename.add_argument("new_name")
    _json_flag(rename)
    rename.set_defaults(func=cmd_team_rename)


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output (one JSON document)")


def _scope_flags(parser: argparse.ArgumentParser) -> None:
    for key, what in (("teams", "team names"), ("queues", "queue names"), ("campaigns", "campaign ids")):
        parser.add_argument(f"--{key}", help=f"supervisor scope: comma-separated {what} ('' for none)")


def _service(settings: Settings):
    from ..adapters.db.database import Database
    from ..adapters.db.repositories import AuditLog, SessionRepository, UserRepository
    from ..adapters.db.users import UserDirectoryRepository
    from ..capabilities.admin.service import UserAdminService

    db = Database(settings.storage.effective_database_url)
    db.upgrade()
    return UserAdminService(UserRepository(db), SessionRepository(db), AuditLog(db), UserDirectoryRepository(db))


def _read_password(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\n")


def _scopes(args, required: bool):
    """The scopes the flags give, or None when no scope flag was given (edit: unchanged)."""
    from ..capabilities.admin.model import parse_scopes

    given = {k: getattr(args, k) for k in ("teams", "queues", "campaigns") if getattr(args, k) is not None}
    if not given and not required:
        return None
    return parse_scopes(given)


def _emit(args, data: Any, text: str) -> None:
    print(json.dumps(data, sort_keys=True) if args.json else text)


def cmd_user_list(args, settings: Settings) -> int:
    users = _service(settings).list_users()
    if args.json:
        print(json.dumps([u.to_dict() for u in users], sort_keys=True))
        return 0
    for u in users:
        scopes = u.scopes.to_dict()
        scope_text = " ".join(f"{k}={','.join(v)}" for k, v in scopes.items() if v)
        login = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never"
        print(
            f"{u.username:<20} {u.role:<10} {'active' if u.active else 'DISABLED':<8} team={u.team or '-'} "
            f"phone={'yes' if u.phone else 'no'} last_login={login} {scope_text}".rstrip()
        )
    return 0


def cmd_user_add(args, settings: Settings) -> int:
    password = None if args.generate_password else _read_password(f"password for {args.username}: ")
    scopes = _scopes(args, required=True)
    if scopes and args.role != "supervisor":
        raise InvalidInput("only a supervisor has scopes (--teams, --queues, --campaigns)", field="scopes")
    view, generated = _service(settings).create_user(
        _cli_actor(), args.username, password, args.role, args.display_name, scopes
    )
    text = f"user {args.username} ({args.role}) created"
    if generated:
        text += f"\npassword (shown once): {generated}"
    _emit(args, {**view.to_dict(), "password": generated}, text)
    return 0


def cmd_user_edit(args, settings: Settings) -> int:
    from ..capabilities.admin.model import UserEdit

    edit = UserEdit(display_name=args.display_name, role=args.role, team=args.team, scopes=_scopes(args, False))
    view = _service(settings).edit_user(_cli_actor(), args.username, edit)
    _emit(args, view.to_dict(), f"user {args.username} updated")
    return 0


def cmd_user_admin(args, settings: Settings) -> int:
    """`user disable|enable|passwd|revoke NAME`."""
    admin = _service(settings)
    actor, name = _cli_actor(), args.username
    if args.user_action == "disable":
        revoked = admin.disable_user(actor, name)
        _emit(
            args,
            {"username": name, "active": False, "sessions_revoked": revoked},
            f"user {name} disabled ({revoked} session(s) ended; the server logs their agent out of the queues)",
        )
    elif args.user_action == "enable":
        admin.enable_user(actor, name)
        _emit(args, {"username": name, "active": True}, f"user {name} enabled")
    elif args.user_action == "passwd":
        admin.user(name)  # an unknown user is named before a password is asked for
        password = None if args.generate else _read_password(f"new password for {name}: ")
        generated, revoked = admin.new_password(actor, name, password)
        text = f"password of {name} changed ({revoked} session(s) ended)"
        if generated:
            text += f"\npassword (shown once): {generated}"
        _emit(args, {"username": name, "password": generated, "sessions_revoked": revoked}, text)
    else:
        revoked = admin.revoke_sessions(actor, name)
        _emit(args, {"username": name, "sessions_revoked": revoked}, f"{revoked} session(s) of {name} ended")
    return 0


def cmd_team_list(args, settings: Settings) -> int:
    teams = _service(settings).teams()
    if args.json:
        print(json.dumps([{"name": name, "agents": count} for name, count in teams], sort_keys=True))
        return 0
    for name, count in teams:
        print(f"{name:<32} {count} agent(s)")
    return 0


def cmd_team_add(args, settings: Settings) -> int:
    _service(settings).create_team(_cli_actor(), args.name)
    _emit(args, {"name": args.name, "agents": 0}, f"team {args.name} created")
    return 0


def cmd_team_rename(args, settings: Settings) -> int:
    moved = _service(settings).rename_team(_cli_actor(), args.name, args.new_name)
    _emit(
        args,
        {"name": args.new_name, "before": args.name, "agents": moved},
        f"team {args.name} renamed {args.new_name} ({moved} agent(s) follow)",
    )
    return 0
