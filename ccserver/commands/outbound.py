"""`ccserver compliance ...`: the compliance engine from the command line.

    ccserver compliance check --number NUMBER --at ISO-8601-UTC [--postcode CP]
        [--history FILE] [--basis consent|contract|none] [--outside-hours-consent]
        [--caller-id NUMBER] [--dnc FILE] [--bloctel FILE] [--bloctel-scrubbed-at ISO-8601]

prints one JSON object (allowed, reasons with every rule evaluated, timezone, local_time...) and
exits 0 when the call is allowed, 1 when it is forbidden (2 on bad input).

    ccserver compliance build-list --kind company-dnc|bloctel --input FILE --output BITMAP
        [--scrubbed-at ISO-8601]

builds a memory-mapped opposition bitmap from a text file of numbers (atomic replace).

    ccserver compliance why (--contact ID | --number NUMBER [--campaign ID])

prints, as JSON, the decisions the dialer (and people) took for a contact or a number, with
every rule: "why was this contact not called?".

    ccserver compliance export [--campaign ID] [--from ISO] [--to ISO] [--number N] [--output F]

writes every stored decision as CSV (';', UTF-8), the compliance officer's proof.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from ..capabilities.outbound.compliance import Basis, CallRequest, OppositionFacts, decide, parse_history, parse_instant
from ..capabilities.outbound.numbers import parse_number, try_parse_number
from ..capabilities.outbound.opposition import OppositionList, build_from_text_file, is_bitmap_file
from ..core.errors import InvalidInput

logger = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("compliance", help="outbound canvassing compliance (French law)")
    sub = parser.add_subparsers(dest="compliance_command", required=True)

    check = sub.add_parser("check", help="may this number be called at this moment? (JSON)")
    check.add_argument("--number", required=True, help="consumer's number, any French writing")
    check.add_argument("--at", required=True, help="moment of the call, ISO-8601 with Z/offset")
    check.add_argument("--postcode", help="consumer's postcode (time zone and local holidays)")
    check.add_argument("--history", help='JSON file: [{"at": "ISO-8601-UTC", "refused": false}]')
    check.add_argument(
        "--basis",
        default="none",
        choices=[b.value for b in Basis],
        help="legal basis: prior consent, current contract, or none",
    )
    check.add_argument(
        "--outside-hours-consent",
        action="store_true",
        help="the consumer expressly agreed to calls outside the legal hours",
    )
    check.add_argument("--caller-id", help="number the dialer presents (must be an NPV)")
    check.add_argument(
        "--manual",
        action="store_true",
        help="a person dials by hand (the NPV caller-ID rule is for automated systems; mobiles stay forbidden)",
    )
    check.add_argument("--dnc", help="company do-not-call list: bitmap or text file of numbers")
    check.add_argument("--bloctel", help="Bloctel opposition list: bitmap or text file")
    check.add_argument(
        "--bloctel-scrubbed-at", help="when that Bloctel list was obtained (default: the bitmap's own date)"
    )
    check.set_defaults(func=run_check)

    build = sub.add_parser("build-list", help="build an opposition bitmap from a text file")
    build.add_argument("--kind", required=True, choices=["company-dnc", "bloctel"])
    build.add_argument("--input", required=True, help="text file, one number a line")
    build.add_argument("--output", required=True, help="bitmap file to (atomically) replace")
    build.add_argument("--scrubbed-at", help="date of the Bloctel extraction (ISO-8601)")
    build.set_defaults(func=run_build)

    why = sub.add_parser("why", help="the stored decisions for a contact or a number (JSON)")
    target = why.add_mutually_exclusive_group(required=True)
    target.add_argument("--contact", type=int, help="contact id (see the campaign screen)")
    target.add_argument("--number", help="a number, any French writing")
    why.add_argument("--campaign", type=int, help="with --number: only this campaign")
    why.add_argument("--limit", type=int, default=50)
    why.set_defaults(func=run_why)

    export = sub.add_parser("export", help="every stored decision as CSV")
    export.add_argument("--campaign", type=int)
    export.add_argument("--from", dest="since", help="ISO-8601 (UTC when no offset)")
    export.add_argument("--to", dest="until", help="ISO-8601, exclusive")
    export.add_argument("--number")
    export.add_argument("--output", help="file to write (default: standard output)")
    export.set_defaults(func=run_export)


def run_check(args: argparse.Namespace, settings: Any = None) -> int:
    at = parse_instant(args.at, "at")
    history = []
    if args.history:
        history = parse_history(_read_json(args.history, "history"), "history")
    number = try_parse_number(args.number)
    dnc = _lookup(args.dnc, "dnc", number.nsn if number else None)
    bloctel_listed: bool | None = None
    scrubbed = parse_instant(args.bloctel_scrubbed_at, "bloctel-scrubbed-at") if args.bloctel_scrubbed_at else None
    if args.bloctel:
        bloctel_listed, list_date = _lookup_with_date(args.bloctel, "bloctel", number.nsn if number else None)
        scrubbed = scrubbed or list_date
    request = CallRequest(
        number=args.number,
        postcode=args.postcode,
        basis=Basis(args.basis),
        outside_hours_consent=args.outside_hours_consent,
        caller_id=args.caller_id,
        automated=not args.manual,
    )
    facts = OppositionFacts(company_dnc=bool(dnc), bloctel_listed=bloctel_listed, bloctel_scrubbed_at=scrubbed)
    decision = decide(request, history, facts, at)
    record = decision.as_dict()
    logger.info(
        "compliance check number=%s at=%s allowed=%s failed=%s",
        args.number,
        record["at"],
        decision.allowed,
        ",".join(record["failed"]),
    )
    json.dump(record, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0 if decision.allowed else 1


def run_build(args: argparse.Namespace, settings: Any = None) -> int:
    scrubbed = parse_instant(args.scrubbed_at, "scrubbed-at") if args.scrubbed_at else None
    if args.kind != "company-dnc" and scrubbed is None:
        raise InvalidInput("a Bloctel list needs the date it was obtained", field="scrubbed-at")
    if not Path(args.input).is_file():
        raise InvalidInput("no such file", field="input", value=args.input)
    report = build_from_text_file(args.input, args.output, kind=args.kind, scrubbed_at=scrubbed)
    json.dump(
        {
            "output": report.path,
            "kind": report.meta.kind,
            "count": report.meta.count,
            "lines": report.lines,
            "invalid_lines": report.invalid_lines,
            "scrubbed_at": report.meta.scrubbed_at,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")
    return 0


def _compliance(settings: Any):
    """The compliance decisions on the configured database (the CLI wires its adapters)."""
    from ..adapters.db.database import Database
    from ..adapters.db.outbound import OutboundRepository
    from ..capabilities.outbound.service import OutboundService
    from ..core.clock import SystemClock

    database = Database(settings.storage.effective_database_url)
    database.upgrade()
    return OutboundService(OutboundRepository(database), clock=SystemClock()).compliance, database


def run_why(args: argparse.Namespace, settings: Any = None) -> int:
    compliance, database = _compliance(settings)
    try:
        if args.contact is not None:
            result = compliance.why(args.contact)
        else:
            number = parse_number(args.number, field="number")
            result = compliance.why_number(number, campaign_id=args.campaign, limit=args.limit)
    finally:
        database.dispose()
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


def run_export(args: argparse.Namespace, settings: Any = None) -> int:
    since = parse_instant(args.since, "from") if args.since else None
    until = parse_instant(args.until, "to") if args.until else None
    compliance, database = _compliance(settings)
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    rows = 0
    try:
        for chunk in compliance.export_decisions(
            campaign_id=args.campaign, since=since, until=until, number=args.number
        ):
            out.write(chunk)
            rows += chunk.count("\r\n")
    finally:
        database.dispose()
        if args.output:
            out.close()
    if args.output:
        print(f"{rows - 1} decision(s) written to {args.output}", file=sys.stderr)
    return 0


def _read_json(path: str, field: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read file: {exc.strerror}", field=field, value=path) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"not valid JSON: {exc}", field=field, value=path) from None


def _lookup(path: str | None, field: str, nsn: int | None) -> bool:
    if not path:
        return False
    return _lookup_with_date(path, field, nsn)[0]


def _lookup_with_date(path: str, field: str, nsn: int | None):
    file = Path(path)
    if not file.is_file():
        raise InvalidInput("no such file", field=field, value=path)
    if is_bitmap_file(file):
        lst = OppositionList.open(file, populate=False)
        try:
            return (nsn is not None and nsn in lst), lst.meta.scrubbed
        finally:
            lst.close()
    found = False
    if nsn is not None:
        with open(file, encoding="utf-8", errors="replace") as f:
            found = any(
                (n := try_parse_number(line.strip())) is not None and n.nsn == nsn for line in f if line.strip()
            )
    return found, None
