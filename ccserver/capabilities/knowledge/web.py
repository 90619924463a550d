"""Knowledge-base pages and API. Everybody logged in searches and reads (the Markdown is shown
sanitised); supervisors (articles tagged with their queues only) and admins write, see the
history with its diffs and restore a revision."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from ...adapters.web.auth import current_user, roles
from ...adapters.web.requests import read_json
from ...core.errors import CcError, InvalidInput
from ...core.text import Text
from .model import TAG_KIND_LABELS, render_markdown
from .service import KnowledgeService

KNOWLEDGE: web.AppKey[KnowledgeService] = web.AppKey("knowledge", KnowledgeService)
ALL = ("agent", "supervisor", "admin")
EDITORS = ("supervisor", "admin")


def _number(raw: str, name: str) -> int:
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput(Text("%(name)s: a number, not %(raw)r", name=name, raw=raw), field=name)
    return int(raw)


def _id(request: web.Request) -> int:
    return _number(request.match_info["id"], "id")


# --- API -----------------------------------------------------------------------------------------


@roles(*ALL)
async def api_search(request: web.Request) -> web.StreamResponse:
    """?q= words (French stems, accents folded), &tag=kind:value, &limit=; without q: the latest."""
    service = request.app[KNOWLEDGE]
    q, tag = request.query.get("q", ""), request.query.get("tag") or None
    if q.strip():
        hits = await service.search(q, tag, request.query.get("limit", "20"))
    else:
        hits = await service.articles(tag)
    return web.json_response({"query": q, "results": [h.to_dict() for h in hits]})


@roles(*ALL)
async def api_suggestions(request: web.Request) -> web.StreamResponse:
    """?queue=&ivr_script=&menu_path=node:key,node:key: the call's articles (what the desk shows)."""
    query = request.query
    data = {"ivr_script": query.get("ivr_script", ""), "menu_path": query.get("menu_path", "")}
    hits = await request.app[KNOWLEDGE].suggestions(query.get("queue") or None, data)
    return web.json_response({"results": [h.to_dict() for h in hits]})


@roles(*ALL)
async def api_article(request: web.Request) -> web.StreamResponse:
    service = request.app[KNOWLEDGE]
    article = await service.article(_id(request))
    out = article.to_dict(html=True)
    out["can_edit"] = await service.may_edit(current_user(request), article.tags)
    return web.json_response(out)


@roles(*EDITORS)
async def api_create(request: web.Request) -> web.StreamResponse:
    article = await request.app[KNOWLEDGE].create(current_user(request), await read_json(request))
    return web.json_response(article.to_dict(), status=201)


@roles(*EDITORS)
async def api_edit(request: web.Request) -> web.StreamResponse:
    article = await request.app[KNOWLEDGE].edit(current_user(request), _id(request), await read_json(request))
    return web.json_response(article.to_dict())


