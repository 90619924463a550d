"""Who may see what: login, sessions, roles and CSRF.

Every route declares its audience with `@roles(...)` or `@public`; a route that declares
nothing is refused to everybody (deny by default), and a test walks the route table.
Sessions are server-side rows (only a hash of the cookie token is stored); the session's CSRF
token must come back with every state-changing request (form field ``csrf_token`` or header
``X-CSRF-Token``). The login form itself uses a double-submit cookie.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from ...capabilities.audit.model import CLIENT_ADDRESS, normalise_address
from ...core.errors import AuthenticationRequired, CsrfRejected, Forbidden, InvalidInput
from ...core.text import Text
from . import i18n, login_guard
from .keys import AUDIT, CURRENT_USER, LANGUAGE, REALTIME, SESSIONS, USER_ADMIN, USERS
from .requests import read_json
from .security import served_over_https

logger = logging.getLogger(__name__)

ROLES = ("agent", "supervisor", "admin")
SESSION_COOKIE = "ccs_session"
LOGIN_CSRF_COOKIE = "ccs_login_csrf"
# the language chosen on the login page, before anybody is logged in (applied at login to a
# user who has not saved one, then dropped)
LANGUAGE_COOKIE = "ccs_language"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
SESSION_TTL_SECONDS = 12 * 3600
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_ROLES_ATTR = "__ccserver_roles__"
PUBLIC = frozenset({"*public*"})


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    role: str
    display_name: str
    csrf_token: str
    # the WebSession row this request came with: its WebSockets close when it is revoked
    session_id: int = 0
    # the interface language the user chose (None: the browser's)
    language: str | None = None


def roles(*allowed: str) -> Callable:
    """Restrict a handler to the given roles."""
    unknown = set(allowed) - set(ROLES)
    if unknown or not allowed:
        raise ValueError(Text("unknown roles %(value)s", value=sorted(unknown)))

    def mark(handler: Callable) -> Callable:
        setattr(handler, _ROLES_ATTR, frozenset(allowed))
        return handler

    return mark


def public(handler: Callable) -> Callable:
    setattr(handler, _ROLES_ATTR, PUBLIC)
    return handler


def allowed_roles(handler: Callable) -> frozenset[str] | None:
    """The audience a handler declared (None: it declared nothing and is refused)."""
    return getattr(handler, _ROLES_ATTR, None)


def current_user(request: web.Request) -> CurrentUser:
    user = request.get(CURRENT_USER)
    if user is None:
        raise AuthenticationRequired("please log in")
    return user


async def _load_user(request: web.Request) -> CurrentUser | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        return None
    found = await asyncio.to_thread(request.app[SESSIONS].lookup, token)
    if found is None:
        return None
    user, session = found
    if not user.active:
        return None
    return CurrentUser(
        id=user.id,
        username=user.username,
        role=user.role,
        display_name=user.display_name or user.username,
        csrf_token=session.csrf_token,
        session_id=session.id,
        language=getattr(user, "language", None),
    )


def _route_handler(request: web.Request) -> Callable | None:
    route = request.match_info.route
    if route.resource is not None and route.resource.canonical.startswith("/static"):
        return public
    return route.handler


@web.middleware
async def auth_middleware(request: web.Request, handler):
    # the client's address (behind a trusted proxy, the one it forwarded) goes with every audit
    # entry written while this request is served
    guard = request.app.get(login_guard.LOGIN_GUARD)
    address = guard.client_address(request) if guard is not None else (request.remote or "")
    token = CLIENT_ADDRESS.set(normalise_address(address))
    i18n.set_request_language(request, _cookie_language(request))
    try:
        return await _authorised(request, handler)
    finally:
        CLIENT_ADDRESS.reset(token)


async def _authorised(request: web.Request, handler):
    route_handler = _route_handler(request)
    audience = PUBLIC if route_handler in (None, public) else allowed_roles(route_handler)
    if request.match_info.http_exception is not None:
        audience = PUBLIC  # 404/405: let the error middleware answer
    user = await _load_user(request)
    request[CURRENT_USER] = user
    i18n.set_request_language(request, user.language if user else _cookie_language(request))
    if audience is None:
        logger.error("route %s declares no roles: refused", request.path)
        raise Forbidden("this route declares no audience and is refused", path=request.path)
    if audience is not PUBLIC:
        if user is None:
            raise AuthenticationRequired("please log in", path=request.path)
        if user.role not in audience:
            raise Forbidden(
                Text("the %(role)s role may not use %(path)s", role=user.role, path=request.path),
                path=request.path,
                role=user.role,
            )
        if request.method in _UNSAFE_METHODS:
            await _check_csrf(request, user.csrf_token)
    return await handler(request)


async def _check_csrf(request: web.Request, expected: str) -> None:
    supplied = request.headers.get("X-CSRF-Token", "")
    if not supplied and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        supplied = str(form.get("csrf_token", ""))
    if not supplied or not hmac.compare_digest(supplied, expected):
        raise CsrfRejected("missing or wrong CSRF token: reload the page and try again")


def _cookie_secure(request: web.Request) -> bool:
    return served_over_https(request)


def _cookie_language(request: web.Request) -> str | None:
    """The language chosen on the login page (a supported one), else None."""
    value = request.cookies.get(LANGUAGE_COOKIE)
    return value if value in i18n.LANGUAGES else None


# --- views ---------------------------------------------------------------------------------


@public
async def login_page(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = aiohttp_jinja2.render_template(
        "login.html",
        request,
        {
            "login_csrf": token,
            "next": _safe_next(request.query.get("next")),
            "error": None,
            "chosen_language": _cookie_language(request),
        },
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", secure=_cookie_secure(request), path="/login"
    )
    return response


@public
async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await login_guard.read_login_form(request)  # a few KiB at most, 413 beyond
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, str(form.get("csrf_token", ""))):
        raise CsrfRejected("the login form expired: reload it and try again")
    username = str(form.get("username", "")).strip()[:64]
    password = str(form.get("password", ""))[:256]
    try:
        user = await request.app[login_guard.LOGIN_GUARD].authenticate(request, username, password)
    except login_guard.LoginRefused as refused:  # throttled or busy: no password was checked
        response = aiohttp_jinja2.render_template(
            "login.html",
            request,
            {
                "login_csrf": cookie,
                "next": _safe_next(str(form.get("next", ""))),
                "error": refused.message,
                "chosen_language": _cookie_language(request),
            },
            status=refused.status,
        )
        response.headers["Retry-After"] = str(refused.retry_after)
        return response
    if user is None or not user.active:
        logger.info("login refused for %r from %s", username, request.remote)
        await asyncio.to_thread(
            request.app[AUDIT].record, _printable(username) or "-", "login.failed", _printable(username)
        )
        response = aiohttp_jinja2.render_template(
            "login.html",
            request,
            {
                "login_csrf": cookie,
                "next": _safe_next(str(form.get("next", ""))),
                "error": i18n.gettext("Identifiant inconnu ou mot de passe erroné."),
                "chosen_language": _cookie_language(request),
            },
            status=401,
        )
        return response
    chosen = _cookie_language(request)
    if chosen and not getattr(user, "language", None):
        # the language picked on the login page becomes the user's (one saved before wins)
        await asyncio.to_thread(request.app[USERS].set_language, user.id, chosen)
    token, _csrf = await asyncio.to_thread(request.app[SESSIONS].create, user.id, SESSION_TTL_SECONDS)
    await asyncio.to_thread(request.app[AUDIT].record, user.username, "login", user.username)
    response = web.HTTPFound(_safe_next(str(form.get("next", ""))) or "/")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=_cookie_secure(request),
        max_age=SESSION_TTL_SECONDS,
        path="/",
    )
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    if request.cookies.get(LANGUAGE_COOKIE) is not None:
        response.del_cookie(LANGUAGE_COOKIE, path="/")
    raise response


@public
async def login_language(request: web.Request) -> web.StreamResponse:
    """The language of the login page (a form: works without JavaScript), kept in a cookie
    until the login; "" goes back to the browser's language."""
    form = await login_guard.read_login_form(request)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, str(form.get("csrf_token", ""))):
        raise CsrfRejected("the login form expired: reload it and try again")
    try:
        language = i18n.valid_language(str(form.get("language", "")))
    except ValueError:
        raise InvalidInput(
            Text("language: one of %(value)s, or empty to follow the browser", value=", ".join(i18n.LANGUAGES)),
            field="language",
        ) from None
    target = _safe_next(str(form.get("next", "")))
    response = web.HTTPSeeOther("/login" + (f"?next={quote(target, safe='/')}" if target else ""))
    if language is None:
        response.del_cookie(LANGUAGE_COOKIE, path="/")
    else:
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            httponly=True,
            samesite="Lax",
            secure=_cookie_secure(request),
            max_age=LANGUAGE_COOKIE_SECONDS,
            path="/",
        )
    raise response


