"""Media pages and API, admins only: prompts (upload WAV/MP3 per language, remove), music on
hold classes (create, upload files, remove), each queue's language, music class, prompts and
closed days, and whether it is open now. Uploads are multipart forms (field ``file``)."""

from __future__ import annotations

from datetime import datetime

import aiohttp_jinja2
from aiohttp import web

from ...adapters.web.auth import current_user, roles
from ...adapters.web.i18n import gettext as _
from ...adapters.web.requests import read_json
from ...core.errors import CcError, InvalidInput
from .model import MAX_UPLOAD_BYTES, check_class_name, check_media_name
from .service import QUEUE_FIELDS, MediaService

MEDIA: web.AppKey[MediaService] = web.AppKey("media", MediaService)


async def _upload(request: web.Request) -> tuple[bytes, str, dict[str, str]]:
    """(file bytes, file name, other form fields) of a multipart upload, read at most one byte
    past the limit (a bigger file is refused naming it, not read whole)."""
    if request.content_type != "multipart/form-data":
        raise InvalidInput("send a multipart/form-data form with a 'file' field", field="file")
    form = await request.post()
    upload = form.get("file")
    if upload is None or not hasattr(upload, "file"):
        raise InvalidInput("file: the form has no file", field="file")
    data = upload.file.read(MAX_UPLOAD_BYTES + 1)
    fields = {k: str(v) for k, v in form.items() if k != "file" and isinstance(v, str)}
    return data, upload.filename or "", fields


def _language(value: str) -> str:
    value = (value or "").strip()
    if len(value) > 16:
        raise InvalidInput("language: too long", field="language")
    return value


async def _overview(request: web.Request) -> dict:
    media = request.app[MEDIA]
    queues = await media.queue_media()
    states = {}
    for name in queues:
        try:
            state = await media.open_state(name)
            states[name] = {"open": state.open, "reason": state.reason, "label": state.label}
        except CcError:
            states[name] = None
    return {
        "languages": await media.installed_languages(),
        "default_language": media.default_language,
        "prompts": [{"language": p.group, **p.to_dict()} for p in await media.prompts()],
        "music_classes": {name: [m.to_dict() for m in files] for name, files in (await media.music_classes()).items()},
        "queues": [{**q.to_dict(), "now": states[name]} for name, q in queues.items()],
        "media_dir": media.files.asterisk_dir if media.files is not None else None,
    }


# --- API -------------------------------------------------------------------------------------


@roles("admin")
async def api_media(request: web.Request) -> web.StreamResponse:
    return web.json_response(await _overview(request))


@roles("admin")
async def api_prompt_add(request: web.Request) -> web.StreamResponse:
    data, filename, fields = await _upload(request)
    prompt = await request.app[MEDIA].add_prompt(
        _language(fields.get("language", "")), fields.get("name", ""), filename, data, current_user(request).username
    )
    return web.json_response({"language": prompt.group, **prompt.to_dict()}, status=201)


@roles("admin")
async def api_prompt_remove(request: web.Request) -> web.StreamResponse:
    language = _language(request.match_info["language"])
    name = check_media_name(request.match_info["name"])
    await request.app[MEDIA].remove_prompt(language, name, current_user(request).username)
    return web.json_response({"removed": f"{language}/{name}"})


