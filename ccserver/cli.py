"""The `ccserver` command. Each capability adds its sub-commands through a `register` function."""

from __future__ import annotations

import argparse
import logging
import sys

from .adapters.asterisk import commands as asterisk_commands
from .commands import audit as audit_commands
from .commands import callcenter as callcenter_commands
from .commands import campaigns as campaign_commands
from .commands import dialplan as dialplan_commands
from .commands import ivr as ivr_commands
from .commands import knowledge as knowledge_commands
from .commands import outbound as outbound_commands
from .commands import phones as phone_commands
from .commands import privacy as privacy_commands
from .commands import prompts as prompt_commands
from .commands import server as server_commands
from .commands import users as user_commands
from .core.errors import CcError
from .settings import Settings, load_settings

# modules that define `register(subparsers)`; each adds its own sub-commands
COMMAND_MODULES = (
    server_commands,
    user_commands,
    asterisk_commands,
    outbound_commands,
    campaign_commands,
    ivr_commands,
    privacy_commands,
    phone_commands,
    callcenter_commands,
    audit_commands,
    prompt_commands,
    dialplan_commands,
    knowledge_commands,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ccserver", description=__doc__)
    parser.add_argument("--config", help="TOML settings file (also CCSERVER_CONFIG)")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING...")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def configure_logging(settings: Settings) -> None:
    """The root level (`log.level`) and the levels of single loggers (`log.levels`: apscheduler
    at WARNING unless set otherwise)."""
    levels = settings.log.logger_levels()  # checked first: a bad value is refused naming its key
    logging.basicConfig(level=settings.log.level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config, overrides={"log.level": args.log_level})
        configure_logging(settings)
        return int(args.func(args, settings) or 0)
    except CcError as exc:
        print(f"ccserver: error: {exc.message}", file=sys.stderr)
        for key, value in exc.details.items():
            print(f"  {key}: {value}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
