"""Outbound campaigns on the web: supervisor screens and the JSON API (campaigns, contact imports
with progress and a confirm step, "why was this contact not called?", consent ledger, do-not-call
and Bloctel lists, the export of the decisions), and the agents' preview API.

Every route declares its roles. Uploads are multipart forms (field ``file``) sent with the
``X-CSRF-Token`` header; the import's progress comes over the WebSocket
(topic ``outbound_import_progress``, to the uploading user only).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from aiohttp import web

from ...adapters.web import i18n
from ...adapters.web.auth import current_user, roles
from ...adapters.web.requests import read_json
from ...core.errors import InvalidInput
from ...core.text import Text
from .compliance import Basis, CallRequest, OppositionFacts, decide, parse_history, parse_instant
from .imports import ENCODINGS
from .service import OutboundService

MANAGERS = ("supervisor", "admin")
OUTBOUND: web.AppKey[OutboundService] = web.AppKey("outbound")


def _service(request: web.Request) -> OutboundService:
    return request.app[OUTBOUND]


def _who(request: web.Request) -> tuple[str, str]:
    user = current_user(request)
    return user.username, user.role


def _int(request: web.Request, name: str) -> int:
    text = request.match_info.get(name, "")
    if not text.isdigit():
        raise InvalidInput(Text("%(name)s must be a number", name=name), field=name, value=text)
    return int(text)


def _query_int(request: web.Request, name: str, default: int, high: int) -> int:
    text = request.query.get(name, "")
    if not text:
        return default
    if not text.isdigit():
        raise InvalidInput(Text("%(name)s must be a whole number", name=name), field=name, value=text)
    return min(int(text), high)


async def _upload(request: web.Request) -> tuple[bytes, str, dict[str, str]]:
    """(file bytes, file name, other form fields) of a multipart upload."""
    if request.content_type != "multipart/form-data":
        raise InvalidInput("send a multipart/form-data form with a 'file' field", field="file")
    form = await request.post()
    upload = form.get("file")
    if upload is None or not hasattr(upload, "file"):
        raise InvalidInput("the form has no file", field="file")
    data = upload.file.read()
    fields = {k: str(v) for k, v in form.items() if k != "file" and isinstance(v, str)}
    return data, upload.filename or "", fields


def _encoding(fields: dict[str, str]) -> str:
    encoding = fields.get("encoding", "utf-8") or "utf-8"
    if encoding not in ENCODINGS:
        raise InvalidInput(
            Text("encoding must be one of %(value)s", value=", ".join(ENCODINGS)), field="encoding", value=encoding
        )
    return encoding


# --- pages -----------------------------------------------------------------------------------------
@roles(*MANAGERS)
async def campaigns_page(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    campaigns = await service.campaigns.visible_campaigns(*_who(request))
    return i18n.render_template(
        "outbound/campaigns.html",
        request,
        {
            "campaigns": campaigns,
            "languages": await service.campaigns.languages(),
            "default_language": service.campaigns.default_language,
        },
    )


@roles(*MANAGERS)
async def campaign_page(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    campaign_id = _int(request, "id")
    await service.access.require_campaign(campaign_id, *_who(request), "see")
    campaign = await service.campaigns.campaign(campaign_id)
    status = request.query.get("status", "")
    search = request.query.get("q", "")[:64]
    offset = _query_int(request, "offset", 0, 10**9)
    contacts, total = await service.campaigns.contacts(
        campaign_id, status=status, search=search, offset=offset, limit=50
    )
    imports = await service.campaigns.imports(campaign_id)
    return i18n.render_template(
        "outbound/campaign.html",
        request,
        {
            "campaign": campaign,
            "contacts": contacts,
            "total": total,
            "offset": offset,
            "status": status,
            "search": search,
            "imports": imports[:10],
            "encodings": list(ENCODINGS),
            "languages": await service.campaigns.languages(),
            "default_language": service.campaigns.default_language,
        },
    )


@roles(*MANAGERS)
async def contact_page(request: web.Request) -> web.StreamResponse:
    await _service(request).access.require_contact(_int(request, "id"), *_who(request), "see")
    why = await _service(request).compliance.why_not_called(_int(request, "id"))
    return i18n.render_template("outbound/contact.html", request, {"why": why})


@roles(*MANAGERS)
async def compliance_page(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    status = await service.oppositions.opposition_status()
    consents = await service.oppositions.recent_consents(50)
    campaigns = await service.campaigns.visible_campaigns(*_who(request))
    return i18n.render_template(
        "outbound/compliance.html",
        request,
        {"opposition": status, "consents": consents, "campaigns": campaigns, "encodings": list(ENCODINGS)},
    )


# --- campaigns API ---------------------------------------------------------------------------------
@roles(*MANAGERS)
async def api_campaigns(request: web.Request) -> web.StreamResponse:
    return i18n.json_response(await _service(request).campaigns.visible_campaigns(*_who(request)))


@roles(*MANAGERS)
async def api_campaign_create(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    name = body.pop("name", None)
    campaign = await _service(request).campaigns.create_campaign(name, body, *_who(request))
    return i18n.json_response(campaign, status=201)


@roles(*MANAGERS)
async def api_campaign(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    await service.access.require_campaign(_int(request, "id"), *_who(request), "see")
    return i18n.json_response(await service.campaigns.campaign(_int(request, "id")))


@roles(*MANAGERS)
async def api_campaign_update(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    body.pop("name", None)
    campaign = await _service(request).campaigns.update_campaign(_int(request, "id"), body, *_who(request))
    return i18n.json_response(campaign)


@roles(*MANAGERS)
async def api_campaign_action(request: web.Request) -> web.StreamResponse:
    campaign = await _service(request).campaigns.change_status(
        _int(request, "id"), request.match_info["action"], *_who(request)
    )
    return i18n.json_response(campaign)


@roles(*MANAGERS)
async def api_campaign_agents(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    agents = await _service(request).campaigns.set_agents(_int(request, "id"), body.get("agents"), *_who(request))
    return i18n.json_response({"agents": agents})


@roles(*MANAGERS)
async def api_contacts(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    await service.access.require_campaign(_int(request, "id"), *_who(request), "see")
    rows, total = await service.campaigns.contacts(
        _int(request, "id"),
        status=request.query.get("status", ""),
        search=request.query.get("q", "")[:64],
        offset=_query_int(request, "offset", 0, 10**9),
        limit=_query_int(request, "limit", 100, 1000),
    )
    return i18n.json_response({"total": total, "contacts": rows})


# --- imports ---------------------------------------------------------------------------------------
@roles(*MANAGERS)
async def api_import_preview(request: web.Request) -> web.StreamResponse:
    data, filename, fields = await _upload(request)
    report = await _service(request).campaigns.preview_import(
        _int(request, "id"), data, filename, _encoding(fields), *_who(request)
    )
    return i18n.json_response(report, status=201)


@roles(*MANAGERS)
async def api_import(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    await service.access.require_import(_int(request, "id"), *_who(request), "see")
    return i18n.json_response(await service.campaigns.import_report(_int(request, "id")))


@roles(*MANAGERS)
async def api_import_confirm(request: web.Request) -> web.StreamResponse:
    result = await _service(request).campaigns.commit_import(_int(request, "id"), *_who(request))
    return i18n.json_response(result)


@roles(*MANAGERS)
async def api_import_cancel(request: web.Request) -> web.StreamResponse:
    result = await _service(request).campaigns.cancel_import(_int(request, "id"), *_who(request))
    return i18n.json_response(result)


# --- compliance ------------------------------------------------------------------------------------
@roles("agent", *MANAGERS)
async def api_contact(request: web.Request) -> web.StreamResponse:
    """A contact's card (custom fields included): the agent desk reads it for the screen-pop
    of an outbound call (call data ``contact_id``); agents see their campaigns' contacts only."""
    return i18n.json_response(await _service(request).campaigns.contact(_int(request, "id"), *_who(request)))


