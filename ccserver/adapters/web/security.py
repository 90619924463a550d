"""Security headers on every response, and whether the site is served over HTTPS.

The headers are added when a response is prepared (``on_response_prepare``), so they are on
every answer: pages, the JSON API, error pages, redirects, static files and the WebSocket
upgrade. The Content-Security-Policy allows no inline script, no inline style and no
framing: a script injected into a page (a customer name with markup that escaped the
templates, say) does not run, and the pages cannot be framed for clickjacking.
``<script type="application/json">`` data blocks are not executed and stay allowed.
"""

from __future__ import annotations

import re

from aiohttp import web

from .keys import CONNECT_SOURCES, SETTINGS

HSTS = "max-age=31536000; includeSubDomains"
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def served_over_https(request: web.Request) -> bool:
    """True when browsers reach this site over HTTPS: the request itself came over TLS, the
    configured public URL is https://..., or ``cookie_secure = "always"`` says a
    TLS-terminating proxy sits in front of us."""
    settings = request.app[SETTINGS]
    return (
        request.secure
        or settings.web.cookie_secure == "always"
        or settings.web.public_url.lower().startswith("https://")
    )


def content_security_policy(request: web.Request) -> str:
    # 'self' covers ws:/wss: of the same host in CSP 3 browsers; the explicit ws(s):// source
    # keeps the live updates working in older ones
    host = request.host
    sockets = f" ws://{host} wss://{host}" if _HOST.fullmatch(host or "") else ""
    for source in request.app.get(CONNECT_SOURCES, ()):
        extra = source(request)
        if extra and _HOST.fullmatch(extra.removeprefix("wss://")):
            sockets += f" {extra}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"media-src 'self'; connect-src 'self'{sockets}; object-src 'none'; "
        "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
    )


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(request))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if served_over_https(request):
        headers.setdefault("Strict-Transport-Security", HSTS)


def setup(app: web.Application) -> None:
    app.on_response_prepare.append(add_security_headers)
