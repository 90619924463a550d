"""The interface in French and English: Accept-Language, the saved choice, API errors.

The saved choice is stored in users.language (migration 0024): these tests run on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ccserver.adapters.web.app import create_app
from ccserver.app import Runtime
from ccserver.settings import Settings
from tests.support.db import database, db_url, empty_database  # noqa: F401
from tests.support.web import logged_in, post_login

PASSWORD = "correct horse battery"
EN = {"Accept-Language": "en-US,en;q=0.9"}
FR = {"Accept-Language": "fr-FR,fr;q=0.9"}


@pytest.fixture
async def server(database, tmp_path):
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None, database=database)
    server = TestServer(create_app(runtime))
    await server.start_server()
    for role in ("agent", "supervisor", "admin"):
        runtime.users.create_user(f"{role}1", PASSWORD, role=role, display_name=f"{role.title()} One")
    yield server
    await server.close()


def html_lang(page: str) -> str:
    return re.search(r'<html lang="(\w+)">', page).group(1)


def without_dictionary(page: str) -> str:
    """The page less its scripts' dictionary (whose keys are the French source texts)."""
    return re.sub(r'<script type="application/json" id="i18n">.*?</script>', "", page, flags=re.S)


def i18n_block(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="i18n">(.*?)</script>', page, re.S).group(1))


async def test_the_login_page_follows_the_browsers_language(server):
    async with TestClient(server) as client:
        english = await (await client.get("/login", headers=EN)).text()
        french = await (await client.get("/login", headers=FR)).text()
        other = await (await client.get("/login", headers={"Accept-Language": "de-DE"})).text()
        none = await (await client.get("/login")).text()
    assert html_lang(english) == "en" and "<h1>Log in</h1>" in english and "Password" in english
    assert "Connexion" not in without_dictionary(english) and "Mot de passe" not in without_dictionary(english)
    assert html_lang(french) == "fr" and "<h1>Connexion</h1>" in french and "Mot de passe" in french
    # neither French nor English asked for, or nothing: French
    assert html_lang(other) == "fr" and "<h1>Connexion</h1>" in other
    assert html_lang(none) == "fr" and "<h1>Connexion</h1>" in none


async def test_pages_and_api_errors_in_english_for_an_english_browser(server):
    client = await logged_in(server, "admin1", PASSWORD)
    try:
        page = await (await client.get("/admin/users", headers=EN)).text()
        assert html_lang(page) == "en"
        assert ">Users</h1>" in page and ">Create a user</h2>" in page and ">Log out</button>" in page
        assert "Utilisateurs" not in without_dictionary(page) and "Déconnexion" not in without_dictionary(page)
        assert i18n_block(page)["erreur {status}"] == "error {status}"  # the scripts' dictionary

        resp = await client.post("/api/me/language", data="{nope", headers={**EN, "X-CSRF-Token": client.csrf})
        body = await resp.json()
        assert resp.status == 400 and body["code"] == body["error"] == "invalid-input"
        assert body["title"] == "Invalid input" and body["message"] == "the request body is not JSON"

        resp = await client.get("/api/customers/999999", headers=EN)
        body = await resp.json()
        assert resp.status == 404 and body["code"] == "no-such-customer" and body["title"] == "Customer not found"

        # the same errors for a French browser: French title and message, the same code
        resp = await client.post("/api/me/language", data="{nope", headers={**FR, "X-CSRF-Token": client.csrf})
        body = await resp.json()
        assert body["code"] == "invalid-input" and body["title"] == "Saisie invalide"
        assert body["message"] == "le corps de la requête n'est pas du JSON"

        # an error page in English
        page = await (await client.get("/no/such/page", headers=EN)).text()
        assert html_lang(page) == "en" and "404 · Not found" in page and "Back to the home page" in page
    finally:
        await client.close()


async def test_the_saved_choice_beats_the_browser_and_survives_a_new_login(server):
    client = await logged_in(server, "agent1", PASSWORD)
    try:
        csrf = {"X-CSRF-Token": client.csrf}
        # an English browser, the user picks French
        resp = await client.post("/api/me/language", json={"language": "fr"}, headers={**EN, **csrf})
        assert resp.status == 200 and await resp.json() == {"language": "fr", "interface_language": "fr"}
        page = await (await client.get("/", headers=EN)).text()
        assert html_lang(page) == "fr" and "Bonjour Agent One" in page
        assert '<option value="fr" lang="fr" selected>' in page
        me = await (await client.get("/api/me", headers=EN)).json()
        assert me["language"] == "fr" and me["interface_language"] == "fr"
        resp = await client.post("/api/me/language", data="{nope", headers={**EN, **csrf})
        assert (await resp.json())["title"] == "Saisie invalide"  # API errors follow the choice too

        # a French browser, the user picks English
        await client.post("/api/me/language", json={"language": "en"}, headers={**FR, **csrf})
        page = await (await client.get("/", headers=FR)).text()
        assert html_lang(page) == "en" and "Hello Agent One" in page and "You are logged in as" in page

        # a bad value is refused, naming the field, and nothing changes
        resp = await client.post("/api/me/language", json={"language": "de"}, headers=csrf)
        body = await resp.json()
        assert resp.status == 400 and body["details"]["field"] == "language" and "fr, en" in body["message"]
        resp = await client.post("/api/me/language", json={"language": "en\r\nX"}, headers=csrf)
        assert resp.status == 400
        # without the CSRF token: refused
        resp = await client.post("/api/me/language", json={"language": "fr"})
        assert resp.status == 403
    finally:
        await client.session.close()  # the browser only: the server goes on

    # the choice is the user's (stored), not the session's: a new login keeps it
    again = await logged_in(server, "agent1", PASSWORD)
    try:
        page = await (await again.get("/", headers=FR)).text()
        assert html_lang(page) == "en" and "Hello Agent One" in page
        # back to "the browser's": null
        resp = await again.post("/api/me/language", json={"language": None}, headers={"X-CSRF-Token": again.csrf})
        assert (await resp.json())["language"] is None
        assert html_lang(await (await again.get("/", headers=FR)).text()) == "fr"
        assert html_lang(await (await again.get("/", headers=EN)).text()) == "en"
    finally:
        await again.session.close()
    # another user is not affected
    other = await logged_in(server, "supervisor1", PASSWORD)
    try:
        assert html_lang(await (await other.get("/", headers=FR)).text()) == "fr"
    finally:
        await other.close()


async def test_a_refused_login_is_explained_in_the_browsers_language(server):
    async with TestClient(server) as client:
        english = await post_login(client, "agent1", "wrong password", headers=EN)
        assert english.status == 401 and "Unknown user or wrong password." in await english.text()
        french = await post_login(client, "agent1", "wrong password", headers=FR)
        assert french.status == 401 and "Identifiant inconnu ou mot de passe erroné." in await french.text()
