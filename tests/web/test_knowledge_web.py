"""Knowledge-base pages and API through the real web app (SQLite): who reads, who writes which
article (a supervisor within their queues), bad input named, history, diff and restore."""

from __future__ import annotations

import pytest

from ccserver.adapters.web.keys import RUNTIME
from ccserver.capabilities.acd.model import QueueDefinition
from tests.web.conftest import csrf_of, login

ARTICLE = {
    "title": "Contester une facture",
    "body": "# Étapes\n\nVérifier le **relevé**.\n\n<script>alert(1)</script> [piège](javascript:alert(1))",
    "tags": ["queue:ventes", "ivr:accueil/menu:2"],
    "comment": "première version",
}


@pytest.fixture
async def kb_app(web_app):
    runtime = web_app.app[RUNTIME]
    for name in ("ventes", "support"):
        await runtime.acd.create_queue(QueueDefinition(name), "admin1")
    runtime.acd_repo.give_scope("supervisor1", "queue", "ventes")
    return web_app


async def send(client, method, url, body=None):
    headers = {"X-CSRF-Token": await csrf_of(client)}
    return await client.request(method, url, json=body if body is not None else {}, headers=headers)


async def test_supervisor_writes_in_scope_and_everyone_reads_sanitised(kb_app):
    sup = await login(kb_app, "supervisor1")
    created = await send(sup, "POST", "/api/knowledge", ARTICLE)
    assert created.status == 201, await created.text()
    article = await created.json()
    assert article["revision"] == 1 and article["created_by"] == "supervisor1"

    agent = await login(kb_app, "agent1")
    found = await (await agent.get("/api/knowledge", params={"q": "factures"})).json()
    assert [r["title"] for r in found["results"]] == ["Contester une facture"]
    shown = await (await agent.get(f"/api/knowledge/{article['id']}")).json()
    assert "<strong>relevé</strong>" in shown["html"] and "<script" not in shown["html"]
    assert "href" not in shown["html"] and shown["can_edit"] is False
    page = await (await agent.get("/knowledge", params={"q": "facturation", "id": article["id"]})).text()
    assert "<h1>Étapes</h1>" in page and "<script>alert(1)</script>" not in page
    assert f"/knowledge/{article['id']}/edit" not in page and "/knowledge/new" not in page


async def test_agent_cannot_write(kb_app):
    agent = await login(kb_app, "agent1")
    assert (await send(agent, "POST", "/api/knowledge", ARTICLE)).status == 403
    assert (await agent.get("/knowledge/new")).status == 403


async def test_supervisor_outside_scope_is_refused_and_nothing_written(kb_app):
    sup = await login(kb_app, "supervisor1")
    for tags in (["queue:support"], ["queue:ventes", "queue:support"], ["disposition:resolu"]):
        refused = await send(sup, "POST", "/api/knowledge", {**ARTICLE, "tags": tags})
        assert refused.status == 403, tags
        assert (await refused.json())["details"]["field"] == "tags"
    admin = await login(kb_app, "admin1")
    other = await (await send(admin, "POST", "/api/knowledge", {**ARTICLE, "tags": ["queue:support"]})).json()
    edit = await send(sup, "PUT", f"/api/knowledge/{other['id']}", {**ARTICLE, "tags": ["queue:ventes"]})
    assert edit.status == 403
    assert (await sup.get(f"/knowledge/{other['id']}/edit")).status == 403
    assert (await sup.get(f"/api/knowledge/{other['id']}/revisions")).status == 403
    listed = await (await admin.get("/api/knowledge")).json()
    assert [r["tags"][0]["value"] for r in listed["results"]] == ["support"]


async def test_supervisor_cannot_move_an_article_out_of_scope(kb_app):
    sup = await login(kb_app, "supervisor1")
    mine = await (await send(sup, "POST", "/api/knowledge", ARTICLE)).json()
    moved = await send(
        sup, "PUT", f"/api/knowledge/{mine['id']}", {**ARTICLE, "tags": ["queue:support"], "revision": 1}
    )
    assert moved.status == 403
    assert (await (await sup.get(f"/api/knowledge/{mine['id']}")).json())["revision"] == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"body": "   "}, "body"),
        ({"tags": ["queue:inconnue"]}, "tags"),
        ({"tags": ["couleur:rouge"]}, "tags"),
        ({"tags": ["ivr:${EXTEN}"]}, "tags"),
        ({"title": "x" * 201}, "title"),
    ],
)
async def test_bad_article_names_the_field(kb_app, change, field):
    admin = await login(kb_app, "admin1")
    refused = await send(admin, "POST", "/api/knowledge", {**ARTICLE, **change})
    assert refused.status == 400
    assert (await refused.json())["details"]["field"] == field
    assert (await (await admin.get("/api/knowledge")).json())["results"] == []