@roles(*MANAGERS)
async def api_contact_why(request: web.Request) -> web.StreamResponse:
    """Why was this contact (not) called: every stored decision with every rule."""
    await _service(request).access.require_contact(_int(request, "id"), *_who(request), "see")
    return i18n.json_response(await _service(request).compliance.why_not_called(_int(request, "id")))


@roles(*MANAGERS)
async def api_contact_check(request: web.Request) -> web.StreamResponse:
    """The engine's answer for this contact now (stored like the dialer's decisions)."""
    result = await _service(request).compliance.check_contact(_int(request, "id"), *_who(request))
    return i18n.json_response(result)


@roles(*MANAGERS)
async def api_compliance_check(request: web.Request) -> web.StreamResponse:
    """The engine on any facts (like `ccserver compliance check`): nothing stored."""
    body = await read_json(request)
    number = body.get("number")
    if not isinstance(number, str):
        raise InvalidInput("number is required", field="number")
    at = parse_instant(body["at"], "at") if body.get("at") else _service(request).compliance.clock.now()
    try:
        basis = Basis(body.get("basis", "none"))
    except ValueError:
        raise InvalidInput("basis: consent, contract or none", field="basis") from None
    request_ = CallRequest(
        number=number,
        postcode=body.get("postcode") or None,
        basis=basis,
        outside_hours_consent=bool(body.get("outside_hours_consent")),
        caller_id=body.get("caller_id") or None,
        automated=not body.get("manual", False),
    )
    scrubbed = body.get("bloctel_scrubbed_at")
    facts = OppositionFacts(
        company_dnc=bool(body.get("company_dnc")),
        bloctel_listed=body.get("bloctel_listed"),
        bloctel_scrubbed_at=parse_instant(scrubbed, "bloctel_scrubbed_at") if scrubbed else None,
    )
    history = parse_history(body.get("history", []))
    return i18n.json_response(decide(request_, history, facts, at).as_dict())


