"""The GDPR erasure over HTTP: a customer by id, or a person by customer id and/or phone
numbers. Views call `ErasureService` only."""

from __future__ import annotations

from aiohttp import web

from ...adapters.web.auth import current_user, roles
from ...adapters.web.requests import read_json
from ...core.errors import InvalidInput
from .service import ErasureService

ERASURE: web.AppKey[ErasureService] = web.AppKey("erasure", ErasureService)


def _customer_id(value: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput("id must be a whole number", field="id") from None
    if number < 0 or number > 2**62:
        raise InvalidInput("id is out of range", field="id")
    return number


@roles("admin")
async def api_erase_customer(request: web.Request) -> web.StreamResponse:
    """Erase a customer everywhere; an error if a file could not go."""
    customer_id = _customer_id(request.match_info["id"])
    summary = await request.app[ERASURE].erase(
        customer_id=customer_id, actor=current_user(request).username, raise_on_failure=True
    )
    return web.json_response(summary)


@roles("admin")
async def api_erase_person(request: web.Request) -> web.StreamResponse:
    """Erase a person by customer id and/or phone numbers: JSON {"customer_id": 12,
    "numbers": ["06 12 34 56 78"]} (or "number")."""
    body = await read_json(request)
    customer_id = body.get("customer_id")
    if customer_id is not None and (not isinstance(customer_id, int) or isinstance(customer_id, bool)):
        raise InvalidInput("customer_id is a number", field="customer_id")
    numbers = body.get("numbers", [])
    if "number" in body:
        numbers = [body["number"], *numbers] if isinstance(numbers, list) else numbers
    if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
        raise InvalidInput("numbers is a list of phone numbers", field="numbers")
    summary = await request.app[ERASURE].erase(
        customer_id=customer_id, numbers=numbers, actor=current_user(request).username, raise_on_failure=True
    )
    return web.json_response(summary)


def add_routes(app: web.Application, service: ErasureService) -> None:
    app[ERASURE] = service
    app.router.add_post("/api/customers/{id}/erase", api_erase_customer, name="api-customer-erase")
    app.router.add_post("/api/privacy/erase", api_erase_person, name="api-privacy-erase")
