"""Outbound screens and API: campaign, contact upload with progress and a confirm step, the
rejected-lines report, "why was this contact not called?", consent ledger, do-not-call list,
the CSV export of the decisions, the agents' preview API."""

from __future__ import annotations

import asyncio
import csv
import io

import aiohttp

from ccserver.adapters.web.keys import RUNTIME
from tests.web.conftest import csrf_of, login

CSV = (
    "Nom;Prénom;Téléphone;Code postal;Segment\n"
    "Dupont;Jean;06 12 34 56 78;75011;or\n"
    "Martin;Anne;+33 6 12 34 56 79;97400;argent\n"
    "Broken;Line;0612345670\n"
    "Durand;Paul;06 12 34 56 78;;or\n"
).encode()


def upload_form(data: bytes, name: str = "contacts.csv", **fields) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="text/csv")
    for key, value in fields.items():
        form.add_field(key, value)
    return form


async def next_message_of(ws, topic: str, timeout: float = 2.0) -> dict:
    """The next live message of this topic: a supervisor's socket also gets the wallboard's
    periodic pushes, which may come first."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        message = await ws.receive_json(timeout=max(0.01, deadline - asyncio.get_running_loop().time()))
        if message["topic"] == topic:
            return message


async def create_campaign(client, token, name="Automne", **values):
    resp = await client.post(
        "/api/outbound/campaigns",
        headers={"X-CSRF-Token": token},
        json={"name": name, "mode": "progressive", "caller_ids": "01 62 00 00 01, 09 48 00 00 02", **values},
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_supervisor_uploads_contacts_sees_rejections_and_confirms(web_app):
    client = await login(web_app, "supervisor1")
    token = await csrf_of(client)
    campaign = await create_campaign(client, token)
    assert campaign["caller_ids"] == ["0162000001", "0948000002"]
    origin = f"http://{web_app.host}:{web_app.port}"
    ws = await client.ws_connect("/ws", headers={"Origin": origin})
    assert (await ws.receive_json(timeout=2))["topic"] == "hello"

    resp = await client.post(
        f"/api/outbound/campaigns/{campaign['id']}/imports", data=upload_form(CSV), headers={"X-CSRF-Token": token}
    )
    assert resp.status == 201, await resp.text()
    report = await resp.json()
    assert (report["accepted"], report["rejected"]) == (2, 2)
    assert [(r["line"], r["reason"]) for r in report["rejections"]] == [
        (4, "3 fields where the header has 5"),
        (5, "duplicate of line 2 (0612345678)"),
    ]
    progress = await next_message_of(ws, "outbound_import_progress")
    assert progress["stage"] == "check"

    listing = await client.get(f"/api/outbound/campaigns/{campaign['id']}/contacts")
    assert (await listing.json())["total"] == 0  # nothing before the confirmation
    resp = await client.post(f"/api/outbound/imports/{report['import_id']}/confirm", headers={"X-CSRF-Token": token})
    assert resp.status == 200 and (await resp.json())["inserted"] == 2
    listing = await (await client.get(f"/api/outbound/campaigns/{campaign['id']}/contacts")).json()
    by_number = {c["number"]: c for c in listing["contacts"]}
    assert by_number["0612345679"]["timezone"] == "Indian/Reunion"
    assert by_number["0612345678"]["fields"] == {"Segment": "or"}
    resp = await client.post(f"/api/outbound/imports/{report['import_id']}/confirm", headers={"X-CSRF-Token": token})
    assert resp.status == 409

    page = await client.get(f"/outbound/campaigns/{campaign['id']}")
    text = await page.text()
    assert page.status == 200 and "0612345679" in text and "Pourquoi (pas) appelé" in text
    assert (await client.get("/outbound")).status == 200
    await ws.close()
    await client.close()


async def test_bad_file_gives_a_line_numbered_error(web_app):
    client = await login(web_app, "admin1")
    token = await csrf_of(client)
    campaign = await create_campaign(client, token, name="Hiver")
    latin1 = "Nom;Téléphone\nDupré;0612345678\n".encode("cp1252")
    resp = await client.post(
        f"/api/outbound/campaigns/{campaign['id']}/imports", data=upload_form(latin1), headers={"X-CSRF-Token": token}
    )
    body = await resp.json()
    assert resp.status == 400 and body["details"]["line"] == 1
    assert body["details"]["field"] == "encoding"
    resp = await client.post(
        f"/api/outbound/campaigns/{campaign['id']}/imports",
        data=upload_form(latin1, encoding="windows-1252"),
        headers={"X-CSRF-Token": token},
    )
    assert resp.status == 201 and (await resp.json())["accepted"] == 1
    resp = await client.post(
        f"/api/outbound/campaigns/{campaign['id']}/imports",
        data=upload_form(b"Nom;Ville\nA;B\n"),
        headers={"X-CSRF-Token": token},
    )
    assert resp.status == 400 and "pas de colonne numéro" in (await resp.json())["message"]
    await client.close()


async def test_why_not_called_consent_dnc_and_export(web_app):
    runtime = web_app.app[RUNTIME]
    client = await login(web_app, "supervisor1")
    token = await csrf_of(client)
    headers = {"X-CSRF-Token": token}
    campaign = await create_campaign(client, token, name="Printemps")
    resp = await client.post(
        f"/api/outbound/campaigns/{campaign['id']}/imports",
        data=upload_form(b"numero\n0612345678\n0612345679\n"),
        headers=headers,
    )
    await client.post(f"/api/outbound/imports/{(await resp.json())['import_id']}/confirm", headers=headers)
    resp = await client.post(
        "/api/outbound/consents",
        headers=headers,
        json={"number": "06 12 34 56 78", "source": "site web", "proof_ref": "FORM-42", "at": "2026-01-05T10:00:00Z"},
    )
    assert resp.status == 201, await resp.text()
    resp = await client.post(
        "/api/outbound/consents", headers=headers, json={"number": "0612345678", "scope": "lottery"}
    )
    assert resp.status == 400 and (await resp.json())["details"]["field"] == "scope"
    consents = await (await client.get("/api/outbound/consents?number=%2B33612345678")).json()
    assert consents["canvassing"] is True and consents["entries"][0]["proof_ref"] == "FORM-42"
    resp = await client.post(
        "/api/outbound/dnc", headers=headers, json={"number": "0612345679", "reason": "asked by mail"}
    )
    assert (await resp.json()) == {"added": 1, "already_listed": 0}

    contacts = (await (await client.get(f"/api/outbound/campaigns/{campaign['id']}/contacts")).json())["contacts"]
    by_number = {c["number"]: c for c in contacts}
    checked = await client.post(f"/api/outbound/contacts/{by_number['0612345679']['id']}/check", headers=headers)
    decision = await checked.json()
    assert "dnc.company_list" in decision["failed"]
    why = await (await client.get(f"/api/outbound/contacts/{by_number['0612345679']['id']}/decisions")).json()
    assert why["decisions"][0]["actor"] == "supervisor1"
    page = await client.get(f"/outbound/contacts/{by_number['0612345679']['id']}")
    assert page.status == 200 and "dnc.company_list" in await page.text()
    assert (await client.get("/outbound/compliance")).status == 200

    export = await client.get(f"/api/outbound/decisions.csv?campaign_id={campaign['id']}")
    assert export.status == 200 and export.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO((await export.text()).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][0] == "decision_id" and len(rows) == 2 and rows[1][7] == "0612345679"
    bad = await client.get("/api/outbound/decisions.csv?from=yesterday")
    assert bad.status == 400
    entries = runtime.audit.list(action="compliance.export")
    assert len(entries) == 1 and entries[0].actor == "supervisor1"
    removed = await client.delete("/api/outbound/dnc/0612345679", headers=headers)
    assert removed.status == 200
    await client.close()


async def test_consent_file_import_is_all_or_nothing(web_app):
    client = await login(web_app, "admin1")
    headers = {"X-CSRF-Token": await csrf_of(client)}
    data = (
        "numéro;portée;opération;date;source;preuve\n"
        "0612345678;démarchage;oui;2026-01-02;web;F1\n"
        "0612345679;démarchage;peut-être;2026-01-02;web;F2\n"
    ).encode()
    resp = await client.post("/api/outbound/consents/import", data=upload_form(data), headers=headers)
    body = await resp.json()
    assert resp.status == 400 and body["details"]["line"] == 3
    assert (await (await client.get("/api/outbound/consents?number=0612345678")).json())["entries"] == []
    good = data.replace("peut-être".encode(), b"oui")
    resp = await client.post("/api/outbound/consents/import", data=upload_form(good), headers=headers)
    assert resp.status == 201 and (await resp.json()) == {"imported": 2}
    await client.close()


async def test_compliance_check_api_answers_on_given_facts(web_app):
    client = await login(web_app, "supervisor1")
    resp = await client.post(
        "/api/outbound/compliance/check",
        headers={"X-CSRF-Token": await csrf_of(client)},
        json={"number": "0612345678", "at": "2026-09-15T11:30:00Z", "postcode": "75011", "basis": "consent"},
    )
    body = await resp.json()
    assert resp.status == 200 and body["allowed"] is False and body["failed"] == ["hours.window"]
    await client.close()


async def test_agent_preview_api_and_campaign_management_refused(web_app):
    client = await login(web_app, "agent1")
    headers = {"X-CSRF-Token": await csrf_of(client)}
    resp = await client.post("/api/outbound/preview/next", headers=headers)
    assert resp.status == 204
    assert (await client.get("/api/outbound/my-campaigns")).status == 200
    resp = await client.post("/api/outbound/campaigns", headers=headers, json={"name": "x"})
    assert resp.status == 403
    resp = await client.post("/api/outbound/preview/99/dial", headers=headers)
    assert resp.status == 404 and (await resp.json())["error"] == "no-such-contact"
    await client.close()


async def test_campaign_actions_and_agents(web_app):
    client = await login(web_app, "supervisor1")
    headers = {"X-CSRF-Token": await csrf_of(client)}
    campaign = await create_campaign(client, headers["X-CSRF-Token"], name="Actions")
    resp = await client.put(
        f"/api/outbound/campaigns/{campaign['id']}/agents", headers=headers, json={"agents": ["agent1"]}
    )
    assert (await resp.json()) == {"agents": ["agent1"]}
    resp = await client.post(f"/api/outbound/campaigns/{campaign['id']}/start", headers=headers)
    assert resp.status == 200 and (await resp.json())["status"] == "running"
    resp = await client.post(f"/api/outbound/campaigns/{campaign['id']}/explode", headers=headers)
    assert resp.status == 400
    detail = await (await client.get(f"/api/outbound/campaigns/{campaign['id']}")).json()
    assert detail["agents"] == ["agent1"] and detail["status"] == "running"
    assert {b["rule"] for b in detail["live"]["blockers"]} <= {"dialer.not_configured"}
    resp = await client.patch(
        f"/api/outbound/campaigns/{campaign['id']}", headers=headers, json={"retry_busy_minutes": 30, "amd": True}
    )
    assert (await resp.json())["retry_minutes"]["busy"] == 30
    await client.close()


async def test_agent_reads_the_contact_card_of_their_campaigns_only(web_app):
    supervisor = await login(web_app, "supervisor1")
    headers = {"X-CSRF-Token": await csrf_of(supervisor)}
    campaign = await create_campaign(supervisor, headers["X-CSRF-Token"], name="Cartes")
    await supervisor.post("/api/outbound/dnc", headers=headers, json={"number": "0612345679"})
    resp = await supervisor.post(
        f"/api/outbound/campaigns/{campaign['id']}/imports", data=upload_form(CSV), headers=headers
    )
    report = await resp.json()
    assert report["on_company_dnc"] == 1  # imported, but never called while listed
    await supervisor.post(f"/api/outbound/imports/{report['import_id']}/confirm", headers=headers)
    contacts = (await (await supervisor.get(f"/api/outbound/campaigns/{campaign['id']}/contacts")).json())["contacts"]
    contact_id = contacts[0]["id"]
    agent = await login(web_app, "agent1")
    resp = await agent.get(f"/api/outbound/contacts/{contact_id}")
    assert resp.status == 403
    await supervisor.put(
        f"/api/outbound/campaigns/{campaign['id']}/agents", headers=headers, json={"agents": ["agent1"]}
    )
    card = await (await agent.get(f"/api/outbound/contacts/{contact_id}")).json()
    assert card["fields"] == {"Segment": "or"} and card["name"] == "Jean Dupont"
    await agent.close()
    await supervisor.close()


async def test_a_campaigns_language_is_chosen_among_the_installed_ones_on_create_and_edit(web_app):
    campaigns = web_app.app[RUNTIME].outbound.campaigns
    before = campaigns.installed_languages
    campaigns.installed_languages = lambda: ["en", "fr"]  # what Asterisk has sounds for
    try:
        client = await login(web_app, "supervisor1")
        token = await csrf_of(client)
        for bad, words in (("de", "pas de sons en 'de' (installés : en, fr)"), ("fr)\nX", "pas un code de langue")):
            resp = await client.post(
                "/api/outbound/campaigns",
                headers={"X-CSRF-Token": token},
                json={"name": "Langue KO", "mode": "progressive", "language": bad},
            )
            assert resp.status == 400, await resp.text()
            error = await resp.json()
            assert error["details"]["field"] == "language" and words in error["message"], error
        listing = await (await client.get("/api/outbound/campaigns")).json()
        assert "Langue KO" not in str(listing)  # nothing half-made
        campaign = await create_campaign(client, token, name="Langue", language="fr")
        assert campaign["language"] == "fr"
        page = await (await client.get("/outbound")).text()
        assert '<select name="language">' in page and '<option value="fr">fr</option>' in page
        url = f"/api/outbound/campaigns/{campaign['id']}"
        resp = await client.patch(url, headers={"X-CSRF-Token": token}, json={"language": "de"})
        assert resp.status == 400 and (await resp.json())["details"]["field"] == "language"
        assert (await (await client.get(url)).json())["language"] == "fr"
        resp = await client.patch(url, headers={"X-CSRF-Token": token}, json={"language": "en"})
        assert resp.status == 200 and (await resp.json())["language"] == "en"
        page = await (await client.get(f"/outbound/campaigns/{campaign['id']}")).text()
        assert 'id="campaign-language"' in page and '<option value="en" selected>en</option>' in page
        resp = await client.patch(url, headers={"X-CSRF-Token": token}, json={"language": ""})
        assert resp.status == 200 and (await resp.json())["language"] == ""  # back to the default
        await client.close()
    finally:
        campaigns.installed_languages = before
