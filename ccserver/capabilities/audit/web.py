"""The audit log for admins: the page (filters, pages, the chain's status, CSV export) and its
JSON API. Read-only: nothing here changes an entry (an export adds one: who exported what).
There is no compliance-officer role in this project (core/permissions.py): admins only."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from ...adapters.web.auth import current_user, roles
from ...core.errors import CcError
from .model import parse_filters, parse_page
from .service import AuditService

AUDIT_SERVICE: web.AppKey[AuditService] = web.AppKey("audit_service", AuditService)
NO_STORE = {"Cache-Control": "no-store"}


@roles("admin")
async def api_audit(request: web.Request) -> web.StreamResponse:
    """A page of entries, newest first: ?from&to&actor&action&target&q&page&size."""
    filters = parse_filters(request.query)
    page, size = parse_page(request.query)
    result = await request.app[AUDIT_SERVICE].search(filters, page, size)
    return web.json_response(result.to_dict(), headers=NO_STORE)


@roles("admin")
async def api_audit_verify(request: web.Request) -> web.StreamResponse:
    """The chain checked now, from the first entry: ok, entries read, the first broken one."""
    verdict = await request.app[AUDIT_SERVICE].verify(max_age=0)
    return web.json_response(verdict.to_dict(), headers=NO_STORE)


@roles("admin")
async def api_audit_csv(request: web.Request) -> web.StreamResponse:
    """Every matching entry as CSV, oldest first, streamed; the export is logged first."""
    filters = parse_filters(request.query)  # bad filters fail before anything is logged or sent
    service = request.app[AUDIT_SERVICE]
    lines = await asyncio.to_thread(service.export_csv, current_user(request).username, filters)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="audit-log.csv"',
            **NO_STORE,
        }
    )
    await response.prepare(request)
    sentinel = object()
    while True:
        chunk = await asyncio.to_thread(next, lines, sentinel)
        if chunk is sentinel:
            break
        await response.write(chunk.encode("utf-8"))
    await response.write_eof()
    return response


@roles("admin")
async def audit_page(request: web.Request) -> web.StreamResponse:
    """The entries matching the filters, a page at a time, and the chain's status (a check at
    most a minute old: the whole log is read for it)."""
    service = request.app[AUDIT_SERVICE]
    context: dict = {"query": dict(request.query), "error": None, "result": None, "export_url": ""}
    status = 200
    try:
        filters = parse_filters(request.query)
        page, size = parse_page(request.query)
    except CcError as exc:  # the page stays, with the bad field named
        context["error"], status = exc, exc.status
    else:
        context["result"] = await service.search(filters, page, size)
        query = {**filters.to_query(), **({"size": str(size)} if size != 50 else {})}
        context["page_url"] = lambda n: "/admin/audit?" + urlencode({**query, "page": str(n)})
        exported = filters.to_query()
        context["export_url"] = "/api/audit.csv" + ("?" + urlencode(exported) if exported else "")
    context["verdict"] = await service.verify(max_age=60)
    context["checked_at"] = service.checked_at
    return aiohttp_jinja2.render_template("admin_audit.html", request, context, status=status)


def add_routes(app: web.Application, service: AuditService) -> None:
    app[AUDIT_SERVICE] = service
    app.router.add_get("/admin/audit", audit_page, name="admin-audit")
    app.router.add_get("/api/audit", api_audit, name="api-audit")
    app.router.add_get("/api/audit.csv", api_audit_csv, name="api-audit-csv")
    app.router.add_get("/api/audit/verify", api_audit_verify, name="api-audit-verify")