def _moment(text: str | None, name: str) -> datetime | None:
    return parse_instant(text, name) if text else None


@roles(*MANAGERS)
async def api_decisions_export(request: web.Request) -> web.StreamResponse:
    """Every stored decision as CSV (';', UTF-8): the compliance officer's proof."""
    service = _service(request)
    campaign = request.query.get("campaign_id", "")
    if campaign and not campaign.isdigit():
        raise InvalidInput("campaign_id must be a number", field="campaign_id")
    lines = service.compliance.export_decisions(
        campaign_id=int(campaign) if campaign else None,
        since=_moment(request.query.get("from"), "from"),
        until=_moment(request.query.get("to"), "to"),
        number=request.query.get("number") or None,
    )
    first = await asyncio.to_thread(next, lines)  # bad filters fail before the headers go out
    user = current_user(request)
    await service.access.record(
        user.username, "export.decisions", "compliance_decisions", filters=dict(request.query), role=user.role
    )
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="compliance-decisions.csv"',
        }
    )
    await response.prepare(request)
    await response.write(first.encode("utf-8"))
    sentinel = object()
    while True:
        chunk = await asyncio.to_thread(next, lines, sentinel)
        if chunk is sentinel:
            break
        await response.write(chunk.encode("utf-8"))
    await response.write_eof()
    user = current_user(request)
    await service.access.record(user.username, "compliance.export", campaign or "all", query=dict(request.query))
    return response


# --- consent ledger, do-not-call, Bloctel -----------------------------------------------------
@roles(*MANAGERS)
async def api_consents(request: web.Request) -> web.StreamResponse:
    number = request.query.get("number")
    if not number:
        raise InvalidInput("number is required", field="number")
    return i18n.json_response(await _service(request).oppositions.consents_of(number))