def _printable(text: str) -> str:
    """A name typed at the login form as the audit log keeps it: no control characters."""
    return "".join(ch for ch in text if ch.isprintable())[:64]


@roles(*ROLES)
async def logout(request: web.Request) -> web.StreamResponse:
    """End this browser's session: its row is deleted and the WebSockets opened with it close
    at once. With ``scope=all`` (the "everywhere" button) every session of the user ends, on
    every browser, and all their WebSockets close."""
    user = current_user(request)
    scope = ""
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        scope = str((await request.post()).get("scope", ""))
    if scope == "all":
        await asyncio.to_thread(request.app[USER_ADMIN].revoke_sessions, user.username, user.username)
    else:
        await asyncio.to_thread(request.app[SESSIONS].delete, request.cookies.get(SESSION_COOKIE, ""))
        request.app[REALTIME].close_sessions({user.session_id}, reason="logout")
        await asyncio.to_thread(request.app[AUDIT].record, user.username, "logout", user.username)
    response = web.HTTPFound("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


@roles(*ROLES)
async def api_me(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    return web.json_response(
        {
            "username": user.username,
            "role": user.role,
            "display_name": user.display_name,
            "csrf_token": user.csrf_token,
            "language": user.language,
            "interface_language": request[LANGUAGE],
        }
    )


@roles(*ROLES)
async def api_me_language(request: web.Request) -> web.StreamResponse:
    """Save the user's interface language: {"language": "fr" | "en" | null (the browser's)}."""
    user = current_user(request)
    body = await read_json(request)
    try:
        language = i18n.valid_language(body.get("language"))
    except ValueError as exc:
        raise InvalidInput(str(exc), field="language") from None
    await asyncio.to_thread(request.app[USERS].set_language, user.id, language)
    chosen = i18n.choose_language(language, request.headers.get("Accept-Language"))
    return web.json_response({"language": language, "interface_language": chosen})


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect a freshly logged-in user to another site."""
    return login_guard.safe_next(target)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/login", login_page, name="login")
    app.router.add_post("/login", login_submit, name="login-submit")
    app.router.add_post("/logout", logout, name="logout")
    app.router.add_get("/api/me", api_me, name="api-me")
    app.router.add_post("/api/me/language", api_me_language, name="api-me-language")
    app.router.add_post("/login/language", login_language, name="login-language")
    login_guard.install(app)
