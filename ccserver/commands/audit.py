"""``ccserver audit list|verify|seal|export``: the audit log from the command line.

`list` prints entries newest first (filters as on the /admin/audit page; ``--json``); `verify`
checks the hash chain from the first entry to the last and names the first broken entry (exit
status 2 when broken, with ``--json`` 1 and the verdict); `seal` chains the entries written before
the chain existed (the server does it at start); `export` writes them as CSV (oldest first, cells
a spreadsheet would run as formulas neutralised), itself logged as ``cli:<user>``'s export.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("audit", help="the audit log: list, verify the chain, export", description=__doc__)
    sub = parser.add_subparsers(dest="audit_command", required=True)
    listing = sub.add_parser("list", help="entries, newest first")
    export = sub.add_parser("export", help="entries as CSV, oldest first (to stdout or --output)")
    for command in (listing, export):
        command.add_argument("--from", dest="since", default="", help="from this time (ISO 8601, UTC if no zone)")
        command.add_argument("--to", dest="until", default="", help="until this time (excluded)")
        command.add_argument("--actor", default="", help="who acted (exact)")
        command.add_argument("--action", default="", help="action or its prefix (login finds login.failed)")
        command.add_argument("--target", default="", help="what was acted on (exact)")
        command.add_argument("--text", default="", help="text in the target, details, actor or address")
    listing.add_argument("--limit", type=int, default=50, help="how many (1 to 500; default 50)")
    listing.add_argument("--page", type=int, default=1, help="which page of --limit entries")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)
    export.add_argument("--output", default="", help="write to this file instead of stdout")
    export.set_defaults(func=cmd_export)
    verify = sub.add_parser("verify", help="check the hash chain; names the first broken entry")
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.set_defaults(func=cmd_verify)
    seal = sub.add_parser("seal", help="chain the entries written before the chain existed")
    seal.set_defaults(func=cmd_seal)


def _service(settings: Settings):
    from ..adapters.db.audit import AuditLog
    from ..adapters.db.database import Database
    from ..capabilities.audit.service import AuditService
    from ..core.clock import SystemClock

    db = Database(settings.storage.effective_database_url)
    db.upgrade()
    return AuditService(AuditLog(db), SystemClock()), db


def _filters(args: argparse.Namespace):
    from ..capabilities.audit.model import parse_filters

    return parse_filters(
        {
            "from": args.since,
            "to": args.until,
            "actor": args.actor,
            "action": args.action,
            "target": args.target,
            "q": args.text,
        }
    )


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from ..capabilities.audit.model import parse_page

    filters = _filters(args)
    page, size = parse_page({"page": str(args.page), "size": str(args.limit)})
    service, db = _service(settings)
    try:
        result = asyncio.run(service.search(filters, page, size))
    finally:
        db.dispose()
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return 0
    for e in result.entries:
        details = json.dumps(e["details"], ensure_ascii=False, sort_keys=True)
        print(
            f"{e['id']:>7} {e['at'][:19].replace('T', ' ')} {e['actor']:<16} {e['client_address'] or '-':<15} "
            f"{e['action']:<24} {e['target']} {details if details != '{}' else ''}".rstrip()
        )
    print(f"{result.total} entries, page {result.page} of {result.pages}", file=sys.stderr)
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    service, db = _service(settings)
    try:
        if args.json:
            verdict = service.store.verify()
            print(json.dumps(verdict.to_dict(), indent=2))
            return 0 if verdict.ok else 1
        verdict = service.verify_or_raise()  # broken: ChainBroken, printed as ccserver: error: ...
    finally:
        db.dispose()
    print(verdict.summary())
    return 0 if verdict.ok else 1


def cmd_seal(args: argparse.Namespace, settings: Settings) -> int:
    service, db = _service(settings)
    try:
        count = service.store.seal()
    finally:
        db.dispose()
    print(f"{count} entries sealed into the chain" if count else "nothing to seal: every entry is chained")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from .server import _cli_actor

    filters = _filters(args)
    service, db = _service(settings)
    try:
        lines = service.export_csv(_cli_actor(), filters)
        if args.output:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                out.writelines(lines)
        else:
            sys.stdout.writelines(lines)
    finally:
        db.dispose()
    return 0
