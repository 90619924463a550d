"""`ccserver serve`, `ccserver demo`, `ccserver db upgrade` (the user commands: commands/users.py)."""

from __future__ import annotations

import argparse
import getpass
import logging
import shlex

from aiohttp import web

from ..adapters.asterisk.capacity import check_rtp_capacity
from ..core.errors import CcError, ConfigurationError
from ..settings import Settings

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="run the server (starts the private Asterisk unless --external)")
    serve.add_argument("--host", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default 8080)")
    serve.add_argument(
        "--external",
        action="store_true",
        help="use the Asterisk described by ami_*/ari_* settings instead of the private one",
    )
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="set up a demo call center (SQLite + private Asterisk) and run it")
    demo.add_argument("--host")
    demo.add_argument("--port", type=int)
    demo.add_argument("--setup-only", action="store_true", help="seed and print, do not serve")
    demo.set_defaults(func=cmd_demo)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply pending schema migrations in place")
    upgrade.set_defaults(func=cmd_db_upgrade)


def _database(settings: Settings):
    from ..adapters.db.database import Database

    return Database(settings.storage.effective_database_url)


def _cli_actor() -> str:
    """Who ran the command, for the audit log: ``cli:<system user>`` (the user and phone
    commands use it)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def cmd_db_upgrade(args, settings: Settings) -> int:
    db = _database(settings)
    applied = db.upgrade()
    print(f"database at version {db.current_version()} ({len(applied)} migration(s) applied)")
    return 0


def _settings_with(settings: Settings, args) -> Settings:
    return settings.replace(
        {
            k: v
            for k, v in (("web.host", getattr(args, "host", None)), ("web.port", getattr(args, "port", None)))
            if v is not None
        }
    )


def private_endpoint(settings: Settings):
    """Bring the private Asterisk up (building its root the first time) and say how to reach it."""
    from ..adapters.asterisk.instance import AsteriskInstance
    from ..adapters.pbx.connection import PbxEndpoint

    instance = AsteriskInstance(settings)
    info = instance.up()
    endpoint = PbxEndpoint.of_instance(info)
    return instance, info, endpoint


def _with_sip_port(settings: Settings, info) -> Settings:
    """The SIP port the private instance picked (sip_port = 0): what the phones pages show."""
    return settings if settings.asterisk.sip_port else settings.replace({"asterisk.sip_port": info.sip_port})


def run_server(settings: Settings, endpoint, config_writer=None) -> None:
    from ..adapters.web.app import create_app
    from ..app import Runtime

    app = create_app(Runtime(settings, endpoint, config_writer=config_writer))
    web.run_app(app, host=settings.web.host, port=settings.web.port, print=None, access_log=None, shutdown_timeout=5.0)


def cmd_serve(args, settings: Settings) -> int:
    from ..app import endpoint_from_settings

    settings = _settings_with(settings, args)
    writer = None
    # the node's RTP range must carry the calls it admits (the private instance checks it too)
    check_rtp_capacity(settings.asterisk.rtp_port_count, settings.asterisk.max_concurrent_calls)
    if args.external:
        from ..adapters.asterisk.config_dir import DirectoryConfigWriter

        endpoint = endpoint_from_settings(settings)
        if endpoint is None:
            raise ConfigurationError(
                "--external needs ami_port and ari_port (CCSERVER_PBX_AMI_PORT...)", field="ami_port"
            )
        if settings.asterisk.generated_dir:
            writer = DirectoryConfigWriter(settings.asterisk.generated_dir)
        print(f"ccserver listening on http://{settings.web.host}:{settings.web.port}/", flush=True)
        run_server(settings, endpoint, writer)
        return 0
    instance, info, endpoint = private_endpoint(settings)
    settings = _with_sip_port(settings, info)
    print(
        f"Asterisk '{info.name}' running: AMI 127.0.0.1:{info.ami_port}, ARI {info.ari_url}, "
        f"SIP {info.sip_host}:{info.sip_port}",
        flush=True,
    )
    print(f"ccserver listening on http://{settings.web.host}:{settings.web.port}/", flush=True)
    try:
        run_server(settings, endpoint, instance)
    finally:
        leave_private_asterisk(instance, getattr(args, "config", None))
    return 0


def cmd_demo(args, settings: Settings) -> int:
    from .demo import demo_settings, seed_demo

    settings = demo_settings(_settings_with(settings, args))
    instance, info, endpoint = private_endpoint(settings)
    settings = _with_sip_port(settings, info)
    summary = seed_demo(settings, instance)
    print(summary.describe(settings, info), flush=True)
    if args.setup_only:
        print(f"Asterisk '{info.name}' left running; stop it with: {down_command(instance.name, args.config)}")
        return 0
    try:
        run_server(settings, endpoint, instance)
    finally:
        leave_private_asterisk(instance, getattr(args, "config", None))
    return 0


def down_command(name: str, config: str | None = None) -> str:
    """The command that stops instance `name` (with the settings file the server was given)."""
    return "ccserver " + (f"--config {shlex.quote(config)} " if config else "") + f"asterisk down --instance {name}"


def leave_private_asterisk(instance, config: str | None = None) -> None:
    """Once the server has stopped (Ctrl-C, SIGTERM, or a failure): stop the private Asterisk
    when this process started it and no call is up; otherwise leave it running (its calls go on
    without the controller) and say so, with the calls up and the command that stops it."""
    name, stop = instance.name, down_command(instance.name, config)
    if instance.pid() is None:
        print(f"Asterisk '{name}' is not running any more.", flush=True)
        return
    try:
        count = instance.channel_count()
    except CcError as exc:
        print(
            f"Asterisk '{name}' is still running (its calls could not be counted: {exc.message}).\n"
            f"Stop it with: {stop}",
            flush=True,
        )
        return
    if instance.started_here and count.channels == 0:
        instance.down()
        print(f"Asterisk '{name}' stopped (no call was up).", flush=True)
        return
    why = (
        f"{count.calls} call(s) up ({count.channels} channel(s)): they go on without ccserver"
        if count.channels
        else "it was already running when ccserver started"
    )
    print(
        f"Asterisk '{name}' is still running: {why}.\n"
        f"Stop it{' (ending those calls)' if count.channels else ''} with: {stop}",
        flush=True,
    )
