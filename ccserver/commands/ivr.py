"""``ccserver ivr check FILE...``: validate IVR scripts, print every error as
``FILE:LINE: node NODE: message`` and exit 1 when there is any (0 when all are valid)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ccserver.capabilities.ivr.loader import ValidationContext, check_files, prompt_checker


def _names(text: str | None) -> frozenset[str] | None:
    if text is None:
        return None
    return frozenset(name.strip() for name in text.split(",") if name.strip())


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("ivr", help="IVR (SVI) scripts")
    sub = parser.add_subparsers(dest="ivr_command", required=True)
    check = sub.add_parser(
        "check",
        help="validate IVR scripts",
        description="Validate IVR scripts (files, or directories of *.yaml). Prompt files, "
        "queues and skills are checked only when their list is given.",
    )
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--queues", metavar="Q1,Q2", help="known queue names (default: queues not checked)")
    check.add_argument("--skills", metavar="S1,S2", help="known skill names (default: skills not checked)")
    check.add_argument(
        "--sounds-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="directory of sounds (sound:NAME), repeatable; language sub-directories (fr/, en/) are searched too",
    )
    check.add_argument(
        "--recordings-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="directory of stored recordings (recording:NAME), repeatable",
    )
    check.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace, settings: Any = None) -> int:
    prompts = None
    if args.sounds_dir or args.recordings_dir:
        prompts = prompt_checker(args.sounds_dir, args.recordings_dir)
    context = ValidationContext(queues=_names(args.queues), skills=_names(args.skills), prompt_exists=prompts)
    scripts, issues = check_files(args.files, context)
    for issue in issues:
        print(issue)
    unchecked = [
        what
        for what, value in (("prompt files", prompts), ("queues", args.queues), ("skills", args.skills))
        if value is None
    ]
    if unchecked:
        print(f"note: not checked: {', '.join(unchecked)} (see --help)", file=sys.stderr)
    if issues:
        files = len({issue.file for issue in issues})
        print(f"{len(issues)} error(s) in {files} file(s)", file=sys.stderr)
        return 1
    print(f"OK: {len(scripts)} script(s) valid")
    return 0
