"""Phones pages and API, for admins only (an agent manages their own phone's password from the
desk: /api/agent/sip-account/reset). The password is in the answer to the POST that made it,
never in a page or API read afterwards; those answers are not cached (no-store). The QR code
(inline SVG, segno) holds a one-time Linphone provisioning link, fetched by the phone itself."""

from __future__ import annotations

import asyncio

import aiohttp_jinja2
import segno
from aiohttp import web

from ...adapters.web.auth import current_user, public, roles
from ...adapters.web.keys import SETTINGS
from ...adapters.web.requests import read_json
from ...core.errors import CcError, InvalidInput
from .model import check_username
from .service import IssuedPhone, PhoneService

PHONES: web.AppKey[PhoneService] = web.AppKey("phones", PhoneService)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _base_url(request: web.Request) -> str:
    configured = request.app[SETTINGS].web.public_url
    return configured.rstrip("/") if configured else str(request.url.origin())


def _issued_dict(request: web.Request, issued: IssuedPhone) -> dict:
    url = f"{_base_url(request)}/provisioning/linphone/{issued.provisioning_token}"
    return {
        **issued.line.to_dict(),
        "applied": issued.applied,
        "settings": issued.settings.to_dict(),
        "provisioning": {
            "linphone_url": url,
            "linphone_url_expires_at": issued.expires_at.isoformat(),
            "linphone_xml": issued.settings.linphone_xml(),
            "zoiper": issued.settings.zoiper_text(),
        },
    }


def qr_svg(text: str) -> str:
    """An inline <svg> QR code of `text` (no style attribute, no script: the CSP allows it)."""
    return segno.make(text, error="m").svg_inline(scale=4, dark="#000", light="#fff")


# --- API -------------------------------------------------------------------------------------


async def _listing(request: web.Request) -> list[dict]:
    """Every active user and their phone; ``registered``: true/false, or None when Asterisk
    cannot tell right now."""
    phones = request.app[PHONES]
    lines, registered = await asyncio.gather(phones.phones(), phones.registered())
    return [
        {
            **line.to_dict(),
            "registered": None if registered is None or not line.has_phone else line.sip_username in registered,
        }
        for line in lines
    ]


@roles("admin")
async def api_phones(request: web.Request) -> web.StreamResponse:
    return web.json_response(await _listing(request))


@roles("admin")
async def api_phone_create(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    username = check_username(body.get("username"))
    issued = await request.app[PHONES].create(username, current_user(request).username, host=request.url.host or "")
    return web.json_response(_issued_dict(request, issued), status=201, headers=NO_STORE)


@roles("admin")
async def api_phone_password(request: web.Request) -> web.StreamResponse:
    username = check_username(request.match_info["username"])
    issued = await request.app[PHONES].regenerate(username, current_user(request).username, host=request.url.host or "")
    return web.json_response(_issued_dict(request, issued), headers=NO_STORE)


# --- pages -----------------------------------------------------------------------------------


async def _page(request: web.Request, *, status: int = 200, **extra) -> web.StreamResponse:
    context = {"phones": await _listing(request), "error": None, "issued": None, **extra}
    response = aiohttp_jinja2.render_template("admin_phones.html", request, context, status=status)
    response.headers.update(NO_STORE)
    return response


@roles("admin")
async def phones_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


async def _issue_page(request: web.Request, make, status: int) -> web.StreamResponse:
    try:
        username = check_username(request.match_info["username"])
        issued = await make(username, current_user(request).username, host=request.url.host or "")
    except CcError as error:
        if error.status >= 500:
            raise
        return await _page(request, status=error.status, error=error)
    shown = _issued_dict(request, issued)
    return await _page(request, status=status, issued=shown, qr=qr_svg(shown["provisioning"]["linphone_url"]))


@roles("admin")
async def phone_create_submit(request: web.Request) -> web.StreamResponse:
    return await _issue_page(request, request.app[PHONES].create, 201)


@roles("admin")
async def phone_password_submit(request: web.Request) -> web.StreamResponse:
    return await _issue_page(request, request.app[PHONES].regenerate, 200)


@public
async def linphone_provisioning(request: web.Request) -> web.StreamResponse:
    """The phone fetches its configuration once through the link of the QR code."""
    token = request.match_info["token"]
    if not token.replace("-", "").replace("_", "").isalnum():
        raise InvalidInput("bad provisioning link", field="token")
    document = request.app[PHONES].take_provisioning(token)
    return web.Response(text=document, content_type="application/xml", headers=NO_STORE)


def add_routes(app: web.Application, phones: PhoneService) -> None:
    app[PHONES] = phones
    app.router.add_get("/admin/phones", phones_page, name="admin-phones")
    app.router.add_post("/admin/phones/{username}", phone_create_submit, name="admin-phone-create")
    app.router.add_post("/admin/phones/{username}/password", phone_password_submit, name="admin-phone-password")
    app.router.add_get("/api/phones", api_phones, name="api-phones")
    app.router.add_post("/api/phones", api_phone_create, name="api-phone-create")
    app.router.add_post("/api/phones/{username}/password", api_phone_password, name="api-phone-password")
    app.router.add_get("/provisioning/linphone/{token}", linphone_provisioning, name="provisioning-linphone")
