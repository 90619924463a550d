"""Customer pages and API, and the CSV import flow, through the real web app (SQLite)."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest

from ccserver.adapters.web.keys import RUNTIME
from tests.web.conftest import csrf_of, login

ERRORS_CSV = (
    "Numéro client;Nom;Prénom;Téléphone;Email\n"
    "10000001;Alpha;Ann;06 11 11 11 11;ann@example.fr\n"
    "10000002;Beta;Bob;06 12;bob@example.fr\n"
    "10000003;Gamma;Guy;06 33 33 33 33;pas-un-email\n"
    "10000004;Delta;Dan;+33 6 44 44 44 44;\n"
).encode("cp1252")


def runtime_of(web_app):
    return web_app.app[RUNTIME]


def upload_form(token: str, data: bytes, filename: str = "clients.csv") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    form.add_field("file", data, filename=filename, content_type="text/csv")
    return form


async def upload(client, data: bytes, filename: str = "clients.csv"):
    token = await csrf_of(client)
    return await client.post("/customers/import", data=upload_form(token, data, filename), allow_redirects=False)


async def wait_for_job(client, job: str, timeout: float = 10) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        state = await (await client.get(f"/api/customers/imports/{job}")).json()
        if state["state"] in ("done", "failed"):
            return state
        assert asyncio.get_running_loop().time() < deadline, state
        await asyncio.sleep(0.05)


async def test_search_page_lists_and_escapes_customers(web_app):
    service = runtime_of(web_app).customers
    service.create_customer(phones=["0612345678"], last_name="Dupont", first_name="<script>alert(1)</script>")
    service.create_customer(phones=["0145678901"], last_name="Martin", company="Café & Co")
    client = await login(web_app, "agent1")
    page = await client.get("/customers?q=dupont")
    html = await page.text()
    assert page.status == 200
    assert "Dupont" in html and "Martin" not in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "06 12 34 56 78" in html
    assert "/customers/import" not in html  # agents are not offered the import
    by_phone = await (await client.get("/customers?q=01 45 67 89 01")).text()
    assert "Café &amp; Co" in by_phone and "Dupont" not in by_phone
    api = await (await client.get("/api/customers?q=mart")).json()
    assert api["total"] == 1 and api["customers"][0]["company"] == "Café & Co"
    await client.close()


async def test_lookup_api_finds_any_writing_and_prefills_unknown_numbers(web_app):
    service = runtime_of(web_app).customers
    known = service.create_customer(phones=["0692 12 34 56"], customer_number="12345678", last_name="Payet")
    client = await login(web_app, "agent1")
    for number in ("0692123456", "+262 692 12 34 56", "+33692123456"):
        resp = await client.get("/api/customers/lookup", params={"number": number})
        body = await resp.json()
        assert resp.status == 200 and body["found"], number
        assert body["customer"]["id"] == known.id and body["customer"]["url"] == f"/customers/{known.id}"
        assert body["customer"]["phones"][0]["display"] == "0692 12 34 56"
    by_id = await (await client.get("/api/customers/lookup?customer_number=12345678")).json()
    assert by_id["customer"]["matched_by"] == "customer_number"
    unknown = await (await client.get("/api/customers/lookup", params={"number": "01 45 67 89 01"})).json()
    assert unknown["found"] is False
    assert unknown["prefill"] == {"phone": "+33145678901", "phone_display": "01 45 67 89 01", "customer_number": ""}
    bad = await client.get("/api/customers/lookup", params={"number": "12ab"})
    assert bad.status == 400
    error = await bad.json()
    assert error["error"] == "invalid-input" and error["details"]["field"] == "number"
    assert "ne font pas partie d'un numéro de téléphone" in error["message"]  # French by default
    assert (await client.get("/api/customers/lookup")).status == 400
    await client.close()


async def test_create_with_a_bad_number_is_refused_naming_the_field(web_app):
    client = await login(web_app, "agent1")
    headers = {"X-CSRF-Token": await csrf_of(client)}
    resp = await client.post("/api/customers", json={"phone": "06 12 34", "last_name": "X"}, headers=headers)
    assert resp.status == 400
    body = await resp.json()
    assert body["details"]["field"] == "phone" and "trop court" in body["message"]
    resp = await client.post(
        "/api/customers", json={"phone": "0612345678", "mobile": "07 00", "last_name": "X"}, headers=headers
    )
    assert (await resp.json())["details"]["field"] == "mobile"
    resp = await client.post("/api/customers", json={"phones": ["0612345678"], "postcode": "7500"}, headers=headers)
    assert resp.status == 400 and (await resp.json())["details"]["field"] == "postcode"
    assert (await (await client.get("/api/customers")).json())["total"] == 0  # nothing half-written

    created = await client.post(
        "/api/customers",
        json={"phone": "06 12 34 56 78", "mobile": "", "first_name": "Jean", "last_name": "Dupont"},
        headers=headers,
    )
    assert created.status == 201
    file = await created.json()
    assert file["phones"] == [{"e164": "+33612345678", "label": "", "display": "06 12 34 56 78"}]
    again = await client.post("/api/customers", json={"phone": "+33612345678"}, headers=headers)
    assert again.status == 409 and (await again.json())["details"]["field"] == "phone"
    no_csrf = await client.post("/api/customers", json={"phone": "0145678901"})
    assert no_csrf.status == 403
    await client.close()


async def test_customer_file_api_tickets_and_interactions(web_app):
    runtime = runtime_of(web_app)
    customer = runtime.customers.create_customer(phones=["0612345678"], last_name="Durand")
    client = await login(web_app, "agent1")
    headers = {"X-CSRF-Token": await csrf_of(client)}
    ticket = await client.post(
        "/api/tickets",
        json={"customer_id": customer.id, "call_uniqueid": "1.1", "subject": "Panne <b>box</b>", "notes": "n"},
        headers=headers,
    )
    assert ticket.status == 201
    ticket_id = (await ticket.json())["id"]
    contact = await client.post(
        "/api/interactions",
        json={
            "customer_id": customer.id,
            "call_uniqueid": "1.1",
            "queue": "support",
            "disposition": "panne",
            "notes": "rappeler",
        },
        headers=headers,
    )
    assert contact.status == 201 and (await contact.json())["agent"] == "agent1"
    patched = await client.patch(
        f"/api/tickets/{ticket_id}", json={"status": "pending", "append_note": "en attente technicien"}, headers=headers
    )
    assert patched.status == 200
    assert (await patched.json())["notes"].endswith("agent1] en attente technicien")
    bad = await client.patch(f"/api/tickets/{ticket_id}", json={"status": "done"}, headers=headers)
    assert bad.status == 400 and (await bad.json())["details"]["field"] == "status"
    updated = await client.patch(
        f"/api/customers/{customer.id}",
        json={"email": "d@example.fr", "phones": [{"number": "0612345678", "label": "pro"}]},
        headers=headers,
    )
    assert updated.status == 200 and (await updated.json())["phones"][0]["label"] == "pro"

    file = await (await client.get(f"/api/customers/{customer.id}")).json()
    assert file["email"] == "d@example.fr"
    assert [t["status"] for t in file["open_tickets"]] == ["pending"]
    assert file["interactions"][0]["disposition"] == "panne"
    page = await (await client.get(f"/customers/{customer.id}")).text()
    assert "Panne &lt;b&gt;box&lt;/b&gt;" in page and "rappeler" in page and 'class="timer"' in page
    missing = await client.get("/api/customers/999")
    assert missing.status == 404 and (await missing.json())["error"] == "no-such-customer"
    assert (await client.get("/customers/abc")).status == 400
    await client.close()


async def test_new_customer_form_is_prefilled_with_the_number(web_app):
    client = await login(web_app, "agent1")
    html = await (await client.get("/customers/new?number=%2B33612345678&customer_number=12345678")).text()
    assert 'name="phone" value="+33612345678"' in html
    assert 'name="customer_number" value="12345678"' in html
    await client.close()


async def test_import_preview_shows_every_rejected_line_and_imports_nothing_yet(web_app):
    client = await login(web_app, "supervisor1")
    resp = await upload(client, ERRORS_CSV)
    assert resp.status == 303
    job_url = resp.headers["Location"]
    page = await client.get(job_url)
    html = await page.text()
    assert "windows-1252" in html
    assert re.search(r'id="good-count">2<', html) and re.search(r'id="rejected-count">2<', html)
    rows = re.findall(r"<tr><td>(\d+)</td><td>(\w+)</td>", html)
    assert rows == [("3", "phone"), ("4", "email")]
    assert "trop court" in html and "pas-un-email" in html
    assert "Importer les 2 lignes valides" in html and 'name="confirm_partial"' in html
    assert (await (await client.get("/api/customers")).json())["total"] == 0
    await client.close()


async def test_confirmed_import_runs_in_background_with_progress_and_audit(web_app):
    runtime = runtime_of(web_app)
    client = await login(web_app, "supervisor1")
    token = await csrf_of(client)
    job = (await upload(client, ERRORS_CSV)).headers["Location"].rsplit("/", 1)[1]
    ws = await client.ws_connect("/ws")
    assert (await ws.receive_json(timeout=2))["topic"] == "hello"

    refused = await client.post(
        f"/customers/import/{job}/confirm",
        data={"csrf_token": token},
        headers={"Accept": "application/json"},
        allow_redirects=False,
    )
    assert refused.status == 409 and (await refused.json())["details"]["field"] == "confirm_partial"
    assert (await (await client.get("/api/customers")).json())["total"] == 0

    resp = await client.post(
        f"/customers/import/{job}/confirm", data={"csrf_token": token, "confirm_partial": "1"}, allow_redirects=False
    )
    assert resp.status == 303
    state = await wait_for_job(client, job)
    assert state["state"] == "done", state
    assert state["report"]["imported"] == 2 and state["report"]["created"] == 2
    messages = []  # the import's progress; a supervisor's socket also gets the wallboard's pushes
    while True:
        message = await ws.receive_json(timeout=2)
        if message["topic"] != "import_progress":
            continue
        messages.append(message)
        if message.get("state") == "done":
            break
    assert all(m["job"] == job for m in messages)
    assert messages[-1]["done"] == messages[-1]["total"] == 2
    assert messages[-1]["report"]["imported"] == 2
    await ws.close()

    html = await (await client.get(f"/customers/import/{job}")).text()
    assert 'id="import-progress" max="2" value="2"' in html and "2 clients importés" in html
    assert (await (await client.get("/api/customers")).json())["total"] == 2
    entries = runtime.audit.list(action="customers.import")
    assert len(entries) == 1 and entries[0].actor == "supervisor1"
    assert entries[0].details_dict["created"] == 2 and entries[0].details_dict["rejected_lines"] == 2
    again = await client.post(
        f"/customers/import/{job}/confirm", json={"confirm_partial": True}, headers={"X-CSRF-Token": token}
    )
    assert again.status == 409  # a job runs once
    await client.close()


async def test_clean_file_imports_with_json_confirm_and_reimport_updates(web_app):
    client = await login(web_app, "admin1")
    token = await csrf_of(client)
    data = b"customer_number,last_name,phone\n10000001,Alpha,0611111111\n10000002,Beta,0622222222\n"
    for expected in ((2, 0), (0, 2)):
        job = (await upload(client, data, "clean.csv")).headers["Location"].rsplit("/", 1)[1]
        resp = await client.post(f"/customers/import/{job}/confirm", json={}, headers={"X-CSRF-Token": token})
        assert resp.status == 202
        report = (await wait_for_job(client, job))["report"]
        assert (report["created"], report["updated"]) == expected
    assert (await (await client.get("/api/customers")).json())["total"] == 2
    await client.close()


async def test_unusable_upload_is_refused_with_the_reason_on_the_page(web_app):
    client = await login(web_app, "supervisor1")
    resp = await upload(client, "Nom;Prénom\nDupont;Jean\n".encode(), "noms.csv")
    assert resp.status == 400
    html = await resp.text()
    assert 'id="upload-error"' in html and "ni colonne téléphone" in html and "numéro client" in html
    resp = await upload(client, b"PK\x03\x04xlsx", "clients.xlsx")
    assert resp.status == 400 and "Excel" in await resp.text()
    await client.close()


async def test_agent_cannot_import(web_app):
    client = await login(web_app, "agent1")
    token = await csrf_of(client)
    assert (await client.get("/customers/import", allow_redirects=False)).status == 403
    resp = await client.post(
        "/customers/import", data=upload_form(token, ERRORS_CSV), headers={"Accept": "application/json"}
    )
    assert resp.status == 403 and (await resp.json())["error"] == "forbidden"
    assert (await (await client.get("/api/customers")).json())["total"] == 0
    await client.close()


async def test_an_import_job_belongs_to_its_uploader(web_app):
    owner = await login(web_app, "supervisor1")
    job_url = (await upload(owner, ERRORS_CSV)).headers["Location"]
    other = await login(web_app, "admin1")
    resp = await other.get(job_url)
    assert resp.status == 404
    token = await csrf_of(other)
    resp = await other.post(job_url + "/confirm", json={"confirm_partial": True}, headers={"X-CSRF-Token": token})
    assert resp.status == 404
    await owner.close()
    await other.close()


@pytest.mark.parametrize("path", ["/customers", "/customers/new", "/customers/import"])
async def test_pages_render_for_supervisors(web_app, path):
    client = await login(web_app, "supervisor1")
    resp = await client.get(path)
    assert resp.status == 200
    assert 'href="/customers"' in await resp.text()
    await client.close()


async def test_page_assets_are_served_to_the_browser(web_app):
    client = await login(web_app, "agent1")
    for asset in ("/static/customers.js", "/static/customers.css", "/static/app.css"):
        resp = await client.get(asset)
        assert resp.status == 200, asset
    await client.close()


async def test_server_shutdown_during_an_import_rolls_it_back(web_app):
    import time

    from sqlalchemy import func, select

    from ccserver.adapters.db.tables import Customer
    from ccserver.capabilities.customers.web import IMPORT_JOBS

    runtime = runtime_of(web_app)
    real_import = runtime.customers.import_customers

    def slow_import(preview, confirm_partial=False, progress=None, **kwargs):
        def slow_progress(done, total):
            time.sleep(0.05)
            progress(done, total)

        return real_import(preview, confirm_partial, slow_progress, **kwargs)

    runtime.customers.import_customers = slow_import
    lines = ["numero client;telephone"] + [f"{20000000 + i};06{10000000 + i:08d}" for i in range(1000)]
    client = await login(web_app, "supervisor1")
    job_id = (await upload(client, ("\n".join(lines) + "\n").encode())).headers["Location"].rsplit("/", 1)[1]
    resp = await client.post(
        f"/customers/import/{job_id}/confirm", json={}, headers={"X-CSRF-Token": await csrf_of(client)}
    )
    assert resp.status == 202
    job = web_app.app[IMPORT_JOBS].jobs[job_id]
    while job.done == 0:
        await asyncio.sleep(0.01)
    await client.close()
    await web_app.close()  # on_shutdown cancels the import before the database closes
    assert job.state == "failed" and job.error["error"] == "import-cancelled"
    with runtime.database.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Customer)).scalar_one() == 0
    assert [e.action for e in runtime.audit.list(action="customers.import-failed")] == ["customers.import-failed"]
