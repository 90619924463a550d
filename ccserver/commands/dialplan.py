"""``ccserver dialplan list|show|check|apply|history|rollback [--json]``: the admins' dialplans
from the command line, with the same checks as /admin/dialplans.

`check FILE...` lints the files and loads them into the scratch Asterisk (exit 1 with each
problem as FILE:LINE when there is one); `apply FILE... --comment TEXT` stores them as a new
version (refused when a check fails) and applies it; `apply --version N` applies a stored one;
`rollback N` brings an earlier version back. Applies and rollbacks take turns with the
server's (one lock across processes): `--wait SECONDS` is how long this one waits. Applying needs the live Asterisk: the private
instance of these settings when it runs here, or the external one of `serve --external`
(`asterisk_generated_dir` and the AMI settings).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from ..core.errors import ConfigurationError
from ..settings import Settings

logger = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dialplan", help="the admins' dialplans: versions, checks, apply", description=__doc__
    )
    sub = parser.add_subparsers(dest="dialplan_command", required=True)

    listing = sub.add_parser("list", help="the stored versions (newest first) and which one runs")
    listing.set_defaults(func=cmd_list)
    show = sub.add_parser("show", help="a version's files, or its diff against the running one")
    show.add_argument("version", type=int, nargs="?", help="version number (default: the running one)")
    show.add_argument("--file", help="only this file")
    show.add_argument("--diff", action="store_true", help="the unified diff against what runs now")
    show.set_defaults(func=cmd_show)
    check = sub.add_parser("check", help="lint FILE... and load them into the scratch Asterisk")
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    check.set_defaults(func=cmd_check)
    apply = sub.add_parser("apply", help="store FILE... as a new version and apply it, or apply --version N")
    apply.add_argument("files", nargs="*", type=Path, metavar="FILE")
    apply.add_argument("--version", type=int, help="apply this stored version instead of files")
    apply.add_argument("--comment", default="", help="why (kept with the version and in the audit log)")
    apply.set_defaults(func=cmd_apply)
    history = sub.add_parser("history", help="every apply and rollback, with its outcome")
    history.set_defaults(func=cmd_history)
    rollback = sub.add_parser("rollback", help="bring an earlier version back on the live Asterisk")
    rollback.add_argument("version", type=int)
    rollback.add_argument("--comment", default="", help="why")
    rollback.set_defaults(func=cmd_rollback)
    for action in (apply, rollback):
        action.add_argument(
            "--wait",
            type=float,
            default=90.0,
            metavar="SECONDS",
            help="how long to wait for an apply under way elsewhere (the server, another command) "
            "before giving up, nothing changed (default 90)",
        )
    for action in (listing, show, check, apply, history, rollback):
        action.add_argument("--json", action="store_true", help="machine-readable output")


class _Context:
    """The service as the CLI builds it: the database, the live Asterisk when it can be reached,
    a scratch Asterisk; `close()` ends what it opened."""

    def __init__(self, settings: Settings, *, live: bool) -> None:
        from ..adapters.asterisk.scratch import ScratchAsterisk
        from ..adapters.db.database import Database
        from ..adapters.db.dialplans import DIALPLAN_APPLY_LOCK, DialplanRepository
        from ..adapters.db.locks import DatabaseLock
        from ..adapters.db.repositories import AuditLog
        from ..capabilities.dialplans.service import DialplanService

        self.settings = settings
        self.db = Database(settings.storage.effective_database_url)
        self.db.upgrade()
        self.ami = None
        files, endpoint, environment = self._live_target(settings)
        self.endpoint = endpoint if live else None
        # its own scratch instance (the server's may be loading another version right now),
        # stopped when the command ends
        self.scratch = ScratchAsterisk(
            settings, environment=environment, name=f"{settings.asterisk.instance}-scratch-cli"
        )
        self.service = DialplanService(
            DialplanRepository(self.db),
            AuditLog(self.db),
            files=files,
            pbx=None,
            scratch=self.scratch,
            # the server's applies and ours take turns (the same lock, across processes)
            apply_lock=DatabaseLock(self.db, DIALPLAN_APPLY_LOCK),
        )

    @staticmethod
    def _live_target(settings: Settings):
        if settings.asterisk.generated_dir:
            from ..adapters.asterisk.config_dir import DirectoryConfigWriter
            from ..app import endpoint_from_settings

            return DirectoryConfigWriter(settings.asterisk.generated_dir), endpoint_from_settings(settings), None
        from ..adapters.asterisk.instance import AsteriskInstance

        instance = AsteriskInstance(settings)
        try:
            status = instance.status()
        except Exception as exc:  # no root built, never rendered
            logger.debug("no private Asterisk: %s", exc)
            status = None
        if status is None or not status.running:
            return None, None, instance.environment_if_built()
        from ..adapters.pbx.connection import PbxEndpoint

        info = instance.info
        endpoint = PbxEndpoint.of_instance(info)
        return instance, endpoint, instance.environment_if_built()

    async def connect(self, timeout: float = 10.0) -> None:
        """An AMI connection of its own to the live Asterisk (for reload, contexts, probe)."""
        from ..adapters.pbx.ami import AmiLink
        from ..adapters.pbx.dialplan import AmiDialplan

        if self.endpoint is None or self.service.files is None:
            raise ConfigurationError(
                "no live Asterisk to apply to: start it (`ccserver asterisk up` or `ccserver serve`), "
                "or set asterisk_generated_dir and the AMI settings for an external one",
                field="asterisk_instance",
            )
        e = self.endpoint
        self.ami = AmiLink(
            host=e.ami_host, port=e.ami_port, username=e.ami_username, secret=e.ami_secret, submit=lambda _e: None
        )
        await self.ami.start()
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.ami.is_up:  # waiting for the login, the state that matters
            if asyncio.get_running_loop().time() > deadline:
                raise ConfigurationError(f"AMI {e.ami_host}:{e.ami_port} did not log in: {self.ami.last_error}")
            await asyncio.sleep(0.05)
        self.service.pbx = AmiDialplan(self.ami)

    async def close(self) -> None:
        if self.ami is not None:
            await self.ami.stop()
        await asyncio.to_thread(self.scratch.stop)
        self.db.dispose()


def _run(settings: Settings, work, *, live: bool = False, lock_wait: float | None = None):
    async def main():
        ctx = _Context(settings, live=live)
        if lock_wait is not None:
            ctx.service.lock_wait = max(0.0, lock_wait)
        try:
            if live:
                await ctx.connect()
            await ctx.service.start()  # first use: what the live Asterisk reads becomes v1
            return await work(ctx.service)
        finally:
            await ctx.close()

    return asyncio.run(main())


def _actor() -> str:
    from .server import _cli_actor

    return _cli_actor()


def _read_files(paths: list[Path]) -> dict[str, str]:
    files = {}
    for path in paths:
        try:
            files[path.name] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"{path}: unreadable: {exc}", field="files", file=str(path)) from None
    return files


def _print_problems(problems: list[dict]) -> None:
    for p in problems:
        print(f"{p['file']}:{p['line']}: {p['rule']}: {p['message']}")


def _refused(args, exc) -> int:
    problems = exc.details.get("problems", [])
    if args.json:
        print(json.dumps({"ok": False, "error": exc.error_id, "message": exc.message, "problems": problems}, indent=2))
    else:
        print(f"ccserver: refused: {exc.message}")
        _print_problems(problems)
    return 1


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(service):
        return await service.running_id(), await service.versions()

    running, versions = _run(settings, work)
    if args.json:
        print(json.dumps({"running_version": running, "versions": [v.summary() for v in versions]}, indent=2))
        return 0
    print(f"{'VERSION':<8} {'SAVED (UTC)':<20} {'AUTHOR':<16} COMMENT")
    for v in versions:
        mark = "*" if v.id == running else " "
        print(f"{mark}v{v.id:<6} {v.created_at:%Y-%m-%d %H:%M:%S} {v.author:<16} {v.comment}")
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    async def work(service):
        version_id = args.version or await service.running_id()
        if version_id is None:
            raise ConfigurationError("no version is stored yet", field="version")
        version = await service.version(version_id)
        return version, (await service.diff(version_id) if args.diff else None)

    version, diff_text = _run(settings, work)
    files = version.files
    if args.file:
        if args.file not in files:
            raise ConfigurationError(f"v{version.id} has no file {args.file!r}", field="file")
        files = {args.file: files[args.file]}
    if args.json:
        print(json.dumps({**version.summary(), "files": files, **({"diff": diff_text} if args.diff else {})}, indent=2))
    elif args.diff:
        print(diff_text or f"v{version.id} is what runs", end="" if diff_text else "\n")
    else:
        for name, text in sorted(files.items()):
            print(f";; ===== {name} (v{version.id}) =====")
            print(text, end="" if text.endswith("\n") else "\n")
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    files = _read_files(args.files)
    report = _run(settings, lambda service: service.check(files))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    elif report.ok:
        print(f"ok: {', '.join(sorted(files))}: no problem (lint and scratch Asterisk)")
    else:
        _print_problems([p.to_dict() for p in report.problems])
    return 0 if report.ok else 1


def _print_result(args, result) -> int:
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        d = result.deployment
        if result.applied:
            print(f"v{d.version_id} applied ({d.action}) in {d.seconds:.2f} s; previous: v{d.previous_version_id}")
        else:
            print(f"v{d.version_id} NOT applied: {d.detail}; the previous dialplan runs again ({d.seconds:.2f} s)")
    return 0 if result.applied else 1


def cmd_apply(args: argparse.Namespace, settings: Settings) -> int:
    from ..capabilities.dialplans.errors import DialplanBusy, DialplanRefused

    if bool(args.files) == (args.version is not None):
        raise ConfigurationError("give either FILE... or --version N", field="version")
    files = _read_files(args.files) if args.files else None

    async def work(service):
        version_id = args.version
        if files is not None:
            version, _ = await service.save(files, _actor(), args.comment)
            version_id = version.id
        return await service.apply(version_id, _actor(), args.comment)

    try:
        result = _run(settings, work, live=True, lock_wait=args.wait)
    except (DialplanRefused, DialplanBusy) as exc:
        return _refused(args, exc)
    return _print_result(args, result)


def cmd_rollback(args: argparse.Namespace, settings: Settings) -> int:
    from ..capabilities.dialplans.errors import DialplanBusy, DialplanRefused

    try:
        result = _run(
            settings,
            lambda service: service.rollback(args.version, _actor(), args.comment),
            live=True,
            lock_wait=args.wait,
        )
    except (DialplanRefused, DialplanBusy) as exc:
        return _refused(args, exc)
    return _print_result(args, result)


def cmd_history(args: argparse.Namespace, settings: Settings) -> int:
    deployments = _run(settings, lambda service: service.history())
    if args.json:
        print(json.dumps([d.to_dict() for d in deployments], indent=2))
        return 0
    print(f"{'WHEN (UTC)':<20} {'WHO':<16} {'ACTION':<9} {'VERSION':<8} {'OUTCOME':<12} SECONDS  DETAIL")
    for d in deployments:
        print(
            f"{d.at:%Y-%m-%d %H:%M:%S} {d.actor:<16} {d.action:<9} v{d.version_id:<7} {d.outcome:<12} "
            f"{d.seconds:7.2f}  {d.comment}{' — ' + d.detail if d.detail else ''}"
        )
    return 0
