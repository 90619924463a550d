"""Customers: the customer files, contacts and tickets, the CSV import, their pages and API."""

from __future__ import annotations

from ...core.plugin import Deps, Plugin
from . import web
from .ports import CustomerRepository
from .service import CustomerService


def setup(deps: Deps, *, repository: CustomerRepository) -> Plugin:
    customers = CustomerService(repository, deps.clock, audit=deps.audit)
    plugin = Plugin("customers", service=customers)
    plugin.web_routes = lambda app: web.add_routes(app, customers)
    return plugin
