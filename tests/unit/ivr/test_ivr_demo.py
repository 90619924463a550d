"""The example IVR in the demo call center: its numbers, what the summary says, the customer to
type (the demo's queues and skills are checked in test_ivr_registry_cli.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from ccserver.adapters.db.customers import CustomerRepository
from ccserver.adapters.db.database import Database
from ccserver.capabilities.customers.service import CustomerService
from ccserver.capabilities.ivr.loader import ValidationContext, read_script
from ccserver.capabilities.ivr.registry import IvrRegistry
from ccserver.commands import demo
from ccserver.settings import Settings

SCRIPTS = Path(__file__).resolve().parents[3] / "ivr_scripts"


def test_demo_numbers_reach_the_example_script_and_the_summary_says_how_to_use_it(tmp_path):
    registry = IvrRegistry(
        ValidationContext(queues=frozenset(q.name for q in demo.QUEUES), skills=frozenset(demo.SKILLS))
    )
    for path in sorted(SCRIPTS.glob("*.yaml")):
        registry.activate(read_script(path))
    short, did = demo.IVR_NUMBERS
    assert registry.resolve(exten=short).name == "service-client"
    assert registry.resolve(did=did).name == "service-client"
    assert not {short, did} & {n for q in demo.QUEUES for n in q.numbers}  # no queue takes them

    info = SimpleNamespace(
        sip_host="127.0.0.1", sip_port=5060, name="demo", ami_port=5038, ari_url="http://127.0.0.1:8088/ari"
    )
    text = demo.DemoSummary(logins={}).describe(Settings().replace({"storage.data_dir": tmp_path}), info)
    assert f"IVR:    dial {short} or {did}" in text
    assert demo.CUSTOMER["customer_number"] in text


def test_seeding_twice_keeps_one_demo_customer_to_type_in_the_ivr(tmp_path):
    settings = Settings().replace({"storage.data_dir": tmp_path})
    demo.seed_demo(settings)
    demo.seed_demo(settings)
    db = Database(settings.storage.effective_database_url)
    try:
        customers = CustomerService(CustomerRepository(db))
        found = customers.find_by_customer_number(demo.CUSTOMER["customer_number"])
        assert (found.first_name, found.last_name) == ("Camille", "Lefèvre")
        assert customers.search(demo.CUSTOMER["customer_number"])[1] == 1
    finally:
        db.dispose()
