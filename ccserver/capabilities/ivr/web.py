"""IVR administration: the scripts, their versions and errors, the per-node statistics, and
uploading a new version (refused with every error named by file, line and node).

Admins see and change everything; supervisors read the statistics only.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from ...adapters.web.auth import current_user, roles
from ...core.errors import InvalidInput
from .handlers import IvrEngine
from .service import IvrService

MAX_SCRIPT_BYTES = 512 * 1024
IVR_SERVICE: web.AppKey[IvrService] = web.AppKey("ivr_service")
IVR_ENGINE: web.AppKey[IvrEngine | None] = web.AppKey("ivr_engine")  # None without Asterisk


def _service(request: web.Request) -> IvrService:
    return request.app[IVR_SERVICE]


def _engine_stats(request: web.Request) -> dict[str, Any] | None:
    engine = request.app[IVR_ENGINE]
    return engine.stats() if engine is not None else None


async def _upload_body(request: web.Request) -> tuple[str, str]:
    """(filename, text) from JSON {filename, text}, a multipart form (field ``script``, a file)
    or a form with a ``text`` field."""
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InvalidInput("the request body is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            raise InvalidInput('send {"filename": ..., "text": ...}', field="text")
        filename = body.get("filename") or ""
        if not isinstance(filename, str):
            raise InvalidInput("filename must be a text", field="filename")
        text = body["text"]
    elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.post()
        item = form.get("script")
        if item is not None and hasattr(item, "file"):
            raw = item.file.read(MAX_SCRIPT_BYTES + 1)
            filename = item.filename or ""
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput("the script file is not UTF-8 text", field="script") from None
        else:
            text = str(form.get("text") or "")
            filename = str(form.get("filename") or "")
        if not text.strip():
            raise InvalidInput("choose a script file (YAML)", field="script")
    else:
        raise InvalidInput("send the script as JSON or as a form", field="text")
    if len(text.encode("utf-8")) > MAX_SCRIPT_BYTES:
        raise InvalidInput(f"a script may not exceed {MAX_SCRIPT_BYTES // 1024} KiB", field="text")
    return filename, text


# --- page --------------------------------------------------------------------------------------


async def _page_context(request: web.Request) -> dict[str, Any]:
    service = _service(request)
    user = current_user(request)
    admin = user.role == "admin"
    stats = await service.stats_report()
    return {
        "admin": admin,
        "scripts": service.overview() if admin else [],
        "load_errors": service.errors() if admin else {},
        "stats": stats,
        "engine": _engine_stats(request),
        "upload_errors": [],
        "upload_message": "",
        "activated": request.query.get("activated", "") if admin else "",
    }


@roles("admin", "supervisor")
async def ivr_page(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("ivr.html", request, await _page_context(request))


@roles("admin")
async def ivr_upload_form(request: web.Request) -> web.StreamResponse:
    """The page's upload form: back to the page with the errors (400) or the new version."""
    try:
        filename, text = await _upload_body(request)
        script = await _service(request).upload(text, filename, current_user(request).username)
    except InvalidInput as exc:
        context = await _page_context(request)
        context["upload_errors"] = exc.details.get("errors") or [
            {"file": "", "line": 0, "node": None, "message": exc.message}
        ]
        context["upload_message"] = exc.message
        return aiohttp_jinja2.render_template("ivr.html", request, context, status=400)
    raise web.HTTPSeeOther(f"/ivr?activated={script.name}")


# --- JSON API ----------------------------------------------------------------------------------


@roles("admin")
async def api_scripts(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    return web.json_response(
        {"scripts": service.overview(), "errors": service.errors(), "engine": _engine_stats(request)}
    )


@roles("admin")
async def api_script(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    name = request.match_info["name"]
    source = service.source(name)
    info = next(s for s in service.overview() if s["name"] == name)
    return web.json_response({**info, "source": source})


@roles("admin")
async def api_upload(request: web.Request) -> web.StreamResponse:
    """Upload and activate a script. 400 with details.errors [{file, line, node, message}]."""
    filename, text = await _upload_body(request)
    script = await _service(request).upload(text, filename, current_user(request).username)
    info = next(s for s in _service(request).overview() if s["name"] == script.name)
    return web.json_response(info, status=201)


@roles("admin")
async def api_check(request: web.Request) -> web.StreamResponse:
    """Validate without activating: {"valid": bool, "errors": [...]}."""
    filename, text = await _upload_body(request)
    issues = await _service(request).check(text, filename or "<upload>")
    return web.json_response({"valid": not issues, "errors": [i.as_dict() | {"text": str(i)} for i in issues]})


@roles("admin")
async def api_reload(request: web.Request) -> web.StreamResponse:
    report = await _service(request).load_all()
    return web.json_response(
        {"activated": report.activated, "errors": [i.as_dict() | {"text": str(i)} for i in report.issues]}
    )


@roles("admin", "supervisor")
async def api_stats(request: web.Request) -> web.StreamResponse:
    script = request.query.get("script") or None
    stats = await _service(request).stats_report(script)
    return web.json_response({"stats": stats, "engine": _engine_stats(request)})


@roles("admin")
async def api_dialplan(request: web.Request) -> web.StreamResponse:
    """The generated extensions_ivr.conf (to include by hand on an external Asterisk)."""
    return web.Response(text=_service(request).render_dialplan(), content_type="text/plain")


def add_routes(app: web.Application, service: IvrService, engine: IvrEngine | None) -> None:
    app[IVR_SERVICE] = service
    app[IVR_ENGINE] = engine
    app.router.add_get("/ivr", ivr_page, name="ivr")
    app.router.add_post("/ivr/upload", ivr_upload_form, name="ivr-upload")
    app.router.add_get("/api/ivr/scripts", api_scripts, name="api-ivr-scripts")
    app.router.add_post("/api/ivr/scripts", api_upload, name="api-ivr-upload")
    app.router.add_get("/api/ivr/scripts/{name}", api_script, name="api-ivr-script")
    app.router.add_post("/api/ivr/check", api_check, name="api-ivr-check")
    app.router.add_post("/api/ivr/reload", api_reload, name="api-ivr-reload")
    app.router.add_get("/api/ivr/stats", api_stats, name="api-ivr-stats")
    app.router.add_get("/api/ivr/dialplan", api_dialplan, name="api-ivr-dialplan")