@roles("admin")
async def api_class_create(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    name = check_class_name(str(body.get("name", "")), "name")
    await request.app[MEDIA].create_music_class(name, current_user(request).username)
    return web.json_response({"name": name, "files": []}, status=201)


@roles("admin")
async def api_class_remove(request: web.Request) -> web.StreamResponse:
    name = check_class_name(request.match_info["name"], "name")
    await request.app[MEDIA].remove_music_class(name, current_user(request).username)
    return web.json_response({"removed": name})


@roles("admin")
async def api_music_add(request: web.Request) -> web.StreamResponse:
    class_name = check_class_name(request.match_info["name"], "music_class")
    data, filename, fields = await _upload(request)
    music = await request.app[MEDIA].add_music_file(
        class_name, fields.get("name", ""), filename, data, current_user(request).username
    )
    return web.json_response({"music_class": class_name, **music.to_dict()}, status=201)


@roles("admin")
async def api_music_remove(request: web.Request) -> web.StreamResponse:
    class_name = check_class_name(request.match_info["name"], "music_class")
    name = check_media_name(request.match_info["file"])
    await request.app[MEDIA].remove_music_file(class_name, name, current_user(request).username)
    return web.json_response({"removed": f"{class_name}/{name}"})


@roles("admin")
async def api_queue_media(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise InvalidInput("send a JSON object", field="body")
    updated = await request.app[MEDIA].set_queue_media(
        request.match_info["queue"], body, current_user(request).username
    )
    return web.json_response(updated.to_dict())


@roles("admin")
async def api_queue_open(request: web.Request) -> web.StreamResponse:
    """Whether the queue takes calls now, or at ``?at=ISO-8601`` (with its offset)."""
    at = None
    if request.query.get("at"):
        try:
            at = datetime.fromisoformat(request.query["at"])
        except ValueError:
            raise InvalidInput("at: an ISO 8601 time like 2026-12-24T18:00:00+01:00", field="at") from None
        if at.tzinfo is None:
            raise InvalidInput("at: give the offset (+01:00) or Z", field="at")
    state = await request.app[MEDIA].open_state(request.match_info["queue"], at)
    return web.json_response(
        {"queue": request.match_info["queue"], "open": state.open, "reason": state.reason, "label": state.label}
    )


# --- pages -----------------------------------------------------------------------------------


async def _page(request: web.Request, *, status: int = 200, **extra) -> web.StreamResponse:
    context = {**await _overview(request), "error": None, "done": None, **extra}
    return aiohttp_jinja2.render_template("admin_media.html", request, context, status=status)


@roles("admin")
async def media_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


async def _act(request: web.Request, action, done: str, status: int = 200) -> web.StreamResponse:
    """Run a page form's action; show the page again with what was done (the action's own
    words when it returns some) or the error, naming the field."""
    try:
        said = await action()
    except CcError as error:
        if error.status >= 500:
            raise
        return await _page(request, status=error.status, error=error)
    return await _page(request, status=status, done=said if isinstance(said, str) else done)


@roles("admin")
async def prompt_submit(request: web.Request) -> web.StreamResponse:
    async def action():
        data, filename, fields = await _upload(request)
        prompt = await request.app[MEDIA].add_prompt(
            _language(fields.get("language", "")),
            fields.get("name", ""),
            filename,
            data,
            current_user(request).username,
        )
        return _(
            "Annonce %(prompt)s enregistrée (%(seconds).1f s)",
            prompt=f"{prompt.group}/{prompt.name}",
            seconds=prompt.duration_ms / 1000,
        )

    return await _act(request, action, _("Annonce enregistrée"), 201)


@roles("admin")
async def prompt_remove_submit(request: web.Request) -> web.StreamResponse:
    language, name = request.match_info["language"], request.match_info["name"]
    return await _act(
        request,
        lambda: request.app[MEDIA].remove_prompt(
            _language(language), check_media_name(name), current_user(request).username
        ),
        _("Annonce %(prompt)s supprimée", prompt=f"{language}/{name}"),
    )


@roles("admin")
async def class_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name = str(form.get("name", "")).strip()
    return await _act(
        request,
        lambda: request.app[MEDIA].create_music_class(name, current_user(request).username),
        _("Classe de musique %(name)s créée", name=name),
        201,
    )


@roles("admin")
async def class_remove_submit(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    return await _act(
        request,
        lambda: request.app[MEDIA].remove_music_class(check_class_name(name, "name"), current_user(request).username),
        _("Classe de musique %(name)s supprimée", name=name),
    )


@roles("admin")
async def music_submit(request: web.Request) -> web.StreamResponse:
    class_name = request.match_info["name"]

    async def action():
        data, filename, fields = await _upload(request)
        await request.app[MEDIA].add_music_file(
            check_class_name(class_name, "music_class"),
            fields.get("name", ""),
            filename,
            data,
            current_user(request).username,
        )

    return await _act(request, action, _("Musique ajoutée à la classe %(name)s", name=class_name), 201)


@roles("admin")
async def queue_submit(request: web.Request) -> web.StreamResponse:
    queue = request.match_info["queue"]
    form = await request.post()
    changes = {key: str(form[key]) for key in QUEUE_FIELDS if key in form}
    return await _act(
        request,
        lambda: request.app[MEDIA].set_queue_media(queue, changes, current_user(request).username),
        _("File %(queue)s : réglages appliqués", queue=queue),
    )


def add_routes(app: web.Application, media: MediaService) -> None:
    app[MEDIA] = media
    app.router.add_get("/admin/media", media_page, name="admin-media")
    app.router.add_post("/admin/media/prompts", prompt_submit, name="admin-media-prompt")
    app.router.add_post(
        "/admin/media/prompts/{language}/{name}/remove", prompt_remove_submit, name="admin-media-prompt-remove"
    )
    app.router.add_post("/admin/media/moh", class_submit, name="admin-media-moh")
    app.router.add_post("/admin/media/moh/{name}/files", music_submit, name="admin-media-music")
    app.router.add_post("/admin/media/moh/{name}/remove", class_remove_submit, name="admin-media-moh-remove")
    app.router.add_post("/admin/media/queues/{queue}", queue_submit, name="admin-media-queue")
    app.router.add_get("/api/media", api_media, name="api-media")
    app.router.add_post("/api/media/prompts", api_prompt_add, name="api-media-prompt-add")
    app.router.add_delete("/api/media/prompts/{language}/{name}", api_prompt_remove, name="api-media-prompt-remove")
    app.router.add_post("/api/media/moh", api_class_create, name="api-media-moh-create")
    app.router.add_delete("/api/media/moh/{name}", api_class_remove, name="api-media-moh-remove")
    app.router.add_post("/api/media/moh/{name}/files", api_music_add, name="api-media-music-add")
    app.router.add_delete("/api/media/moh/{name}/files/{file}", api_music_remove, name="api-media-music-remove")
    app.router.add_put("/api/media/queues/{queue}", api_queue_media, name="api-media-queue")
    app.router.add_get("/api/media/queues/{queue}/open", api_queue_open, name="api-media-queue-open")
