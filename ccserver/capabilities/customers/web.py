"""Customer pages and JSON API, and the CSV import flow.

Pages: ``/customers`` (list + search), ``/customers/new`` (form, prefilled from ``?number=``),
``/customers/{id}`` (the customer file), ``/customers/import`` (supervisors, admins).

Import: the upload is parsed at once and kept in memory as a job (owner only, one hour); the job
page shows the preview report (counts, every rejected line with line/field/why, the detected
encoding); confirming runs the import as a background task in ONE transaction, pushing
``{"topic": "import_progress", "job", "done", "total", "state"}`` to the owner's pages over the
WebSocket; the last message carries the report (or the error). Shutting the server down cancels a
running import: its transaction is rolled back, nothing is half-written.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ...adapters.web import i18n
from ...adapters.web.auth import ROLES, current_user, roles
from ...adapters.web.keys import REALTIME
from ...core.errors import CcError, Conflict, InvalidInput, NotFound
from ...core.text import Text
from .model import IDENTITY_FIELDS, ImportPreview, ImportReport, display_number, normalize_number
from .service import CustomerService

logger = logging.getLogger(__name__)

IMPORT_ROLES = ("supervisor", "admin")
MAX_UPLOAD_BYTES = 15 * 1024 * 1024
JOB_TTL_SECONDS = 3600
MAX_JOBS_PER_USER = 10
PAGE_SIZE = 50


class NoSuchImport(NotFound):
    error_id = "no-such-import"


class ImportCancelled(CcError):
    error_id = "import-cancelled"
    status = 503


@dataclass(eq=False)
class ImportJob:
    id: str
    owner: str
    preview: ImportPreview
    created: float = field(default_factory=time.monotonic)
    state: str = "preview"  # preview -> running -> done | failed
    confirm_partial: bool = False
    done: int = 0
    total: int = 0
    report: ImportReport | None = None
    error: dict[str, Any] | None = None
    task: asyncio.Task | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.id,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "preview": self.preview.to_dict(),
            "report": self.report.to_dict() if self.report else None,
            "error": self.error,
        }


class ImportJobs:
    """Uploaded files waiting for confirmation, running imports and their reports (in memory)."""

    def __init__(self) -> None:
        self.jobs: dict[str, ImportJob] = {}

    def add(self, owner: str, preview: ImportPreview) -> ImportJob:
        self.purge()
        mine = sorted(
            (j for j in self.jobs.values() if j.owner == owner and j.state != "running"), key=lambda j: j.created
        )
        for old in mine[: max(0, len(mine) - MAX_JOBS_PER_USER + 1)]:
            del self.jobs[old.id]
        job = ImportJob(id=secrets.token_urlsafe(9), owner=owner, preview=preview, total=preview.good_count)
        self.jobs[job.id] = job
        return job

    def get(self, job_id: str, owner: str) -> ImportJob:
        job = self.jobs.get(job_id)
        if job is None or job.owner != owner:  # another user's job does not exist for you
            raise NoSuchImport("no such import (they are kept one hour after the upload)", job=job_id[:20])
        return job

    def running(self) -> ImportJob | None:
        return next((j for j in self.jobs.values() if j.state == "running"), None)

    def purge(self) -> None:
        limit = time.monotonic() - JOB_TTL_SECONDS
        for job_id in [j.id for j in self.jobs.values() if j.created < limit and j.state != "running"]:
            del self.jobs[job_id]


IMPORT_JOBS: web.AppKey[ImportJobs] = web.AppKey("customer_import_jobs", ImportJobs)
CUSTOMERS: web.AppKey[CustomerService] = web.AppKey("customers", CustomerService)


def _service(request: web.Request) -> CustomerService:
    return request.app[CUSTOMERS]


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("the request body is not JSON", field="body") from None
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object", field="body")
    return body


def _int(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(Text("%(name)s must be a number", name=name), field=name) from None
    if number < 1:
        raise InvalidInput(Text("%(name)s must be a positive number", name=name), field=name)
    return number


def _customer_json(file) -> dict[str, Any]:
    return {**file.to_dict(), "url": f"/customers/{file.id}"}


def _phones_from_body(body: dict[str, Any]) -> tuple[list[Any] | None, list[str]]:
    """The phones of a create/update body and, per item, the form field it came from: a form
    sends ``phone`` / ``mobile``, the API ``phones`` (strings or {number, label}). Blank ones
    are dropped."""
    if "phones" not in body and "phone" not in body and "mobile" not in body:
        return None, []
    phones: list[Any] = []
    sources: list[str] = []
    listed = body.get("phones") or []
    if not isinstance(listed, list):
        raise InvalidInput("phones must be a list", field="phones")
    for index, item in enumerate(listed):
        if isinstance(item, str) and not item.strip():
            continue
        phones.append(item)
        sources.append(f"phones[{index}]")
    for key, label in (("phone", ""), ("mobile", "mobile")):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise InvalidInput(Text("%(key)s must be a string", key=key), field=key)
        if value and value.strip():
            phones.append({"number": value, "label": label})
            sources.append(key)
    return phones, sources


def _renamed_field(error: CcError, sources: list[str]) -> CcError:
    """Name the field the user typed in (``phone``) rather than the list position."""
    name = error.details.get("field", "")
    if isinstance(name, str) and name.startswith("phones["):
        index = int(name[7:-1])
        if index < len(sources):
            error.details["field"] = sources[index]
    return error


def _identity_from_body(body: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for name in IDENTITY_FIELDS:
        if name in body:
            value = body[name]
            if value is not None and not isinstance(value, str):
                raise InvalidInput(Text("%(name)s must be a string", name=name), field=name)
            values[name] = value
    return values


# --- pages ---------------------------------------------------------------------------------


@roles(*ROLES)
async def list_page(request: web.Request) -> web.StreamResponse:
    query = request.query.get("q", "")[:100]
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    customers, total = await asyncio.to_thread(
        _service(request).search, query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return i18n.render_template(
        "customers/list.html",
        request,
        {
            "q": query,
            "customers": customers,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "can_import": current_user(request).role in IMPORT_ROLES,
        },
    )


@roles(*ROLES)
async def new_page(request: web.Request) -> web.StreamResponse:
    number = request.query.get("number", "")[:40]
    customer_number = request.query.get("customer_number", "")[:20]
    return i18n.render_template("customers/new.html", request, {"number": number, "customer_number": customer_number})


@roles(*ROLES)
async def file_page(request: web.Request) -> web.StreamResponse:
    customer_id = _int(request.match_info["id"], "customer_id")
    file = await asyncio.to_thread(_service(request).customer_file, customer_id)
    return i18n.render_template("customers/file.html", request, {"c": file})


# --- JSON API ------------------------------------------------------------------------------


@roles(*ROLES)
async def api_search(request: web.Request) -> web.StreamResponse:
    try:
        limit = int(request.query.get("limit", PAGE_SIZE))
        offset = int(request.query.get("offset", 0))
    except ValueError:
        raise InvalidInput("limit and offset are numbers", field="limit") from None
    customers, total = await asyncio.to_thread(
        _service(request).search, request.query.get("q", ""), limit=limit, offset=offset
    )
    return i18n.json_response({"total": total, "customers": [c.to_dict() for c in customers]})


@roles(*ROLES)
async def api_lookup(request: web.Request) -> web.StreamResponse:
    """``?number=`` (any writing) or ``?customer_number=``: ``{"found": true, "customer": {...}}``
    or ``{"found": false, "prefill": {...}}``; 400 when the number is not a phone number."""
    service = _service(request)
    number = request.query.get("number", "")
    customer_number = request.query.get("customer_number", "")
    if not number and not customer_number:
        raise InvalidInput("give number= or customer_number=", field="number")
    started = time.perf_counter()
    file = None
    if customer_number:
        file = await asyncio.to_thread(service.find_by_customer_number, customer_number)
    e164 = None
    if file is None and number:
        e164 = normalize_number(number, service.default_region, field="number")
        file = await asyncio.to_thread(service.find_by_number, e164)
    elapsed = round((time.perf_counter() - started) * 1000, 2)
    if file is not None:
        return i18n.json_response({"found": True, "customer": _customer_json(file), "lookup_ms": elapsed})
    return i18n.json_response(
        {
            "found": False,
            "lookup_ms": elapsed,
            "prefill": {
                "phone": e164 or "",
                "phone_display": display_number(e164) if e164 else "",
                "customer_number": customer_number.strip(),
            },
        }
    )


@roles(*ROLES)
async def api_get(request: web.Request) -> web.StreamResponse:
    customer_id = _int(request.match_info["id"], "customer_id")
    file = await asyncio.to_thread(_service(request).customer_file, customer_id)
    return i18n.json_response(_customer_json(file))


@roles(*ROLES)
async def api_create(request: web.Request) -> web.StreamResponse:
    body = await _json(request)
    phones, sources = _phones_from_body(body)
    identity = _identity_from_body(body)
    try:
        file = await asyncio.to_thread(
            lambda: _service(request).create_customer(
                phones=phones or [], actor=current_user(request).username, **identity
            )
        )
    except (InvalidInput, Conflict) as error:
        raise _renamed_field(error, sources)
    return i18n.json_response(_customer_json(file), status=201)


@roles(*ROLES)
async def api_update(request: web.Request) -> web.StreamResponse:
    customer_id = _int(request.match_info["id"], "customer_id")
    body = await _json(request)
    phones, sources = _phones_from_body(body)
    identity = _identity_from_body(body)
    try:
        file = await asyncio.to_thread(
            lambda: _service(request).update_customer(customer_id, phones=phones, **identity)
        )
    except (InvalidInput, Conflict) as error:
        raise _renamed_field(error, sources)
    return i18n.json_response(_customer_json(file))


@roles(*ROLES)
async def api_ticket_create(request: web.Request) -> web.StreamResponse:
    body = await _json(request)
    customer_id = _int(body.get("customer_id"), "customer_id")
    ticket = await asyncio.to_thread(
        _service(request).open_ticket,
        customer_id,
        body.get("call_uniqueid"),
        body.get("subject", ""),
        body.get("notes"),
    )
    return i18n.json_response(ticket.to_dict(), status=201)


@roles(*ROLES)
async def api_ticket_update(request: web.Request) -> web.StreamResponse:
    ticket_id = _int(request.match_info["id"], "ticket_id")
    body = await _json(request)
    unknown = set(body) - {"status", "notes", "subject", "append_note"}
    if unknown:
        raise InvalidInput(
            Text("unknown ticket fields: %(value)s", value=", ".join(sorted(unknown))), field=sorted(unknown)[0]
        )
    user = current_user(request)
    ticket = await asyncio.to_thread(
        lambda: _service(request).update_ticket(
            ticket_id,
            body.get("status") or None,
            body.get("notes"),
            subject=body.get("subject"),
            append_note=body.get("append_note"),
            author=user.username,
        )
    )
    return i18n.json_response(ticket.to_dict())


@roles(*ROLES)
async def api_interaction_create(request: web.Request) -> web.StreamResponse:
    """The agent is the logged-in user; a supervisor may record a contact too."""
    body = await _json(request)
    customer_id = _int(body.get("customer_id"), "customer_id")
    user = current_user(request)
    interaction = await asyncio.to_thread(
        lambda: _service(request).record_interaction(
            customer_id,
            body.get("call_uniqueid"),
            user.username,
            queue=body.get("queue"),
            disposition=body.get("disposition"),
            notes=body.get("notes"),
            direction=body.get("direction") or "inbound",
        )
    )
    return i18n.json_response(interaction.to_dict(), status=201)


# --- import --------------------------------------------------------------------------------


@roles(*IMPORT_ROLES)
async def import_page(request: web.Request) -> web.StreamResponse:
    return i18n.render_template("customers/import.html", request, {"job": None, "upload_error": None})


@roles(*IMPORT_ROLES)
async def import_upload(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    form = await request.post()
    upload = form.get("file")
    try:
        if upload is None or isinstance(upload, str) or not getattr(upload, "filename", None):
            raise InvalidInput("choose a CSV file to upload", field="file")
        data = upload.file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise InvalidInput(
                Text("the file is larger than %(value)s MB: split it", value=MAX_UPLOAD_BYTES // (1024 * 1024)),
                field="file",
            )
        filename = str(upload.filename)[:200]
        preview = await asyncio.to_thread(_service(request).preview_import, data, filename)
    except InvalidInput as error:
        return i18n.render_template("customers/import.html", request, {"job": None, "upload_error": error}, status=400)
    job = request.app[IMPORT_JOBS].add(user.username, preview)
    logger.info(
        "import %s: %s uploaded by %s (%s, %d good lines, %d rejected)",
        job.id,
        preview.filename,
        user.username,
        preview.encoding,
        preview.good_count,
        preview.rejected_count,
    )
    raise web.HTTPSeeOther(f"/customers/import/{job.id}")


@roles(*IMPORT_ROLES)
async def import_job_page(request: web.Request) -> web.StreamResponse:
    job = request.app[IMPORT_JOBS].get(request.match_info["job"], current_user(request).username)
    return i18n.render_template("customers/import.html", request, {"job": job, "upload_error": None})


@roles(*IMPORT_ROLES)
async def api_import_job(request: web.Request) -> web.StreamResponse:
    job = request.app[IMPORT_JOBS].get(request.match_info["job"], current_user(request).username)
    return i18n.json_response(job.to_dict())


@roles(*IMPORT_ROLES)
async def import_confirm(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    jobs = request.app[IMPORT_JOBS]
    job = jobs.get(request.match_info["job"], user.username)
    if request.content_type == "application/json":
        body = await _json(request)
        confirm_partial = body.get("confirm_partial") is True
    else:
        form = await request.post()
        confirm_partial = form.get("confirm_partial") in ("1", "on", "true", "yes")
    if job.state != "preview":
        raise Conflict(Text("this import is already %(state)s", state=job.state), field="job", state=job.state)
    if job.preview.good_count == 0:
        raise InvalidInput("the file has no good line to import", field="file")
    if job.preview.rejected and not confirm_partial:
        raise Conflict(
            Text(
                "%(rejected_count)s lines are rejected: tick « importer seulement les %(good_count)s lignes valides » to go on",
                rejected_count=job.preview.rejected_count,
                good_count=job.preview.good_count,
            ),
            field="confirm_partial",
        )
    running = jobs.running()
    if running is not None:
        raise Conflict(
            Text(
                "an import is already running (%(filename)s by %(owner)s): wait for it to finish",
                filename=running.preview.filename,
                owner=running.owner,
            ),
            field="job",
        )
    job.state, job.confirm_partial, job.done = "running", confirm_partial, 0
    job.task = asyncio.get_running_loop().create_task(_run_import(request.app, job), name=f"customer-import-{job.id}")
    if request.content_type == "application/json":
        return i18n.json_response(job.to_dict(), status=202)
    raise web.HTTPSeeOther(f"/customers/import/{job.id}")


async def _run_import(app: web.Application, job: ImportJob) -> None:
    service = app[CUSTOMERS]
    hub = app[REALTIME]
    loop = asyncio.get_running_loop()

    def push(message: dict[str, Any]) -> None:
        hub.broadcast({"topic": "import_progress", "job": job.id, **message}, usernames={job.owner})

    def progress(done: int, total: int) -> None:  # in the worker thread
        if job.cancel.is_set():
            raise ImportCancelled("the server is shutting down: the import was cancelled, nothing was imported")
        job.done, job.total = done, total
        loop.call_soon_threadsafe(push, {"done": done, "total": total, "state": "running"})

    total = job.preview.good_count
    every = max(25, total // 50)  # about 50 steps of the progress bar
    push({"done": 0, "total": total, "state": "running"})
    started = time.perf_counter()
    try:
        report = await asyncio.to_thread(
            service.import_customers, job.preview, job.confirm_partial, progress, progress_every=every
        )
    except CcError as error:
        job.state, job.error = "failed", error.as_dict()
        logger.warning("import %s of %s failed: %s", job.id, job.preview.filename, error.message)
    except Exception:
        logger.exception("import %s of %s failed", job.id, job.preview.filename)
        job.state, job.error = (
            "failed",
            {
                "error": "internal-error",
                "details": {},
                "message": "internal error; it has been logged; nothing was imported",
            },
        )
    else:
        job.state, job.report, job.done = "done", report, total
    details = {
        "job": job.id,
        "encoding": job.preview.encoding,
        "data_lines": job.preview.data_lines,
        "rejected_lines": job.preview.rejected_count,
        "confirm_partial": job.confirm_partial,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if job.report is not None:
        details.update(created=job.report.created, updated=job.report.updated, imported=job.report.imported)
    else:
        details.update(error=(job.error or {}).get("message", ""))
    try:
        await asyncio.to_thread(service.audit_import, job.owner, job.state == "done", job.preview.filename, **details)
    except Exception:
        logger.exception("could not audit import %s", job.id)
    push(
        {
            "done": job.done,
            "total": total,
            "state": job.state,
            "report": job.report.to_dict() if job.report else None,
            "error": job.error,
        }
    )


async def _cancel_imports(app: web.Application) -> None:
    """on_shutdown (before the database closes): roll running imports back, wait for them."""
    tasks = []
    for job in app[IMPORT_JOBS].jobs.values():
        if job.task is not None and not job.task.done():
            job.cancel.set()
            tasks.append(job.task)
    if tasks:
        await asyncio.wait(tasks, timeout=30)


def add_routes(app: web.Application, customers: CustomerService) -> None:
    app[CUSTOMERS] = customers
    app[IMPORT_JOBS] = ImportJobs()
    app.on_shutdown.append(_cancel_imports)
    router = app.router
    # fixed paths before /customers/{id}
    router.add_get("/customers", list_page, name="customers")
    router.add_get("/customers/new", new_page, name="customer-new")
    router.add_get("/customers/import", import_page, name="customers-csv")
    router.add_post("/customers/import", import_upload, name="customers-csv-upload")
    router.add_get("/customers/import/{job}", import_job_page, name="customers-csv-job")
    router.add_post("/customers/import/{job}/confirm", import_confirm, name="customers-csv-confirm")
    router.add_get("/customers/{id}", file_page, name="customer")
    router.add_get("/api/customers", api_search, name="api-customers")
    router.add_post("/api/customers", api_create, name="api-customer-create")
    router.add_get("/api/customers/lookup", api_lookup, name="api-customer-lookup")
    router.add_get("/api/customers/imports/{job}", api_import_job, name="api-customers-csv-job")
    router.add_get("/api/customers/{id}", api_get, name="api-customer")
    router.add_patch("/api/customers/{id}", api_update, name="api-customer-update")
    router.add_post("/api/tickets", api_ticket_create, name="api-ticket-create")
    router.add_patch("/api/tickets/{id}", api_ticket_update, name="api-ticket-update")
    router.add_post("/api/interactions", api_interaction_create, name="api-interaction-create")
