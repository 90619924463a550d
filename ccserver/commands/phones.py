"""``ccserver phone list|add|reset USER [--json]``: users' SIP phones from the command line.

`add` gives a user (agent, supervisor or admin) a SIP account; `reset` gives it a new password
(the old one stops working). The password is printed this once with the softphone settings;
the database keeps only its digests. When the private Asterisk runs on this machine, the change
is applied to it at once (its SIP accounts rendered, `res_pjsip.so` reloaded: no restart); with
an external Asterisk, the server applies it when it next renders its configuration (at start,
every night, or after an admin change from the web pages).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from dataclasses import replace
from typing import Any

from ..settings import Settings

logger = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("phone", help="users' SIP phones (softphone accounts)", description=__doc__)
    sub = parser.add_subparsers(dest="phone_command", required=True)
    listing = sub.add_parser("list", help="every active user and their phone")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)
    for name, help_text in (
        ("add", "give a user a SIP phone; prints its password once, with the softphone settings"),
        ("reset", "a new password for a user's phone (the old one stops working); printed once"),
    ):
        action = sub.add_parser(name, help=help_text)
        action.add_argument("username")
        action.add_argument("--json", action="store_true", help="machine-readable output")
        action.set_defaults(func=cmd_issue, phone_action=name)


class _InstanceReloader:
    """The one PBX command the ACD configuration needs (reload a module), through the private
    instance's CLI: this process has no AMI connection."""

    def __init__(self, instance) -> None:
        self.instance = instance

    @property
    def is_up(self) -> bool:
        return self.instance.pid() is not None

    async def reload(self, module: str) -> None:
        await asyncio.to_thread(self.instance.reload, module)


def _running_instance(settings: Settings):
    """The private Asterisk of these settings when it runs here (None otherwise)."""
    if settings.asterisk.generated_dir:
        return None  # an external Asterisk (serve --external)
    from ..adapters.asterisk.instance import AsteriskInstance

    try:
        instance = AsteriskInstance(settings)
        status = instance.status()
    except Exception as exc:  # no root built, never rendered...
        logger.debug("no private Asterisk: %s", exc)
        return None
    return instance if status is not None and status.running else None


def _service(settings: Settings):
    from ..adapters.db.acd import AcdRepository
    from ..adapters.db.database import Database
    from ..adapters.db.phones import PhoneRepository
    from ..adapters.db.repositories import AuditLog
    from ..capabilities.acd.service import AcdService
    from ..capabilities.agents.model import AgentBoard
    from ..capabilities.calls.model import CallTracker
    from ..capabilities.phones.plugin import phone_server
    from ..capabilities.phones.service import PhoneService
    from ..core.clock import SystemClock

    db = Database(settings.storage.effective_database_url)
    db.upgrade()
    clock, audit = SystemClock(), AuditLog(db)
    server = phone_server(settings)
    instance = _running_instance(settings)
    applied = {"to": ""}

    async def apply() -> None:
        if instance is None:
            return
        acd = AcdService(
            AcdRepository(db, clock), AgentBoard(clock), CallTracker(clock), _InstanceReloader(instance),
            instance, audit, clock,
        )  # fmt: skip
        await acd.apply_configuration()
        applied["to"] = instance.name

    if instance is not None and not settings.asterisk.sip_port:
        info = instance.info
        server = replace(server, port=info.sip_port)
    return PhoneService(PhoneRepository(db, clock), audit, clock, apply=apply, server=server), applied, db


def _actor() -> str:
    from .server import _cli_actor

    return _cli_actor()


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    service, _applied, db = _service(settings)
    try:
        lines = asyncio.run(service.phones())
    finally:
        db.dispose()
    if args.json:
        print(json.dumps([line.to_dict() for line in lines], indent=2))
        return 0
    print(f"{'USER':<20} {'ROLE':<11} PHONE (SIP user)")
    for line in lines:
        print(f"{line.username:<20} {line.role:<11} {line.sip_username or '-'}")
    return 0


def cmd_issue(args: argparse.Namespace, settings: Settings) -> int:
    service, applied, db = _service(settings)
    make = service.create if args.phone_action == "add" else service.regenerate
    try:
        issued = asyncio.run(make(args.username, _actor()))
    finally:
        db.dispose()
    softphone = issued.settings
    where = (
        f"applied to the running Asterisk '{applied['to']}'"
        if applied["to"]
        else "stored: the server applies it to Asterisk when it next renders its configuration"
    )
    if args.json:
        print(
            json.dumps(
                {
                    **issued.line.to_dict(),
                    "settings": softphone.to_dict(),
                    "provisioning": {"linphone_xml": softphone.linphone_xml(), "zoiper": softphone.zoiper_text()},
                    "applied_to": applied["to"],
                },
                indent=2,
            )
        )
        return 0
    print(f"phone of {issued.line.username} ({issued.line.role}): {where}")
    print("note the password now: it is not stored and will not be shown again")
    print(f"  server     {softphone.server.host}")
    print(f"  port       {softphone.server.port}")
    print(f"  transport  {softphone.server.transport.upper()}")
    print(f"  username   {softphone.sip_username}")
    print(f"  password   {softphone.password}")
    print(f"  realm      {softphone.realm}")
    print()
    print(softphone.zoiper_text())
    return 0
