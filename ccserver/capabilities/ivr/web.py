"""IVR administration: the scripts, their versions and errors, the per-node statistics,
uploading a new version (refused with every error named by file, line and node), and each
script's stored history: who changed what and when, a diff between any two versions, a
rollback to any earlier one (a new version copying it).

Admins see and change everything; supervisors read the statistics only (scripts are the whole
center's configuration: no supervisor scope applies to them).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from aiohttp import web

from ...adapters.web import i18n
from ...adapters.web.auth import current_user, roles
from ...core.errors import Conflict, InvalidInput
from ...core.text import Text
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


MAX_COMMENT = 500


def _comment(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("comment must be a text", field="comment")
    value = value.strip()
    if len(value) > MAX_COMMENT:
        raise InvalidInput(
            Text("a comment may not exceed %(MAX_COMMENT)s characters", MAX_COMMENT=MAX_COMMENT), field="comment"
        )
    return value


def _number(value: object, field: str) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise InvalidInput(Text("%(field)s must be a version number (1, 2, ...)", field=field), field=field) from None
    if number < 1:
        raise InvalidInput(Text("%(field)s must be a version number (1, 2, ...)", field=field), field=field)
    return number


async def _upload_body(request: web.Request) -> tuple[str, str, str]:
    """(filename, text, comment) from JSON {filename, text, comment}, a multipart form (field
    ``script``, a file) or a form with a ``text`` field."""
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
        comment = _comment(body.get("comment"))
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
        comment = _comment(str(form.get("comment") or ""))
    else:
        raise InvalidInput("send the script as JSON or as a form", field="text")
    if len(text.encode("utf-8")) > MAX_SCRIPT_BYTES:
        raise InvalidInput(Text("a script may not exceed %(value)s KiB", value=MAX_SCRIPT_BYTES // 1024), field="text")
    return filename, text, comment


# --- page --------------------------------------------------------------------------------------


async def _page_context(request: web.Request) -> dict[str, Any]:
    service = _service(request)
    user = current_user(request)
    admin = user.role == "admin"
    stats = await service.stats_report()
    return {
        "admin": admin,
        "scripts": await service.overview() if admin else [],
        "load_errors": service.errors() if admin else {},
        "stats": stats,
        "engine": _engine_stats(request),
        "upload_errors": [],
        "upload_message": "",
        "activated": request.query.get("activated", "") if admin else "",
    }


@roles("admin", "supervisor")
async def ivr_page(request: web.Request) -> web.StreamResponse:
    return i18n.render_template("ivr.html", request, await _page_context(request))


@roles("admin")
async def ivr_upload_form(request: web.Request) -> web.StreamResponse:
    """The page's upload form: back to the page with the errors (400) or the new version."""
    try:
        filename, text, comment = await _upload_body(request)
        script = await _service(request).upload(text, filename, current_user(request).username, comment)
    except InvalidInput as exc:
        context = await _page_context(request)
        context["upload_errors"] = exc.details.get("errors") or [
            {"file": "", "line": 0, "node": None, "message": exc.message}
        ]
        context["upload_message"] = exc.message
        return i18n.render_template("ivr.html", request, context, status=400)
    raise web.HTTPSeeOther(f"/ivr?activated={script.name}")


# --- JSON API ----------------------------------------------------------------------------------


