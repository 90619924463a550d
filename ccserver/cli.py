"""The `ccserver` command. Each capability adds its sub-commands through a `register` function."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from .core.errors import CcError
from .settings import load_settings

# modules that define `register(subparsers)`; each adds its own sub-commands
COMMAND_MODULES = (
    "ccserver.commands.server",
    "ccserver.telephony.commands",
    "ccserver.capabilities.outbound.commands",
    "ccserver.capabilities.ivr.commands",
    "ccserver.capabilities.privacy.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ccserver", description=__doc__)
    parser.add_argument("--config", help="TOML settings file (also CCSERVER_CONFIG)")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING...")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # that capability is not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config, overrides={"log_level": args.log_level})
        logging.basicConfig(level=settings.log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
