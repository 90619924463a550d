"""``ccserver campaign list|edit [--json]``: the outbound campaigns from the command line.

`list` shows every campaign (mode, status, language); `edit ID --language L` sets the language
both legs of its calls take ('' for the server's default, `asterisk.language`), checked against
the languages Asterisk has sounds for, as on the campaign's page. Runs against the database the
server uses: the server's dialer reads campaigns again within 5 s. Audited as `cli:<user>`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from ..settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("campaign", help="outbound campaigns: list, edit the language")
    sub = parser.add_subparsers(dest="campaign_command", required=True)
    listing = sub.add_parser("list", help="every campaign: mode, status, language")
    listing.set_defaults(func=cmd_list)
    edit = sub.add_parser("edit", help="change a campaign's settings")
    edit.add_argument("campaign", type=int, help="campaign id (see `ccserver campaign list`)")
    edit.add_argument(
        "--language", required=True, help="the language of its calls (fr, en...; '' for the server's default)"
    )
    edit.set_defaults(func=cmd_edit)
    for action in (listing, edit):
        action.add_argument("--json", action="store_true", help="machine-readable output")


def _run(settings: Settings, work):
    from ..adapters.asterisk.media_files import media_files_of
    from ..adapters.db.database import Database
    from ..adapters.db.outbound import OutboundRepository
    from ..adapters.db.repositories import AuditLog
    from ..capabilities.outbound.service import OutboundService
    from ..core.clock import SystemClock
    from .prompts import _instance

    db = Database(settings.storage.effective_database_url)
    db.upgrade()
    try:
        service = OutboundService(OutboundRepository(db), clock=SystemClock(), audit=AuditLog(db))
        files = media_files_of(settings, _instance(settings))
        campaigns = service.campaigns
        campaigns.default_language = settings.asterisk.language
        campaigns.installed_languages = files.languages if files is not None else None
        return asyncio.run(work(campaigns))
    finally:
        db.dispose()


def _actor() -> str:
    from .server import _cli_actor

    return _cli_actor()


def _summary(c: dict) -> dict:
    return {key: c.get(key) for key in ("id", "name", "mode", "status", "language")}


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    campaigns = _run(settings, lambda service: service.campaigns())
    if args.json:
        print(json.dumps([_summary(c) for c in campaigns], indent=2))
        return 0
    print(f"{'ID':<5} {'NAME':<32} {'MODE':<12} {'STATUS':<10} LANGUAGE")
    for c in campaigns:
        print(f"{c['id']:<5} {c['name']:<32} {c['mode']:<12} {c['status']:<10} {c.get('language') or '(default)'}")
    return 0


def cmd_edit(args: argparse.Namespace, settings: Settings) -> int:
    campaign = _run(
        settings, lambda service: service.update_campaign(args.campaign, {"language": args.language}, _actor(), "admin")
    )
    if args.json:
        print(json.dumps(_summary(campaign), indent=2))
    else:
        print(f"campaign {campaign['id']} ({campaign['name']}): language {campaign.get('language') or '(default)'}")
    return 0
