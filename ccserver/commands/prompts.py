"""``ccserver prompt list|add|remove [--json]``: prompts admins recorded, from the command line.

`add FILE --language fr [--name NAME]` converts a WAV or MP3 file to what Asterisk plays (8 kHz
mono WAV) and stores it in the private Asterisk's media directory (or the directory shared with
an external one: setting asterisk.media_dir); a queue then uses it by name (welcome or closed
message, /admin/media or PUT /api/media/queues/NAME). Every change is written to the audit log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from ..core.errors import InvalidInput
from ..settings import Settings

logger = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("prompt", help="prompts uploaded for the queues and IVR", description=__doc__)
    sub = parser.add_subparsers(dest="prompt_command", required=True)
    listing = sub.add_parser("list", help="every prompt, by language")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)
    add = sub.add_parser("add", help="convert and store a WAV or MP3 file as a prompt")
    add.add_argument("file", type=Path)
    add.add_argument("--language", required=True, help="the language it is spoken in (fr, en...)")
    add.add_argument("--name", default="", help="its name (default: from the file name)")
    add.add_argument("--json", action="store_true", help="machine-readable output")
    add.set_defaults(func=cmd_add)
    remove = sub.add_parser("remove", help="remove a prompt no queue uses")
    remove.add_argument("name")
    remove.add_argument("--language", required=True)
    remove.add_argument("--json", action="store_true", help="machine-readable output")
    remove.set_defaults(func=cmd_remove)


def _instance(settings: Settings):
    """The private Asterisk instance of these settings when it was ever rendered here."""
    if settings.asterisk.generated_dir or settings.asterisk.media_dir:
        return None  # an external Asterisk
    from ..adapters.asterisk.instance import AsteriskInstance

    try:
        instance = AsteriskInstance(settings)
        return instance if instance.status() is not None else None
    except Exception as exc:  # no root built, never rendered...
        logger.debug("no private Asterisk: %s", exc)
        return None


def _service(settings: Settings):
    from ..adapters.asterisk.media_files import media_files_of
    from ..adapters.audio import SoundfileConverter
    from ..adapters.db.database import Database
    from ..adapters.db.media import MediaRepository
    from ..adapters.db.repositories import AuditLog
    from ..capabilities.media.service import MediaService
    from ..core.clock import SystemClock

    db = Database(settings.storage.effective_database_url)
    db.upgrade()
    clock = SystemClock()
    service = MediaService(
        MediaRepository(db, clock),
        AuditLog(db),
        clock,
        converter=SoundfileConverter(),
        files=media_files_of(settings, _instance(settings)),
        default_language=settings.asterisk.language,
    )
    return service, db


def _actor() -> str:
    from .server import _cli_actor

    return _cli_actor()


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    service, db = _service(settings)
    try:
        prompts = asyncio.run(service.prompts())
    finally:
        db.dispose()
    if args.json:
        print(json.dumps([{"language": p.group, **p.to_dict()} for p in prompts], indent=2))
        return 0
    print(f"{'LANGUAGE':<9} {'NAME':<32} {'SECONDS':>7}  FROM")
    for p in prompts:
        print(f"{p.group:<9} {p.name:<32} {p.duration_ms / 1000:>7.1f}  {p.source_name}")
    return 0


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    path: Path = args.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be read ({exc.strerror})", field="file", file=str(path)) from None
    service, db = _service(settings)
    try:
        prompt = asyncio.run(service.add_prompt(args.language, args.name, path.name, data, _actor()))
    finally:
        db.dispose()
    shown = {"language": prompt.group, **prompt.to_dict()}
    if args.json:
        print(json.dumps(shown, indent=2))
    else:
        print(f"prompt {prompt.group}/{prompt.name} stored ({prompt.duration_ms / 1000:.1f} s, 8 kHz mono WAV)")
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    service, db = _service(settings)
    try:
        asyncio.run(service.remove_prompt(args.language, args.name, _actor()))
    finally:
        db.dispose()
    if args.json:
        print(json.dumps({"removed": f"{args.language}/{args.name}"}))
    else:
        print(f"prompt {args.language}/{args.name} removed")
    return 0
