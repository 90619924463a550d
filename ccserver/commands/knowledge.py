"""``ccserver kb list|show|search|add|edit|import``: the knowledge base from the command line.

The commands act as an admin (every article), recorded in the audit log as ``cli:<user>``.
`add` and `edit` read the Markdown from ``--file`` (``-`` for standard input); `import` reads a
JSON list of ``{"title", "body", "tags"}`` (all or none). Every command takes ``--json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..settings import Settings


@dataclass(frozen=True)
class _CliUser:
    username: str
    role: str = "admin"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "kb", help="the knowledge base: list, show, search, add, edit, import", description=__doc__
    )
    sub = parser.add_subparsers(dest="kb_command", required=True)
    listing = sub.add_parser("list", help="the latest articles")
    listing.add_argument("--tag", default="", help="only those with this tag (queue:NAME, ivr:..., disposition:CODE)")
    listing.set_defaults(func=cmd_list)
    show = sub.add_parser("show", help="one article (Markdown)")
    show.add_argument("id", type=int)
    show.set_defaults(func=cmd_show)
    search = sub.add_parser("search", help="full-text search (French stems, accents ignored)")
    search.add_argument("words")
    search.add_argument("--tag", default="")
    search.set_defaults(func=cmd_search)
    for name, helptext in (("add", "a new article"), ("edit", "a new revision of an article")):
        command = sub.add_parser(name, help=helptext)
        if name == "edit":
            command.add_argument("id", type=int)
        command.add_argument("--title", required=name == "add")
        command.add_argument("--file", required=name == "add", help="the Markdown text ('-': standard input)")
        command.add_argument("--tag", action="append", default=None, help="a tag (repeat); edit: replaces all")
        command.add_argument("--comment", default="")
        command.set_defaults(func=cmd_add if name == "add" else cmd_edit)
    imports = sub.add_parser("import", help="a JSON list of {title, body, tags}, all or none")
    imports.add_argument("file")
    imports.set_defaults(func=cmd_import)
    for command in (listing, show, search, imports, *[sub.choices["add"], sub.choices["edit"]]):
        command.add_argument("--json", action="store_true", help="machine-readable output")


def _run(settings: Settings, work):
    from ..adapters.db.acd import AcdRepository
    from ..adapters.db.audit import AuditLog
    from ..adapters.db.database import Database
    from ..adapters.db.knowledge import KnowledgeRepository
    from ..capabilities.knowledge.service import KnowledgeService

    db = Database(settings.storage.effective_database_url)
    db.upgrade()
    acd = AcdRepository(db)
    service = KnowledgeService(
        KnowledgeRepository(db), AuditLog(db), scopes=None, queue_names=lambda: [q.name for q in acd.queues()]
    )
    try:
        return asyncio.run(work(service))
    finally:
        db.dispose()


def _user() -> _CliUser:
    from .server import _cli_actor

    return _CliUser(_cli_actor())


def _read(path: str) -> str:
    return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")


def _print_hits(hits, as_json: bool) -> int:
    if as_json:
        print(json.dumps([h.to_dict() for h in hits], indent=2, ensure_ascii=False))
    else:
        for h in hits:
            print(f"{h.id:>6}  {h.title}  [{', '.join(str(t) for t in h.tags)}]")
    return 0


def _print_article(article, as_json: bool) -> int:
    if as_json:
        print(json.dumps(article.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(f"# {article.title}\n(article {article.id}, revision {article.revision}, {article.updated_by})")
        print("tags: " + ", ".join(str(t) for t in article.tags) + "\n")
        print(article.body)
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    return _print_hits(_run(settings, lambda s: s.articles(args.tag or None)), args.json)


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    return _print_hits(_run(settings, lambda s: s.search(args.words, args.tag or None)), args.json)


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    return _print_article(_run(settings, lambda s: s.article(args.id)), args.json)


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    body = {"title": args.title, "body": _read(args.file), "tags": args.tag or [], "comment": args.comment}
    return _print_article(_run(settings, lambda s: s.create(_user(), body)), args.json)


def cmd_edit(args: argparse.Namespace, settings: Settings) -> int:
    async def work(service):
        current = await service.article(args.id)
        body = {
            "title": args.title if args.title is not None else current.title,
            "body": _read(args.file) if args.file else current.body,
            "tags": args.tag if args.tag is not None else [str(t) for t in current.tags],
            "comment": args.comment,
            "revision": current.revision,
        }
        return await service.edit(_user(), args.id, body)

    return _print_article(_run(settings, work), args.json)


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from ..core.errors import InvalidInput

    try:
        items = json.loads(_read(args.file))
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"file: not JSON ({exc.msg}, line {exc.lineno})", field="file") from None
    articles = _run(settings, lambda s: s.import_articles(_user(), items))
    if args.json:
        print(json.dumps({"created": [a.id for a in articles]}))
    else:
        print(f"{len(articles)} articles imported: {', '.join(str(a.id) for a in articles)}")
    return 0
