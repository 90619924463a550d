"""Users and teams administration: the /admin/users page (forms with CSRF, like the other admin
pages) and the /api/users, /api/teams JSON API. Admins only. A password an admin generates is in
the answer to the POST that made it, never in a page or API read afterwards (no-store)."""

from __future__ import annotations

import asyncio

import aiohttp_jinja2
from aiohttp import web

from ...adapters.web.auth import current_user, roles
from ...adapters.web.i18n import N_
from ...adapters.web.i18n import gettext as _
from ...adapters.web.requests import read_json
from ...core.errors import CcError, InvalidInput
from ...core.text import Text
from .model import ROLES, Scopes, UserEdit, UserView, check_username, parse_scopes
from .service import UserAdminService

USER_ADMIN_SERVICE: web.AppKey[UserAdminService] = web.AppKey("user_admin_service", UserAdminService)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
ACTIONS = ("disable", "enable", "password", "revoke")


def _service(request: web.Request) -> UserAdminService:
    return request.app[USER_ADMIN_SERVICE]


def _actor(request: web.Request) -> str:
    return current_user(request).username


async def _act(request: web.Request, username: str, action: str, password: str | None) -> dict:
    """One of ACTIONS on `username`; what the answer says (a generated password once)."""
    service, actor = _service(request), _actor(request)
    if action == "disable":
        return {"username": username, "active": False, **await service.disable_and_log_out(actor, username)}
    if action == "enable":
        await asyncio.to_thread(service.enable_user, actor, username)
        return {"username": username, "active": True}
    if action == "password":
        generated, revoked = await asyncio.to_thread(service.new_password, actor, username, password)
        return {"username": username, "password": generated, "sessions_revoked": revoked}
    revoked = await asyncio.to_thread(service.revoke_sessions, actor, username)
    return {"username": username, "sessions_revoked": revoked}


