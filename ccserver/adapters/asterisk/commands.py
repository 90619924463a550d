"""`ccserver asterisk up|down|status|cli`: run the private Asterisk by hand;
`ccserver asterisk render --out DIR`: configure a system-installed Asterisk (docker image)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from ...settings import Settings
from .instance import AsteriskInstance, InstanceInfo

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("asterisk", help="the private Asterisk instance", description=__doc__)
    parser.add_argument("--instance", metavar="NAME", help="instance name (default: setting asterisk_instance)")
    actions = parser.add_subparsers(dest="asterisk_command", required=True)
    up = actions.add_parser("up", help="render the configuration and start Asterisk")
    up.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for FullyBooted")
    up.set_defaults(func=_up)
    down = actions.add_parser("down", help="stop Asterisk")
    down.set_defaults(func=_down)
    status = actions.add_parser("status", help="say whether Asterisk runs, where and on which ports")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=_status)
    cli = actions.add_parser("cli", help='run an Asterisk CLI command, e.g. "pjsip show endpoints"')
    cli.add_argument("cli_command", metavar="COMMAND", nargs="+")
    cli.set_defaults(func=_cli)
    render = actions.add_parser(
        "render",
        help="write the configuration of a system-installed Asterisk into DIR",
        description="Render asterisk-conf/ and copy dialplans/ into DIR (the docker image: "
        "/etc/asterisk) for the Asterisk installed on this system: its own "
        "directories (/var/lib/asterisk...), the ports and secrets of the settings "
        "(CCSERVER_PBX_AMI_PORT, CCSERVER_PBX_AMI_SECRET...; none picked). Files ccserver "
        "generates at run time (pjsip_agents.conf...) are created only when missing.",
    )
    render.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="Asterisk's configuration directory (astetcdir)"
    )
    render.set_defaults(func=_render)
    # `ccserver asterisk down --instance NAME` works as well as `asterisk --instance NAME down`
    for action in (up, down, status, cli, render):
        action.add_argument(
            "--instance", metavar="NAME", default=argparse.SUPPRESS, help="instance name (as before the action)"
        )


def _instance(args: argparse.Namespace, settings: Settings) -> AsteriskInstance:
    return AsteriskInstance(settings, name=args.instance or None)


def describe(info: InstanceInfo) -> str:
    """What a person needs to reach the instance, one item a line."""
    where = f"chroot {info.root}" if info.mode == "chroot" else "host"
    state = f"running, pid {info.pid}" if info.running else "not running"
    return "\n".join(
        [
            f"Asterisk {info.asterisk_version} instance '{info.name}': {state} ({where})",
            f"  AMI   {info.ami_host}:{info.ami_port}  username {info.ami_username}  secret {info.ami_secret}",
            f"  ARI   {info.ari_url}/ari  username {info.ari_username}  password {info.ari_password}"
            f"  app {info.ari_app}",
            f"  SIP   {info.sip_host}:{info.sip_port} (udp)  RTP {info.rtp_start}-{info.rtp_end}",
            f"  dir   {info.instance_dir}",
            f"  credentials {info.credentials_file}",
            f"  logs  {info.messages_log}  (console: {info.console_log})",
        ]
    )


def _up(args: argparse.Namespace, settings: Settings) -> int:
    instance = _instance(args, settings)
    was_running = instance.pid() is not None
    info = instance.up(timeout=args.timeout)
    if was_running:
        print("already running")
    print(describe(info))
    problems = instance.boot_problems()
    if problems and not was_running:
        print(f"{len(problems)} warning(s) at boot, see {info.messages_log}:")
        for line in problems[:10]:
            print(f"  {line}")
    return 0


def _down(args: argparse.Namespace, settings: Settings) -> int:
    instance = _instance(args, settings)
    if instance.down():
        print(f"instance '{instance.name}' stopped")
    else:
        print(f"instance '{instance.name}' was not running")
    return 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    """Exit status 0 when running, 3 when not (like service scripts), 4 when never set up."""
    instance = _instance(args, settings)
    info = instance.status()
    if info is None:
        if args.json:
            print(json.dumps({"name": instance.name, "running": False, "rendered": False}))
        else:
            print(f"instance '{instance.name}' was never started (run `ccserver asterisk up`)")
        return 4
    if args.json:
        print(json.dumps(info.as_dict(), indent=2))
    else:
        print(describe(info))
    return 0 if info.running else 3


def _cli(args: argparse.Namespace, settings: Settings) -> int:
    print(_instance(args, settings).cli(" ".join(args.cli_command)), end="")
    return 0


def _render(args: argparse.Namespace, settings: Settings) -> int:
    result = _instance(args, settings).render_to(args.out)
    print(f"rendered {len(result.rendered)} files into {result.out_dir} (modules {result.modules_dir})")
    if result.created:
        print(f"  created: {', '.join(result.created)}")
    if result.kept:
        print(f"  kept as they were (ccserver writes them): {', '.join(result.kept)}")
    return 0
