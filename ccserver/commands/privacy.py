"""`ccserver customer erase`: the GDPR erasure from the command line (same use case as the web's
POST /api/privacy/erase). Run it on the server's host: it reaches the database, ccserver's
recordings store and the private Asterisk's spool and logs. Calls in progress are only
handled by the running server (use the web API for those)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("customer", help="customer files")
    sub = parser.add_subparsers(dest="customer_command", required=True)
    erase = sub.add_parser("erase", help="GDPR erasure of a person everywhere (JSON summary)")
    erase.add_argument("--id", type=int, dest="customer_id", help="the customer file's id")
    erase.add_argument(
        "--number", action="append", default=[], help="a phone number of the person, any writing (repeatable)"
    )
    erase.add_argument("--actor", default="cli", help="who asks (written in the audit log)")
    erase.set_defaults(func=run_erase)


class _InstanceCli:
    """The private instance's CLI, to reload the logger after the logs were rewritten."""

    def __init__(self, instance) -> None:
        self.instance = instance
        self.is_up = True

    async def reload(self, module: str) -> None:
        await asyncio.to_thread(self.instance.reload, module)


def run_erase(args: argparse.Namespace, settings: Any) -> int:
    from ..adapters.db.database import Database
    from ..adapters.db.erasure import ErasureRepository
    from ..adapters.db.repositories import AuditLog
    from ..capabilities.privacy.service import AsteriskFiles, ErasureService, load_key
    from ..capabilities.recording.storage import RecordingStore, parse_key

    database = Database(settings.storage.effective_database_url)
    database.upgrade()
    instance = pbx = None
    if not settings.recording.spool_dir:
        from ..adapters.asterisk.instance import AsteriskInstance

        candidate = AsteriskInstance(settings)
        if candidate.status() is not None:
            instance = candidate
            if candidate.pid() is not None:
                pbx = _InstanceCli(candidate)
    files = AsteriskFiles.of(settings, instance)
    store_dir = (
        Path(settings.recording.store_dir)
        if settings.recording.store_dir
        else Path(settings.storage.data_dir) / "recordings"
    )
    store = RecordingStore(store_dir, files.monitor_dir, parse_key(settings.recording.encryption_key))
    service = ErasureService(
        ErasureRepository(database),
        load_key(settings.privacy.erasure_hmac_key, Path(settings.storage.data_dir)),
        audit=AuditLog(database),
        pbx=pbx,
        database=database,
        files=files,
        store=store,
    )
    try:
        summary = asyncio.run(service.erase(customer_id=args.customer_id, numbers=args.number, actor=args.actor))
    finally:
        database.dispose()
    json.dump(summary, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 1 if summary["failures"] else 0
