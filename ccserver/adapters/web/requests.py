"""Reading request bodies the same way everywhere: bad input is an `InvalidInput`."""

from __future__ import annotations

import json

from aiohttp import web

from ...core.errors import InvalidInput


async def read_json(request: web.Request) -> dict:
    """The JSON object in the body; a clear 400 when it is not one."""
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    return body
