"""The domain's messages in the user's language: the same refusal in French and in English.

The compliance engine's explanations, API errors that name a value, customer import rejections
come back in the language of the user (saved choice, else Accept-Language, else French); the
`code`, `field` and `details` stay the same. The login page has its own language selector (a
form: no JavaScript needed), kept in a cookie until the login. On SQLite and PostgreSQL (the
saved language is a users column)."""

from __future__ import annotations

import re

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer

from ccserver.adapters.web.app import create_app
from ccserver.app import Runtime
from ccserver.settings import Settings
from tests.support.db import database, db_url, empty_database  # noqa: F401
from tests.support.web import csrf_field, logged_in, login_form, post_login

PASSWORD = "correct horse battery"
EN = {"Accept-Language": "en-US,en;q=0.9"}
FR = {"Accept-Language": "fr-FR,fr;q=0.9"}
# a Saturday, 23:00 in Paris: outside the legal days and hours
SATURDAY_NIGHT = "2026-05-09T21:00:00Z"
REFUSED_CALL = {"number": "0612345678", "at": SATURDAY_NIGHT, "company_dnc": True}


@pytest.fixture
async def server(database, tmp_path):
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None, database=database)
    server = TestServer(create_app(runtime))
    await server.start_server()
    server.user_ids = {}
    for role in ("agent", "supervisor", "admin"):
        user = runtime.users.create_user(f"{role}1", PASSWORD, role=role, display_name=f"{role.title()} One")
        server.user_ids[user.username] = user.id
    server.runtime = runtime
    yield server
    await server.close()


async def _check(client: TestClient, headers: dict[str, str]) -> dict:
    resp = await client.post(
        "/api/outbound/compliance/check", json=REFUSED_CALL, headers={**headers, "X-CSRF-Token": client.csrf}
    )
    assert resp.status == 200, await resp.text()
    return await resp.json()


def _explanations(decision: dict) -> dict[str, str]:
    return {r["rule"]: r["explanation"] for r in decision["reasons"]}


async def test_the_same_compliance_refusal_in_english_and_in_french(server):
    client = await logged_in(server, "supervisor1", PASSWORD)
    try:
        english, french = await _check(client, EN), await _check(client, FR)
        default = await _check(client, {})
    finally:
        await client.close()
    assert english["allowed"] is french["allowed"] is False
    assert english["failed"] == french["failed"]  # the rules (codes) are the same
    assert {"hours.weekday", "dnc.company_list"} <= set(english["failed"])
    en, fr = _explanations(english), _explanations(french)
    assert en["dnc.company_list"] == "the number is on the company's do-not-call list"
    assert fr["dnc.company_list"] == "le numéro est sur la liste d'opposition de l'entreprise"
    assert en["hours.weekday"] == "2026-05-09 23:00 (Europe/Paris): Saturday or Sunday: no canvassing"
    assert fr["hours.weekday"] == "2026-05-09 23:00 (Europe/Paris) : samedi ou dimanche : pas de démarchage"
    # the message id and its values stay machine-readable, the same in both languages
    for rule in english["failed"]:
        e = next(r for r in english["reasons"] if r["rule"] == rule)
        f = next(r for r in french["reasons"] if r["rule"] == rule)
        assert e["explanation_text"] == f["explanation_text"] and e["explanation_text"]["id"]
        assert en[rule] != fr[rule]
    assert _explanations(default) == fr  # no Accept-Language: French


async def test_the_users_saved_language_beats_the_browsers_for_domain_messages(server):
    client = await logged_in(server, "supervisor1", PASSWORD)
    try:
        resp = await client.post("/api/me/language", json={"language": "en"}, headers={"X-CSRF-Token": client.csrf})
        assert resp.status == 200
        assert _explanations(await _check(client, FR))["dnc.company_list"].startswith("the number is on")
        resp = await client.post("/api/me/language", json={"language": "fr"}, headers={"X-CSRF-Token": client.csrf})
        assert _explanations(await _check(client, EN))["dnc.company_list"].startswith("le numéro est sur")
    finally:
        await client.close()


async def test_an_api_error_naming_a_value_is_translated_and_keeps_its_code_and_details(server):
    client = await logged_in(server, "admin1", PASSWORD)
    try:
        bodies = {}
        for name, headers in (("en", EN), ("fr", FR)):
            resp = await client.post(
                "/api/customers",
                json={"last_name": "Martin", "phones": ["06 12 34"]},
                headers={**headers, "X-CSRF-Token": client.csrf},
            )
            assert resp.status == 400
            bodies[name] = await resp.json()
    finally:
        await client.close()
    en, fr = bodies["en"], bodies["fr"]
    assert en["code"] == fr["code"] == "invalid-input"
    assert en["details"] == fr["details"] and en["details"]["field"] == "phones[0]"
    assert en["title"] == "Invalid input" and fr["title"] == "Saisie invalide"
    assert en["message"].startswith("'06 12 34' ") and "for a number in FR" in en["message"]
    assert fr["message"].startswith("'06 12 34' ") and "pour un numéro de FR" in fr["message"]