async def test_bad_search_names_the_field(kb_app):
    agent = await login(kb_app, "agent1")
    refused = await agent.get("/api/knowledge", params={"q": "le la de"})
    assert refused.status == 400 and (await refused.json())["details"]["field"] == "q"
    assert (await agent.get("/api/knowledge", params={"q": "x", "limit": "500"})).status == 400
    page = await agent.get("/knowledge", params={"q": "le la"})
    assert page.status == 200 and "meaningful word" in await page.text()
    assert (await agent.get("/api/knowledge/abc")).status == 400
    assert (await agent.get("/api/knowledge/4242")).status == 404


async def test_edit_history_diff_and_restore(kb_app):
    sup = await login(kb_app, "supervisor1")
    article = await (await send(sup, "POST", "/api/knowledge", ARTICLE)).json()
    url = f"/api/knowledge/{article['id']}"
    edited = await send(sup, "PUT", url, {**ARTICLE, "body": "Nouveau texte", "comment": "simplifié", "revision": 1})
    assert edited.status == 200 and (await edited.json())["revision"] == 2
    stale = await send(sup, "PUT", url, {**ARTICLE, "body": "Écrasé ?", "revision": 1})
    assert stale.status == 409 and (await stale.json())["error"] == "article-changed"

    revisions = await (await sup.get(url + "/revisions")).json()
    assert [(r["number"], r["author"], r["action"], r["comment"]) for r in revisions] == [
        (2, "supervisor1", "edit", "simplifié"),
        (1, "supervisor1", "create", "première version"),
    ]
    second = await (await sup.get(url + "/revisions/2")).json()
    assert "+Nouveau texte" in second["diff"] and "-Vérifier le **relevé**." in second["diff"]

    admin = await login(kb_app, "admin1")
    restored = await send(admin, "POST", url + "/revisions/1/restore")
    assert restored.status == 200
    now = await (await admin.get(url)).json()
    assert now["revision"] == 3 and now["body"] == ARTICLE["body"] and now["updated_by"] == "admin1"
    history = await (await admin.get(f"/knowledge/{article['id']}/history")).text()
    assert "restauration de la révision 1" in history and "simplifié" in history
    entries = kb_app.app[RUNTIME].audit.list()
    assert {"knowledge.create", "knowledge.edit", "knowledge.restore"} <= {e.action for e in entries}


async def test_suggestions_follow_the_call_queue_and_ivr_path(kb_app):
    admin = await login(kb_app, "admin1")
    await send(admin, "POST", "/api/knowledge", {**ARTICLE, "title": "Menu 2", "tags": ["ivr:accueil/menu:2"]})
    await send(admin, "POST", "/api/knowledge", {**ARTICLE, "title": "File support", "tags": ["queue:support"]})
    await send(admin, "POST", "/api/knowledge", {**ARTICLE, "title": "File ventes", "tags": ["queue:ventes"]})
    agent = await login(kb_app, "agent1")
    params = {"queue": "support", "ivr_script": "accueil", "menu_path": "menu:2"}
    found = await (await agent.get("/api/knowledge/suggestions", params=params)).json()
    assert [r["title"] for r in found["results"]] == ["Menu 2", "File support"]
    junk = {"queue": "x\r\nAction: Hangup", "ivr_script": "${EXTEN}", "menu_path": "';--"}
    assert (await (await agent.get("/api/knowledge/suggestions", params=junk)).json())["results"] == []


async def test_import_is_all_or_nothing(kb_app):
    admin = await login(kb_app, "admin1")
    good = {"title": "A", "body": "a", "tags": []}
    refused = await send(admin, "POST", "/api/knowledge/import", {"articles": [good, {"title": "", "body": "b"}]})
    assert refused.status == 400 and (await refused.json())["details"]["field"] == "articles[1]"
    assert (await (await admin.get("/api/knowledge")).json())["results"] == []
    created = await send(admin, "POST", "/api/knowledge/import", {"articles": [good, {**good, "title": "B"}]})
    assert created.status == 201 and len((await created.json())["created"]) == 2