@roles("admin")
async def api_scripts(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    return i18n.json_response(
        {"scripts": await service.overview(), "errors": service.errors(), "engine": _engine_stats(request)}
    )


@roles("admin")
async def api_script(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    name = request.match_info["name"]
    source = await service.source(name)
    info = next(s for s in await service.overview() if s["name"] == name)
    return i18n.json_response({**info, "source": source})


@roles("admin")
async def api_upload(request: web.Request) -> web.StreamResponse:
    """Upload and activate a script. 400 with details.errors [{file, line, node, message}]."""
    filename, text, comment = await _upload_body(request)
    script = await _service(request).upload(text, filename, current_user(request).username, comment)
    info = next(s for s in await _service(request).overview() if s["name"] == script.name)
    return i18n.json_response(info, status=201)


@roles("admin")
async def api_check(request: web.Request) -> web.StreamResponse:
    """Validate without activating: {"valid": bool, "errors": [...]}."""
    filename, text, _comment_ = await _upload_body(request)
    issues = await _service(request).check(text, filename or "<upload>")
    return i18n.json_response({"valid": not issues, "errors": [i.as_dict() | {"text": str(i)} for i in issues]})


@roles("admin")
async def api_reload(request: web.Request) -> web.StreamResponse:
    report = await _service(request).load_all()
    return i18n.json_response(
        {"activated": report.activated, "errors": [i.as_dict() | {"text": str(i)} for i in report.issues]}
    )


@roles("admin", "supervisor")
async def api_stats(request: web.Request) -> web.StreamResponse:
    script = request.query.get("script") or None
    stats = await _service(request).stats_report(script)
    return i18n.json_response({"stats": stats, "engine": _engine_stats(request)})


@roles("admin")
async def api_dialplan(request: web.Request) -> web.StreamResponse:
    """The generated extensions_ivr.conf (to include by hand on an external Asterisk)."""
    return web.Response(text=_service(request).render_dialplan(), content_type="text/plain")


# --- history, diff, rollback ----------------------------------------------------------------


async def _history_context(request: web.Request) -> dict[str, Any]:
    service = _service(request)
    name = request.match_info["name"]
    versions = await service.history(name)
    context: dict[str, Any] = {
        "name": name,
        "versions": [v.summary() for v in versions],
        "diff": None,
        "diff_from": None,
        "diff_to": None,
        "rollback_errors": [],
        "rollback_message": "",
        "rolled_back": request.query.get("rolled_back", ""),
    }
    if "from" in request.query or "to" in request.query:
        old = _number(request.query.get("from"), "from")
        new = _number(request.query.get("to"), "to")
        context.update(diff=await service.diff(name, old, new), diff_from=old, diff_to=new)
    elif len(versions) >= 2:  # by default: what the latest version changed
        context.update(
            diff=await service.diff(name, versions[1].number, versions[0].number),
            diff_from=versions[1].number,
            diff_to=versions[0].number,
        )
    return context


@roles("admin")
async def ivr_history_page(request: web.Request) -> web.StreamResponse:
    """A script's versions (author, time, comment, origin), a diff between any two, and a
    rollback button for each version that is not the running one."""
    return i18n.render_template("ivr_history.html", request, await _history_context(request))


@roles("admin")
async def ivr_rollback_form(request: web.Request) -> web.StreamResponse:
    """The history page's rollback button: back to the page, with the reason when refused."""
    name = request.match_info["name"]
    form = await request.post()
    try:
        number = _number(form.get("version"), "version")
        await _service(request).rollback(
            name, number, current_user(request).username, _comment(str(form.get("comment") or ""))
        )
    except (InvalidInput, Conflict) as exc:
        context = await _history_context(request)
        context["rollback_errors"] = exc.details.get("errors") or []
        context["rollback_message"] = exc.message
        return i18n.render_template("ivr_history.html", request, context, status=exc.status)
    raise web.HTTPSeeOther(f"/ivr/scripts/{quote(name, safe='')}/history?rolled_back={number}")


@roles("admin")
async def api_versions(request: web.Request) -> web.StreamResponse:
    """{"script", "versions": [...]} newest first, without their content."""
    name = request.match_info["name"]
    versions = await _service(request).history(name)
    return i18n.json_response({"script": name, "versions": [v.summary() for v in versions]})


@roles("admin")
async def api_version(request: web.Request) -> web.StreamResponse:
    """One version with its content."""
    name = request.match_info["name"]
    number = _number(request.match_info["number"], "number")
    return i18n.json_response((await _service(request).version(name, number)).to_dict())


@roles("admin")
async def api_diff(request: web.Request) -> web.StreamResponse:
    """?from=N&to=M: {"from", "to", "diff"} (unified diff, "" when the contents are equal)."""
    name = request.match_info["name"]
    old = _number(request.query.get("from"), "from")
    new = _number(request.query.get("to"), "to")
    return i18n.json_response(
        {"script": name, "from": old, "to": new, "diff": await _service(request).diff(name, old, new)}
    )


@roles("admin")
async def api_rollback(request: web.Request) -> web.StreamResponse:
    """{"version": N, "comment": ...}: a new version copying version N, running at once.
    400 (with details.errors) when that content no longer validates, 409 when it is already
    the running content: the running version stays."""
    name = request.match_info["name"]
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput('send {"version": N, "comment": ...}', field="version")
    number = _number(body.get("version"), "version")
    service = _service(request)
    await service.rollback(name, number, current_user(request).username, _comment(body.get("comment")))
    info = next(s for s in await service.overview() if s["name"] == name)
    return i18n.json_response(info, status=201)


def add_routes(app: web.Application, service: IvrService, engine: IvrEngine | None) -> None:
    app[IVR_SERVICE] = service
    app[IVR_ENGINE] = engine
    app.router.add_get("/ivr", ivr_page, name="ivr")
    app.router.add_post("/ivr/upload", ivr_upload_form, name="ivr-upload")
    app.router.add_get("/api/ivr/scripts", api_scripts, name="api-ivr-scripts")
    app.router.add_post("/api/ivr/scripts", api_upload, name="api-ivr-upload")
    app.router.add_get("/api/ivr/scripts/{name}", api_script, name="api-ivr-script")
    app.router.add_get("/ivr/scripts/{name}/history", ivr_history_page, name="ivr-history")
    app.router.add_post("/ivr/scripts/{name}/rollback", ivr_rollback_form, name="ivr-rollback")
    app.router.add_get("/api/ivr/scripts/{name}/versions", api_versions, name="api-ivr-versions")
    app.router.add_get("/api/ivr/scripts/{name}/versions/{number}", api_version, name="api-ivr-version")
    app.router.add_get("/api/ivr/scripts/{name}/diff", api_diff, name="api-ivr-diff")
    app.router.add_post("/api/ivr/scripts/{name}/rollback", api_rollback, name="api-ivr-rollback")
    app.router.add_post("/api/ivr/check", api_check, name="api-ivr-check")
    app.router.add_post("/api/ivr/reload", api_reload, name="api-ivr-reload")
    app.router.add_get("/api/ivr/stats", api_stats, name="api-ivr-stats")
    app.router.add_get("/api/ivr/dialplan", api_dialplan, name="api-ivr-dialplan")