@roles(*EDITORS)
async def api_import(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    articles = await request.app[KNOWLEDGE].import_articles(current_user(request), body.get("articles"))
    return web.json_response({"created": [a.id for a in articles]}, status=201)


@roles(*EDITORS)
async def api_revisions(request: web.Request) -> web.StreamResponse:
    revisions = await request.app[KNOWLEDGE].history(current_user(request), _id(request))
    return web.json_response([r.to_dict() for r in revisions])


@roles(*EDITORS)
async def api_revision(request: web.Request) -> web.StreamResponse:
    number = _number(request.match_info["number"], "revision")
    revision, changes = await request.app[KNOWLEDGE].revision_diff(current_user(request), _id(request), number)
    return web.json_response({**revision.to_dict(), "body": revision.body, "diff": changes})


@roles(*EDITORS)
async def api_restore(request: web.Request) -> web.StreamResponse:
    number = _number(request.match_info["number"], "revision")
    body = await read_json(request) if request.can_read_body else {}
    article = await request.app[KNOWLEDGE].restore(current_user(request), _id(request), number, body.get("comment"))
    return web.json_response(article.to_dict())


# --- pages ---------------------------------------------------------------------------------------


@roles(*ALL)
async def knowledge_page(request: web.Request) -> web.StreamResponse:
    """Search box, results (or the latest articles) and the article asked for (?id=)."""
    service = request.app[KNOWLEDGE]
    user = current_user(request)
    q, tag = request.query.get("q", ""), request.query.get("tag", "")
    context: dict = {"q": q, "tag": tag, "error": "", "article": None, "html": "", "can_edit": False}
    try:
        hits = await service.search(q, tag or None) if q.strip() else await service.articles(tag or None)
    except CcError as exc:
        hits, context["error"] = [], exc.message
    context["results"] = [h.to_dict() for h in hits]
    if request.query.get("id"):
        article = await service.article(_number(request.query["id"], "id"))
        context.update(
            article=article.to_dict(),
            html=render_markdown(article.body),
            can_edit=await service.may_edit(user, article.tags),
        )
    context["can_write"] = user.role in EDITORS
    return aiohttp_jinja2.render_template("knowledge/index.html", request, context)


@roles(*EDITORS)
async def new_page(request: web.Request) -> web.StreamResponse:
    context = {"article": None, "tag_kinds": TAG_KIND_LABELS, "tags_text": ""}
    return aiohttp_jinja2.render_template("knowledge/edit.html", request, context)


@roles(*EDITORS)
async def edit_page(request: web.Request) -> web.StreamResponse:
    service = request.app[KNOWLEDGE]
    article = await service.article(_id(request))
    await service.require_edit(current_user(request), article.tags, f"article {article.id}")
    context = {
        "article": article.to_dict(),
        "tag_kinds": TAG_KIND_LABELS,
        "tags_text": "\n".join(map(str, article.tags)),
    }
    return aiohttp_jinja2.render_template("knowledge/edit.html", request, context)


@roles(*EDITORS)
async def history_page(request: web.Request) -> web.StreamResponse:
    service = request.app[KNOWLEDGE]
    article_id = _id(request)
    revisions = await service.history(current_user(request), article_id)
    article = await service.article(article_id)
    shown = _number(request.query["rev"], "rev") if request.query.get("rev") else article.revision
    revision, changes = await service.revision_diff(current_user(request), article_id, shown)
    context = {
        "article": article.to_dict(),
        "revisions": [r.to_dict() for r in revisions],
        "shown": revision.to_dict(),
        "diff_lines": changes.split("\n") if changes else [],
    }
    return aiohttp_jinja2.render_template("knowledge/history.html", request, context)


def add_routes(app: web.Application, service: KnowledgeService) -> None:
    app[KNOWLEDGE] = service
    app.router.add_get("/knowledge", knowledge_page, name="knowledge")
    app.router.add_get("/knowledge/new", new_page, name="knowledge-new")
    app.router.add_get("/knowledge/{id}/edit", edit_page, name="knowledge-edit")
    app.router.add_get("/knowledge/{id}/history", history_page, name="knowledge-history")
    app.router.add_get("/api/knowledge", api_search, name="api-knowledge")
    app.router.add_post("/api/knowledge", api_create, name="api-knowledge-create")
    app.router.add_post("/api/knowledge/import", api_import, name="api-knowledge-bulk")
    app.router.add_get("/api/knowledge/suggestions", api_suggestions, name="api-knowledge-suggestions")
    app.router.add_get("/api/knowledge/{id}", api_article, name="api-knowledge-article")
    app.router.add_put("/api/knowledge/{id}", api_edit, name="api-knowledge-edit")
    app.router.add_get("/api/knowledge/{id}/revisions", api_revisions, name="api-knowledge-revisions")
    app.router.add_get("/api/knowledge/{id}/revisions/{number}", api_revision, name="api-knowledge-revision")
    app.router.add_post("/api/knowledge/{id}/revisions/{number}/restore", api_restore, name="api-knowledge-restore")
