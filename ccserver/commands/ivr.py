"""``ccserver ivr check FILE...``: validate IVR scripts, print every error as
``FILE:LINE: node NODE: message`` and exit 1 when there is any (0 when all are valid).

``ccserver ivr history NAME``, ``ccserver ivr diff NAME V1 V2`` and ``ccserver ivr rollback NAME
VERSION`` (each with ``--json``) work on the versions stored in the database (`ivr_script_versions`).
A rollback is validated here as the server would (queues and skills of the database, prompt
files of the private Asterisk when it runs on this machine), stored as a new version copying the
old one, and audited as ``cli:<system user>``; the running server notices the new active
version within 5 seconds (it checks the database) and rewrites its dialplan routes."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from ccserver.capabilities.ivr.loader import ValidationContext, check_files, prompt_checker
from ccserver.core.errors import CcError, InvalidInput


def _names(text: str | None) -> frozenset[str] | None:
    if text is None:
        return None
    return frozenset(name.strip() for name in text.split(",") if name.strip())


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("ivr", help="IVR (SVI) scripts")
    sub = parser.add_subparsers(dest="ivr_command", required=True)
    check = sub.add_parser(
        "check",
        help="validate IVR scripts",
        description="Validate IVR scripts (files, or directories of *.yaml). Prompt files, "
        "queues and skills are checked only when their list is given.",
    )
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--queues", metavar="Q1,Q2", help="known queue names (default: queues not checked)")
    check.add_argument("--skills", metavar="S1,S2", help="known skill names (default: skills not checked)")
    check.add_argument(
        "--sounds-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="directory of sounds (sound:NAME), repeatable; language sub-directories (fr/, en/) are searched too",
    )
    check.add_argument(
        "--recordings-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="directory of stored recordings (recording:NAME), repeatable",
    )
    check.set_defaults(func=cmd_check)

    history = sub.add_parser("history", help="the stored versions of a script, newest first")
    history.add_argument("name", help="script name")
    history.add_argument("--json", action="store_true", help="machine-readable output")
    history.set_defaults(func=cmd_history)
    diff = sub.add_parser("diff", help="unified diff between two stored versions of a script")
    diff.add_argument("name", help="script name")
    diff.add_argument("old", type=_version_number, metavar="V1", help="version number (from)")
    diff.add_argument("new", type=_version_number, metavar="V2", help="version number (to)")
    diff.add_argument("--json", action="store_true", help="machine-readable output")
    diff.set_defaults(func=cmd_diff)
    rollback = sub.add_parser(
        "rollback",
        help="run an earlier version again (stored as a new version copying it)",
        description="Run the content of an earlier version again, stored as a new version (history "
        "is never rewritten). Refused, the running version staying, when that content no longer "
        "validates. The running server picks it up within 5 seconds.",
    )
    rollback.add_argument("name", help="script name")
    rollback.add_argument("version", type=_version_number, metavar="VERSION", help="version number to go back to")
    rollback.add_argument("--comment", default="", help="why (kept with the version)")
    rollback.add_argument("--json", action="store_true", help="machine-readable output")
    rollback.set_defaults(func=cmd_rollback)


def _version_number(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"a version number (1, 2, ...), not {text!r}")
    return number


def _service(settings: Any):
    """An `IvrService` on the database of `settings` (and the running private Asterisk's prompt
    files when there is one), and the database to dispose of."""
    from ccserver.adapters.db.acd import AcdRepository
    from ccserver.adapters.db.database import Database
    from ccserver.adapters.db.ivr import IvrVersionRepository
    from ccserver.adapters.db.repositories import AuditLog
    from ccserver.capabilities.ivr.service import IvrService, prompt_checker_for_instance
    from ccserver.core.clock import SystemClock

    from .phones import _running_instance

    db = Database(settings.storage.effective_database_url)
    db.upgrade()
    clock = SystemClock()
    acd = AcdRepository(db, clock)
    service = IvrService(
        scripts_dir=settings.ivr.scripts_dir,
        clock=clock,
        versions=IvrVersionRepository(db),
        queue_names=lambda: [q.name for q in acd.queues()],
        skill_names=lambda: list(acd.skills()),
        prompt_checker=prompt_checker_for_instance(_running_instance(settings)),
        audit=AuditLog(db).record,
    )
    return service, db


def _run(settings: Any, work) -> Any:
    service, db = _service(settings)
    try:
        return asyncio.run(work(service))
    finally:
        db.dispose()


def cmd_history(args: argparse.Namespace, settings: Any) -> int:
    async def work(service):
        return await service.history(args.name)

    versions = _run(settings, work)
    if args.json:
        print(json.dumps({"script": args.name, "versions": [v.summary() for v in versions]}, indent=2))
        return 0
    print(f"{'VERSION':<8} {'':1} {'WHEN (UTC)':<20} {'AUTHOR':<16} {'ORIGIN':<14} {'LABEL':<10} COMMENT")
    for v in versions:
        origin = f"rollback to v{v.rollback_of}" if v.origin == "rollback" else v.origin
        print(
            f"v{v.number:<7} {'*' if v.active else ' ':1} {v.created_at:%Y-%m-%d %H:%M:%S}  "
            f"{v.author:<16} {origin:<14} {v.label:<10} {v.comment}"
        )
    print("(* = active)")
    return 0


def cmd_diff(args: argparse.Namespace, settings: Any) -> int:
    async def work(service):
        return await service.diff(args.name, args.old, args.new)

    text = _run(settings, work)
    if args.json:
        print(json.dumps({"script": args.name, "from": args.old, "to": args.new, "diff": text}, indent=2))
    else:
        sys.stdout.write(text or f"v{args.old} and v{args.new} of {args.name} have the same content\n")
    return 0


def cmd_rollback(args: argparse.Namespace, settings: Any) -> int:
    from .server import _cli_actor

    async def work(service):
        await service.load_stored()
        await service.rollback(args.name, args.version, _cli_actor(), args.comment)
        return (await service.history(args.name))[0]

    try:
        version = _run(settings, work)
    except CcError as exc:
        if args.json:
            print(json.dumps({"error": exc.error_id, "message": exc.message, "details": exc.details}, indent=2))
        print(f"ccserver: error: {exc.message}", file=sys.stderr)
        if "field" in exc.details:
            print(f"  field: {exc.details['field']}", file=sys.stderr)
        if isinstance(exc, InvalidInput):
            for error in exc.details.get("errors", []):
                where = f"node {error['node']}" if error.get("node") else "script"
                print(f"  {error['file']}:{error['line']}: {where}: {error['message']}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(version.summary(), indent=2))
        return 0
    print(
        f"{args.name}: version {args.version} is back as version {version.number} "
        f"(the running server runs it within 5 seconds)"
    )
    return 0


def cmd_check(args: argparse.Namespace, settings: Any = None) -> int:
    prompts = None
    if args.sounds_dir or args.recordings_dir:
        prompts = prompt_checker(args.sounds_dir, args.recordings_dir)
    context = ValidationContext(queues=_names(args.queues), skills=_names(args.skills), prompt_exists=prompts)
    scripts, issues = check_files(args.files, context)
    for issue in issues:
        print(issue)
    unchecked = [
        what
        for what, value in (("prompt files", prompts), ("queues", args.queues), ("skills", args.skills))
        if value is None
    ]
    if unchecked:
        print(f"note: not checked: {', '.join(unchecked)} (see --help)", file=sys.stderr)
    if issues:
        files = len({issue.file for issue in issues})
        print(f"{len(issues)} error(s) in {files} file(s)", file=sys.stderr)
        return 1
    print(f"OK: {len(scripts)} script(s) valid")
    return 0