async def test_import_rejections_in_the_users_language(server):
    data = "nom;téléphone;email\nMartin;06 12 34 56 78;pas-un-mail\nDurand;;\n".encode()
    pages = {}
    client = await logged_in(server, "admin1", PASSWORD)
    try:
        for name, headers in (("en", EN), ("fr", FR)):
            page = await (await client.get("/customers/import", headers=headers)).text()
            form = FormData()
            form.add_field("csrf_token", csrf_field(page))
            form.add_field("file", data, filename="clients.csv", content_type="text/csv")
            resp = await client.post("/customers/import", data=form, headers=headers)
            assert resp.status == 200, await resp.text()
            pages[name] = await resp.text()
    finally:
        await client.close()
    assert "&#39;pas-un-mail&#39; is not an email address (name@domain.tld)" in pages["en"]
    assert "no phone number and no customer number: nothing identifies this customer" in pages["en"]
    assert "&#39;pas-un-mail&#39; n&#39;est pas une adresse e-mail (nom@domaine.tld)" in pages["fr"]
    assert "ni numéro de téléphone ni numéro client : rien n&#39;identifie ce client" in pages["fr"]


def _lang(page: str) -> str:
    return re.search(r'<html lang="(\w+)">', page).group(1)


async def test_the_login_page_language_form_sets_a_cookie_applied_at_login(server):
    async with TestClient(server) as client:
        token, _, page = await login_form(client)
        assert _lang(page) == "fr" and 'action="/login/language"' in page
        resp = await client.post(
            "/login/language",
            data={"csrf_token": token, "language": "en", "next": "/customers"},
            headers=FR,
            allow_redirects=False,
        )
        assert resp.status == 303 and resp.headers["Location"] == "/login?next=/customers"
        page = await (await client.get("/login?next=/customers", headers=FR)).text()
        assert _lang(page) == "en" and "<h1>Log in</h1>" in page
        assert '<option value="en" lang="en" selected>' in page
        # logging in saves the choice for a user who had none; the cookie is dropped
        resp = await post_login(client, "agent1", PASSWORD, headers=FR, next="/customers")
        assert resp.status == 302 and resp.headers["Location"] == "/customers"
        me = await (await client.get("/api/me", headers=FR)).json()
        assert me["language"] == "en" and me["interface_language"] == "en"
        assert not client.session.cookie_jar.filter_cookies(client.make_url("/")).get("ccs_language")


async def test_a_saved_language_wins_over_the_login_pages_choice(server):
    server.runtime.users.set_language(server.user_ids["admin1"], "fr")
    async with TestClient(server) as client:
        token, _, _ = await login_form(client)
        await client.post("/login/language", data={"csrf_token": token, "language": "en"}, headers=FR)
        resp = await post_login(client, "admin1", PASSWORD, headers=EN)
        assert resp.status == 302
        me = await (await client.get("/api/me", headers=EN)).json()
        assert me["language"] == "fr" and me["interface_language"] == "fr"


async def test_the_login_pages_browser_choice_and_bad_input(server):
    async with TestClient(server) as client:
        token, _, _ = await login_form(client)
        await client.post("/login/language", data={"csrf_token": token, "language": "en"})
        page = await (await client.get("/login", headers=FR)).text()
        assert _lang(page) == "en"
        # back to the browser's language
        await client.post("/login/language", data={"csrf_token": token, "language": ""})
        assert _lang(await (await client.get("/login", headers=FR)).text()) == "fr"
        assert _lang(await (await client.get("/login", headers=EN)).text()) == "en"
        resp = await client.post("/login/language", data={"csrf_token": token, "language": "de"}, headers=EN)
        body = await resp.json() if resp.content_type == "application/json" else None
        assert resp.status == 400
        if body is not None:
            assert body["details"]["field"] == "language"
        resp = await client.post(
            "/login/language", data={"csrf_token": "forged", "language": "en"}, allow_redirects=False
        )
        assert resp.status == 403
        # nobody logged in: no cookie set by a forged form
        assert _lang(await (await client.get("/login", headers=FR)).text()) == "fr"
