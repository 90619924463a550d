"""One middleware renders every error: JSON for /api/ (and JSON clients), a page for browsers."""

from __future__ import annotations

import logging

import aiohttp_jinja2
from aiohttp import web

from ...core.errors import AuthenticationRequired, CcError
from ...core.text import Text
from . import error_text, i18n

logger = logging.getLogger(__name__)


def wants_json(request: web.Request) -> bool:
    return (
        request.path.startswith("/api/")
        or request.path in ("/status", "/ws")
        or "application/json" in request.headers.get("Accept", "")
        and "text/html" not in request.headers.get("Accept", "")
    )


def render_error(request: web.Request, error: CcError) -> web.StreamResponse:
    if wants_json(request):
        return web.json_response(error_text.as_dict(error, i18n.current_language()), status=error.status)
    if isinstance(error, AuthenticationRequired):
        raise web.HTTPFound(f"/login?next={request.path_qs}" if request.method == "GET" else "/login")
    language = i18n.current_language()
    shown = {
        "title": error_text.title(error.error_id, error.status, language),
        "message": error_text.message(error.message, language),
    }
    response = aiohttp_jinja2.render_template(
        "error.html", request, {"error": error, "shown": shown}, status=error.status
    )
    return response


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except CcError as error:
        if error.status >= 500:
            logger.warning("%s %s failed: %s %s", request.method, request.path, error.error_id, error.message)
        return render_error(request, error)
    except web.HTTPNotFound:
        return render_error(request, _not_found(request))
    except web.HTTPMethodNotAllowed as exc:
        err = CcError(Text("method %(method)s not allowed on %(path)s", method=request.method, path=request.path))
        err.error_id, err.status = "method-not-allowed", exc.status
        return render_error(request, err)
    except web.HTTPException:
        raise
    except Exception:
        logger.exception("unexpected error on %s %s", request.method, request.path)
        return render_error(request, CcError("internal error; it has been logged"))


def _not_found(request: web.Request) -> CcError:
    err = CcError(Text("no page or API at %(path)s", path=request.path), path=request.path)
    err.error_id, err.status = "not-found", 404
    return err