@roles(*MANAGERS)
async def api_consent_add(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    allowed = {"number", "scope", "action", "at", "source", "proof_ref", "campaign_id"}
    unknown = set(body) - allowed
    if unknown:
        raise InvalidInput(
            Text("unknown field(s): %(value)s", value=", ".join(sorted(unknown))), field=sorted(unknown)[0]
        )
    if not isinstance(body.get("number"), str):
        raise InvalidInput("number is required", field="number")
    entry = await _service(request).oppositions.record_consent(
        number=body["number"],
        scope=str(body.get("scope", "canvassing")),
        action=str(body.get("action", "grant")),
        at=body.get("at"),
        source=str(body.get("source", "")),
        proof_ref=str(body.get("proof_ref", "")),
        actor=current_user(request).username,
        campaign_id=body.get("campaign_id"),
    )
    return i18n.json_response(entry, status=201)


@roles(*MANAGERS)
async def api_consent_import(request: web.Request) -> web.StreamResponse:
    data, filename, fields = await _upload(request)
    result = await _service(request).oppositions.import_consents(
        data, _encoding(fields), current_user(request).username, filename
    )
    return i18n.json_response(result, status=201)


@roles(*MANAGERS)
async def api_opposition(request: web.Request) -> web.StreamResponse:
    return i18n.json_response(await _service(request).oppositions.opposition_status())


@roles(*MANAGERS)
async def api_dnc_add(request: web.Request) -> web.StreamResponse:
    service = _service(request).oppositions
    user = current_user(request).username
    if request.content_type == "multipart/form-data":
        data, filename, fields = await _upload(request)
        result = await service.dnc_add(
            data, fields.get("reason", ""), user, source=f"file {filename}"[:64], encoding=_encoding(fields)
        )
    else:
        body = await read_json(request)
        numbers = body.get("numbers")
        if isinstance(body.get("number"), str):
            numbers = [body["number"]]
        if not isinstance(numbers, list):
            raise InvalidInput("numbers (a list) or number is required", field="numbers")
        result = await service.dnc_add(numbers, str(body.get("reason", "")), user)
    return i18n.json_response(result, status=201)


@roles(*MANAGERS)
async def api_dnc_remove(request: web.Request) -> web.StreamResponse:
    result = await _service(request).oppositions.dnc_remove(
        request.match_info["number"], current_user(request).username
    )
    return i18n.json_response(result)


@roles(*MANAGERS)
async def api_bloctel_list(request: web.Request) -> web.StreamResponse:
    data, filename, fields = await _upload(request)
    if not fields.get("scrubbed_at"):
        raise InvalidInput("scrubbed_at (the date the list was obtained) is required", field="scrubbed_at")
    result = await _service(request).oppositions.import_bloctel_list(
        data, fields["scrubbed_at"], filename, current_user(request).username
    )
    return i18n.json_response(result, status=201)


@roles(*MANAGERS)
async def api_bloctel_scrub(request: web.Request) -> web.StreamResponse:
    data, filename, fields = await _upload(request)
    if not fields.get("scrubbed_at"):
        raise InvalidInput("scrubbed_at (the date of the scrub) is required", field="scrubbed_at")
    result = await _service(request).oppositions.import_bloctel_scrub(
        _int(request, "id"),
        data,
        fields["scrubbed_at"],
        filename,
        current_user(request).username,
        encoding=_encoding(fields),
        role=current_user(request).role,
    )
    return i18n.json_response(result, status=201)


# --- agents ----------------------------------------------------------------------------------------
@roles("agent")
async def api_my_campaigns(request: web.Request) -> web.StreamResponse:
    campaigns = await _service(request).campaigns.my_campaigns(current_user(request).username)
    return i18n.json_response(campaigns)


@roles("agent")
async def api_join(request: web.Request) -> web.StreamResponse:
    queue = await _service(request).campaigns.join(_int(request, "id"), current_user(request).username)
    return i18n.json_response({"queue": queue})


@roles("agent")
async def api_leave(request: web.Request) -> web.StreamResponse:
    await _service(request).campaigns.leave(_int(request, "id"), current_user(request).username)
    return i18n.json_response({"ok": True})


@roles("agent")
async def api_preview_next(request: web.Request) -> web.StreamResponse:
    """The next contact to call (reserved for this agent) with the engine's decision; 204 when
    there is none now."""
    found = await _service(request).preview.preview_next(current_user(request).username)
    if found is None:
        return web.Response(status=204)
    return i18n.json_response(found)


@roles("agent")
async def api_preview_dial(request: web.Request) -> web.StreamResponse:
    result = await _service(request).preview.preview_dial(_int(request, "id"), current_user(request).username)
    return i18n.json_response(result, status=201)


@roles("agent")
async def api_preview_skip(request: web.Request) -> web.StreamResponse:
    result = await _service(request).preview.preview_skip(_int(request, "id"), current_user(request).username)
    return i18n.json_response(result)


@roles("agent")
async def api_callback(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    if not isinstance(body.get("at"), str):
        raise InvalidInput("at (ISO-8601) is required", field="at")
    result = await _service(request).preview.schedule_callback(
        _int(request, "id"),
        body["at"],
        current_user(request).username,
        mine=bool(body.get("mine", True)),
        role=current_user(request).role,
    )
    return i18n.json_response(result)


@roles("agent", *MANAGERS)
async def api_attempt_result(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    result = await _service(request).preview.record_result(
        _int(request, "id"),
        current_user(request).username,
        disposition=str(body.get("disposition", "")),
        refused=bool(body.get("refused")),
        do_not_call=bool(body.get("do_not_call")),
        notes=str(body.get("notes", "")),
        role=current_user(request).role,
    )
    return i18n.json_response(result)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/outbound", campaigns_page, name="outbound-campaigns")
    r.add_get("/outbound/campaigns/{id}", campaign_page, name="outbound-campaign")
    r.add_get("/outbound/contacts/{id}", contact_page, name="outbound-contact")
    r.add_get("/outbound/compliance", compliance_page, name="outbound-compliance")
    r.add_get("/api/outbound/campaigns", api_campaigns, name="api-outbound-campaigns")
    r.add_post("/api/outbound/campaigns", api_campaign_create, name="api-outbound-campaign-create")
    r.add_get("/api/outbound/campaigns/{id}", api_campaign, name="api-outbound-campaign")
    r.add_patch("/api/outbound/campaigns/{id}", api_campaign_update, name="api-outbound-campaign-update")
    r.add_put("/api/outbound/campaigns/{id}/agents", api_campaign_agents, name="api-outbound-campaign-agents")
    r.add_get("/api/outbound/campaigns/{id}/contacts", api_contacts, name="api-outbound-contacts")
    r.add_post("/api/outbound/campaigns/{id}/imports", api_import_preview, name="api-outbound-contacts-upload")
    r.add_post("/api/outbound/campaigns/{id}/bloctel-scrub", api_bloctel_scrub, name="api-outbound-bloctel-scrub")
    r.add_get("/api/outbound/imports/{id}", api_import, name="api-outbound-upload-report")
    r.add_post("/api/outbound/imports/{id}/confirm", api_import_confirm, name="api-outbound-contacts-confirm")
    r.add_post("/api/outbound/imports/{id}/cancel", api_import_cancel, name="api-outbound-contacts-cancel")
    r.add_get("/api/outbound/contacts/{id}", api_contact, name="api-outbound-contact")
    r.add_get("/api/outbound/contacts/{id}/decisions", api_contact_why, name="api-outbound-contact-why")
    r.add_post("/api/outbound/contacts/{id}/check", api_contact_check, name="api-outbound-contact-check")
    r.add_post("/api/outbound/contacts/{id}/callback", api_callback, name="api-outbound-callback")
    r.add_post("/api/outbound/compliance/check", api_compliance_check, name="api-outbound-compliance-check")
    r.add_get("/api/outbound/decisions.csv", api_decisions_export, name="api-outbound-decisions-export")
    r.add_get("/api/outbound/consents", api_consents, name="api-outbound-consents")
    r.add_post("/api/outbound/consents", api_consent_add, name="api-outbound-consent-add")
    r.add_post("/api/outbound/consents/import", api_consent_import, name="api-outbound-consent-upload")
    r.add_get("/api/outbound/opposition", api_opposition, name="api-outbound-opposition")
    r.add_post("/api/outbound/dnc", api_dnc_add, name="api-outbound-dnc-add")
    r.add_delete("/api/outbound/dnc/{number}", api_dnc_remove, name="api-outbound-dnc-remove")
    r.add_post("/api/outbound/bloctel", api_bloctel_list, name="api-outbound-bloctel")
    r.add_get("/api/outbound/my-campaigns", api_my_campaigns, name="api-outbound-my-campaigns")
    r.add_post("/api/outbound/campaigns/{id}/join", api_join, name="api-outbound-join")
    r.add_post("/api/outbound/campaigns/{id}/leave", api_leave, name="api-outbound-leave")
    r.add_post("/api/outbound/preview/next", api_preview_next, name="api-outbound-preview-next")
    r.add_post("/api/outbound/preview/{id}/dial", api_preview_dial, name="api-outbound-preview-dial")
    r.add_post("/api/outbound/preview/{id}/skip", api_preview_skip, name="api-outbound-preview-skip")
    r.add_post("/api/outbound/attempts/{id}/result", api_attempt_result, name="api-outbound-attempt-result")
    # last: /campaigns/{id}/{action} would shadow the /campaigns/{id}/... routes above it
    r.add_post("/api/outbound/campaigns/{id}/{action}", api_campaign_action, name="api-outbound-campaign-action")