def _optional_str(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(Text("%(key)s must be text", key=key), field=key)
    return value


# --- API -------------------------------------------------------------------------------------


@roles("admin")
async def api_users(request: web.Request) -> web.StreamResponse:
    users = await asyncio.to_thread(_service(request).list_users)
    return web.json_response([u.to_dict() for u in users])


@roles("admin")
async def api_user(request: web.Request) -> web.StreamResponse:
    user = await asyncio.to_thread(_service(request).user, request.match_info["username"])
    return web.json_response(user.to_dict())


@roles("admin")
async def api_user_create(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    username = check_username(body.get("username"))
    view, generated = await asyncio.to_thread(
        _service(request).create_user,
        _actor(request),
        username,
        _optional_str(body, "password"),
        body.get("role"),
        _optional_str(body, "display_name") or "",
        parse_scopes(body.get("scopes")),
    )
    return web.json_response({**view.to_dict(), "password": generated}, status=201, headers=NO_STORE)


@roles("admin")
async def api_user_update(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    unknown = set(body) - {"display_name", "role", "team", "scopes"}
    if unknown:
        raise InvalidInput(Text("unknown field %(value)r", value=sorted(unknown)[0]), field=sorted(unknown)[0])
    edit = UserEdit(
        display_name=_optional_str(body, "display_name"),
        role=body.get("role"),
        team=_optional_str(body, "team"),
        scopes=parse_scopes(body["scopes"]) if "scopes" in body else None,
    )
    view = await asyncio.to_thread(_service(request).edit_user, _actor(request), request.match_info["username"], edit)
    return web.json_response(view.to_dict())


def _api_action(action: str):
    @roles("admin")
    async def handler(request: web.Request) -> web.StreamResponse:
        password = None
        if action == "password" and request.can_read_body:
            password = _optional_str(await read_json(request), "password")
        answer = await _act(request, request.match_info["username"], action, password)
        return web.json_response(answer, headers=NO_STORE)

    handler.__name__ = f"api_user_{action}"
    return handler


@roles("admin")
async def api_teams(request: web.Request) -> web.StreamResponse:
    teams = await asyncio.to_thread(_service(request).teams)
    return web.json_response([{"name": name, "agents": count} for name, count in teams])


@roles("admin")
async def api_team_create(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    await asyncio.to_thread(_service(request).create_team, _actor(request), body.get("name"))
    return web.json_response({"name": body["name"], "agents": 0}, status=201)


@roles("admin")
async def api_team_rename(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    moved = await asyncio.to_thread(
        _service(request).rename_team, _actor(request), request.match_info["name"], body.get("name")
    )
    return web.json_response({"name": body["name"], "agents": moved})


# --- page ------------------------------------------------------------------------------------


async def _page(request: web.Request, *, status: int = 200, **extra) -> web.StreamResponse:
    service = _service(request)
    users: list[UserView] = await asyncio.to_thread(service.list_users)
    teams = await asyncio.to_thread(service.teams)
    context = {
        "users": users,
        "teams": teams,
        "team_names": {name for name, _count in teams},
        "choices": await asyncio.to_thread(service.choices),
        "roles": ROLES,
        "error": None,
        "shown": None,
        "done": None,
        "form": {},
        **extra,
    }
    response = aiohttp_jinja2.render_template("admin_users.html", request, context, status=status)
    response.headers.update(NO_STORE)
    return response


def _form_scopes(form) -> Scopes:
    return parse_scopes({key: str(form.get(key, "")) for key in ("teams", "queues", "campaigns")})


async def _form_or_error(request: web.Request, work, status: int = 200) -> web.StreamResponse:
    """Run `work(form)` -> (shown, done); re-render the page with its outcome or its error."""
    form = await request.post()
    try:
        shown, done = await work(form)
    except CcError as error:
        if error.status >= 500:
            raise
        return await _page(request, status=error.status, error=error, form=dict(form))
    return await _page(request, status=status, shown=shown, done=done)


@roles("admin")
async def users_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@roles("admin")
async def user_create_submit(request: web.Request) -> web.StreamResponse:
    async def work(form):
        scopes = _form_scopes(form) if str(form.get("role", "")) == "supervisor" else Scopes()
        view, generated = await asyncio.to_thread(
            _service(request).create_user,
            _actor(request),
            check_username(str(form.get("username", "")).strip()),
            str(form.get("password", "")) or None,
            str(form.get("role", "")),
            str(form.get("display_name", "")),
            scopes,
        )
        return {"username": view.username, "password": generated}, _("Utilisateur %(user)s créé", user=view.username)

    return await _form_or_error(request, work, status=201)


@roles("admin")
async def user_edit_submit(request: web.Request) -> web.StreamResponse:
    username = request.match_info["username"]

    async def work(form):
        role = str(form.get("role", ""))
        edit = UserEdit(
            display_name=str(form.get("display_name", "")),
            role=role,
            team=str(form["team"]) if "team" in form else None,
            scopes=_form_scopes(form) if role == "supervisor" else None,
        )
        await asyncio.to_thread(_service(request).edit_user, _actor(request), username, edit)
        return None, _("Utilisateur %(user)s modifié", user=username)

    return await _form_or_error(request, work)


def _page_action(action: str):
    messages = {
        "disable": N_("Utilisateur %(user)s désactivé : ses sessions sont fermées, son agent sorti des files"),
        "enable": N_("Utilisateur %(user)s réactivé"),
        "password": N_("Mot de passe de %(user)s changé : ses sessions sont fermées"),
        "revoke": N_("Toutes les sessions de %(user)s sont fermées"),
    }

    @roles("admin")
    async def handler(request: web.Request) -> web.StreamResponse:
        username = request.match_info["username"]

        async def work(form):
            password = str(form.get("password", "")) or None if action == "password" else None
            answer = await _act(request, username, action, password)
            shown = {"username": username, "password": answer["password"]} if answer.get("password") else None
            return shown, _(messages[action], user=username)

        return await _form_or_error(request, work)

    handler.__name__ = f"user_{action}_submit"
    return handler


@roles("admin")
async def team_create_submit(request: web.Request) -> web.StreamResponse:
    async def work(form):
        name = str(form.get("name", "")).strip()
        await asyncio.to_thread(_service(request).create_team, _actor(request), name)
        return None, _("Équipe %(team)s créée", team=name)

    return await _form_or_error(request, work, status=201)


@roles("admin")
async def team_rename_submit(request: web.Request) -> web.StreamResponse:
    old = request.match_info["name"]

    async def work(form):
        new = str(form.get("name", "")).strip()
        await asyncio.to_thread(_service(request).rename_team, _actor(request), old, new)
        return None, _("Équipe %(old)s renommée en %(new)s", old=old, new=new)

    return await _form_or_error(request, work)


def add_routes(app: web.Application, service: UserAdminService) -> None:
    app[USER_ADMIN_SERVICE] = service
    router = app.router
    router.add_get("/admin/users", users_page, name="admin-users")
    router.add_post("/admin/users", user_create_submit, name="admin-user-create")
    router.add_post("/admin/users/{username}", user_edit_submit, name="admin-user-edit")
    for action in ACTIONS:
        router.add_post(f"/admin/users/{{username}}/{action}", _page_action(action), name=f"admin-user-{action}")
    router.add_post("/admin/teams", team_create_submit, name="admin-team-create")
    router.add_post("/admin/teams/{name}", team_rename_submit, name="admin-team-rename")
    router.add_get("/api/users", api_users, name="api-users")
    router.add_post("/api/users", api_user_create, name="api-user-create")
    router.add_get("/api/users/{username}", api_user, name="api-user")
    router.add_patch("/api/users/{username}", api_user_update, name="api-user-update")
    for action in ACTIONS:
        router.add_post(f"/api/users/{{username}}/{action}", _api_action(action), name=f"api-user-{action}")
    router.add_get("/api/teams", api_teams, name="api-teams")
    router.add_post("/api/teams", api_team_create, name="api-team-create")
    router.add_patch("/api/teams/{name}", api_team_rename, name="api-team-rename")
