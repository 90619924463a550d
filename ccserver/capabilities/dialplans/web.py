"""Dialplan pages and API, for admins only (there is no separate 'telecom admin' role: the
admin is the one who configures the PBX). The page is a CodeMirror editor over the files of
the running version; every save is checked (lint, then a scratch Asterisk) before it is stored,
and only a stored version can be applied or rolled back to."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from ...adapters.web.auth import current_user, roles
from ...adapters.web.requests import read_json
from ...core.errors import InvalidInput
from ...core.text import Text
from .model import ADMIN_HOOKS, PROBE_CONTEXT, PROBE_EXTEN, SERVER_ENTRY_CONTEXTS
from .service import DialplanService

DIALPLANS: web.AppKey[DialplanService] = web.AppKey("dialplans", DialplanService)


def _version_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput(Text("id: a version number, not %(raw)r", raw=raw), field="id")
    return int(raw)


async def overview(service: DialplanService) -> dict:
    running = await service.running_id()
    versions = await service.versions()
    return {
        "running_version": running,
        "files": await service.running_files(),
        "versions": [v.summary() for v in versions],
        "hooks": list(ADMIN_HOOKS),
        "entry_contexts": sorted(SERVER_ENTRY_CONTEXTS),
        "probe": f"Local/{PROBE_EXTEN}@{PROBE_CONTEXT}",
    }


@roles("admin")
async def api_dialplans(request: web.Request) -> web.StreamResponse:
    return web.json_response(await overview(request.app[DIALPLANS]))


@roles("admin")
async def api_version(request: web.Request) -> web.StreamResponse:
    version = await request.app[DIALPLANS].version(_version_id(request))
    return web.json_response(version.to_dict())


@roles("admin")
async def api_diff(request: web.Request) -> web.StreamResponse:
    version_id = _version_id(request)
    return web.json_response({"version": version_id, "diff": await request.app[DIALPLANS].diff(version_id)})


@roles("admin")
async def api_diff_files(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    return web.json_response({"diff": await request.app[DIALPLANS].diff_files(body.get("files"))})


@roles("admin")
async def api_check(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    report = await request.app[DIALPLANS].check(body.get("files"))
    return web.json_response(report.to_dict())


@roles("admin")
async def api_save(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    version, _ = await request.app[DIALPLANS].save(
        body.get("files"), current_user(request).username, body.get("comment")
    )
    return web.json_response(version.summary(), status=201)


async def _deploy(request: web.Request, rollback: bool) -> web.StreamResponse:
    body = await read_json(request) if request.can_read_body else {}
    service = request.app[DIALPLANS]
    method = service.rollback if rollback else service.apply
    result = await method(_version_id(request), current_user(request).username, body.get("comment"))
    return web.json_response(result.to_dict(), status=200 if result.applied else 409)


@roles("admin")
async def api_apply(request: web.Request) -> web.StreamResponse:
    return await _deploy(request, rollback=False)


@roles("admin")
async def api_rollback(request: web.Request) -> web.StreamResponse:
    return await _deploy(request, rollback=True)


@roles("admin")
async def api_history(request: web.Request) -> web.StreamResponse:
    return web.json_response([d.to_dict() for d in await request.app[DIALPLANS].history()])


@roles("admin")
async def dialplans_page(request: web.Request) -> web.StreamResponse:
    context = await overview(request.app[DIALPLANS])
    context["history"] = [d.to_dict() for d in await request.app[DIALPLANS].history(50)]
    return aiohttp_jinja2.render_template("admin_dialplans.html", request, context)


def add_routes(app: web.Application, service: DialplanService) -> None:
    app[DIALPLANS] = service
    app.router.add_get("/admin/dialplans", dialplans_page, name="admin-dialplans")
    app.router.add_get("/api/dialplans", api_dialplans, name="api-dialplans")
    app.router.add_post("/api/dialplans/check", api_check, name="api-dialplans-check")
    app.router.add_post("/api/dialplans/diff", api_diff_files, name="api-dialplans-diff-files")
    app.router.add_post("/api/dialplans/versions", api_save, name="api-dialplans-save")
    app.router.add_get("/api/dialplans/versions/{id}", api_version, name="api-dialplans-version")
    app.router.add_get("/api/dialplans/versions/{id}/diff", api_diff, name="api-dialplans-diff")
    app.router.add_post("/api/dialplans/versions/{id}/apply", api_apply, name="api-dialplans-apply")
    app.router.add_post("/api/dialplans/versions/{id}/rollback", api_rollback, name="api-dialplans-rollback")
    app.router.add_get("/api/dialplans/history", api_history, name="api-dialplans-history")
