"""IVR administration pages and API: scripts, versions, errors with file/line/node, uploads,
per-node statistics; admins change, supervisors only read the statistics."""

from __future__ import annotations

import re
import textwrap

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestServer

from ccserver.adapters.web.app import create_app
from ccserver.app import Runtime
from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.capabilities.ivr.model import CallInfo
from ccserver.settings import Settings
from tests.web.conftest import PASSWORD, csrf_of, login

SCRIPT = textwrap.dedent("""\
    script:
      name: accueil-web
      version: "1"
      entry: menu
      routes:
        extensions: ["7000"]
    nodes:
      menu:
        type: menu
        prompt: hello
        choices:
          "1": {next: ventes, label: Ventes}
      ventes:
        type: queue
        queue: ventes
    """)
BROKEN = SCRIPT.replace("name: accueil-web", "name: cassé-web").replace("queue: ventes", "queue: inconnue")


@pytest.fixture
async def ivr_app(tmp_path):
    scripts = tmp_path / "ivr_scripts"
    scripts.mkdir()
    (scripts / "accueil-web.yaml").write_text(SCRIPT)
    (scripts / "casse.yaml").write_text(
        SCRIPT.replace("name: accueil-web", "name: casse")
        .replace('"7000"', '"7001"')
        .replace("queue: ventes", "queue: inconnue")
    )
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path, "ivr.scripts_dir": scripts}), endpoint=None)
    runtime.database.upgrade()
    runtime.acd_repo.save_queue(QueueDefinition(name="ventes"), create=True)
    server = TestServer(create_app(runtime))
    await server.start_server()
    for role in ("agent", "supervisor", "admin"):
        runtime.users.create_user(f"{role}1", PASSWORD, role=role, display_name=role)
    yield server
    await server.close()


def runtime_of(server):
    from ccserver.adapters.web.keys import RUNTIME

    return server.app[RUNTIME]


async def test_admin_page_lists_scripts_versions_and_refused_files(ivr_app):
    client = await login(ivr_app, "admin1")
    page = await (await client.get("/ivr")).text()
    assert "accueil-web" in page and "ivr_scripts/accueil-web.yaml" in page
    assert "ivr_scripts/casse.yaml" in page
    assert re.search(r"ligne 15, nœud ventes : file inconnue &#39;inconnue&#39;", page)  # in French
    assert 'action="/ivr/upload"' in page
    body = await (await client.get("/api/ivr/scripts")).json()
    assert [s["name"] for s in body["scripts"]] == ["accueil-web"]
    assert body["errors"]["ivr_scripts/casse.yaml"][0]["node"] == "ventes"
    source = await (await client.get("/api/ivr/scripts/accueil-web")).json()
    assert source["source"] == SCRIPT and source["version"] == "1"
    assert (await client.get("/api/ivr/scripts/nope")).status == 404
    await client.close()


async def test_api_upload_refuses_errors_with_file_line_node_then_accepts_a_fix(ivr_app):
    client = await login(ivr_app, "admin1")
    headers = {"X-CSRF-Token": await csrf_of(client)}
    bad = SCRIPT.replace('version: "1"', 'version: "2"').replace("next: ventes", "next: nulle")
    resp = await client.post("/api/ivr/scripts", json={"filename": "accueil-web.yaml", "text": bad}, headers=headers)
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == "invalid-input"
    errors = body["details"]["errors"]
    assert {(e["file"], e["line"], e["node"]) for e in errors} >= {("accueil-web.yaml", 12, "menu")}
    check = await (await client.post("/api/ivr/check", json={"text": bad}, headers=headers)).json()
    assert check["valid"] is False and check["errors"][0]["text"].startswith("<upload>:12: node menu")
    assert runtime_of(ivr_app).ivr.registry.active("accueil-web").version == "1"

    good = SCRIPT.replace('version: "1"', 'version: "2"')
    resp = await client.post("/api/ivr/scripts", json={"filename": "accueil-web.yaml", "text": good}, headers=headers)
    assert resp.status == 201
    info = await resp.json()
    assert info["version"] == "2" and [h["version"] for h in info["history"]] == ["2", "1"]
    resp = await client.post("/api/ivr/scripts", json={"text": good})  # no CSRF token
    assert resp.status == 403
    await client.close()


async def test_form_upload_shows_errors_on_the_page_or_redirects(ivr_app, tmp_path):
    client = await login(ivr_app, "admin1")
    token = await csrf_of(client)
    form = FormData()
    form.add_field("csrf_token", token)
    form.add_field("script", BROKEN.encode(), filename="casse-web.yaml", content_type="application/x-yaml")
    resp = await client.post("/ivr/upload", data=form, allow_redirects=False)
    assert resp.status == 400
    page = await resp.text()
    assert "casse-web.yaml:15: nœud ventes : file inconnue" in page
    form = FormData()
    form.add_field("csrf_token", token)
    form.add_field("script", SCRIPT.replace('version: "1"', 'version: "3"').encode(), filename="accueil-web.yaml")
    form.add_field("comment", "nouvelle étiquette")
    resp = await client.post("/ivr/upload", data=form, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/ivr?activated=accueil-web"
    assert "Script accueil-web activé" in await (await client.get(resp.headers["Location"])).text()
    [latest, _first] = await runtime_of(ivr_app).ivr.history("accueil-web")
    assert (latest.number, latest.author, latest.comment) == (2, "admin1", "nouvelle étiquette")
    await client.close()


async def test_supervisor_reads_statistics_only(ivr_app):
    service = runtime_of(ivr_app).ivr
    call = service.start_call(CallInfo("u1", exten="7000"))
    call.start()
    call.dtmf("1")
    client = await login(ivr_app, "supervisor1")
    stats = (await (await client.get("/api/ivr/stats")).json())["stats"]
    node = stats["accueil-web"]["1"]["nodes"]["menu"]
    assert node["entered"] == 1 and node["choices"] == {"1": 1}
    page = await (await client.get("/ivr")).text()
    assert 'data-node="menu"' in page and "upload" not in page and "casse.yaml" not in page
    headers = {"X-CSRF-Token": await csrf_of(client)}
    assert (await client.get("/api/ivr/scripts")).status == 403
    assert (await client.post("/api/ivr/scripts", json={"text": SCRIPT}, headers=headers)).status == 403
    assert (await client.post("/api/ivr/reload", headers=headers)).status == 403
    agent = await login(ivr_app, "agent1")
    assert (await agent.get("/api/ivr/stats")).status == 403
    assert (await agent.get("/ivr", allow_redirects=False)).status == 403
    await agent.close()
    await client.close()


async def test_reload_rereads_the_directory_and_dialplan_text_is_served(ivr_app, tmp_path):
    client = await login(ivr_app, "admin1")
    headers = {"X-CSRF-Token": await csrf_of(client)}
    runtime_of(ivr_app).acd_repo.save_queue(QueueDefinition(name="inconnue"), create=True)
    body = await (await client.post("/api/ivr/reload", headers=headers)).json()
    assert sorted(body["activated"]) == ["accueil-web", "casse"] and body["errors"] == []
    text = await (await client.get("/api/ivr/dialplan")).text()
    assert "exten => 7001,1,Stasis(ccserver,ivr,casse,exten)" in text
    await client.close()


# --- versions stored in the database: history, diff, rollback (issue 13 item 5) ----------------

V2 = SCRIPT.replace('version: "1"', 'version: "2"').replace('"7000"', '"7002"')


async def test_history_diff_and_rollback_through_the_api(ivr_app):
    client = await login(ivr_app, "admin1")
    headers = {"X-CSRF-Token": await csrf_of(client)}
    body = {"filename": "accueil-web.yaml", "text": V2, "comment": "menu sur 7002"}
    assert (await client.post("/api/ivr/scripts", json=body, headers=headers)).status == 201
    versions = (await (await client.get("/api/ivr/scripts/accueil-web/versions")).json())["versions"]
    assert [(v["number"], v["origin"], v["author"], v["comment"], v["active"]) for v in versions] == [
        (2, "upload", "admin1", "menu sur 7002", True),
        (1, "file", "file", "read from ivr_scripts/accueil-web.yaml", False),
    ]
    assert "content" not in versions[0] and len(versions[0]["checksum"]) == 64
    one = await (await client.get("/api/ivr/scripts/accueil-web/versions/1")).json()
    assert one["content"] == SCRIPT
    diff = (await (await client.get("/api/ivr/scripts/accueil-web/diff?from=1&to=2")).json())["diff"]
    assert '-    extensions: ["7000"]\n+    extensions: ["7002"]\n' in diff

    resp = await client.post(
        "/api/ivr/scripts/accueil-web/rollback", json={"version": 1, "comment": "retour"}, headers=headers
    )
    assert resp.status == 201
    info = await resp.json()
    assert (info["revision"], info["version"], info["history"][0]["comment"]) == (3, "1", "retour")
    assert "exten => 7000,1,Stasis" in await (await client.get("/api/ivr/dialplan")).text()
    runtime = runtime_of(ivr_app)
    [entry] = [e for e in runtime.audit.list() if e.action == "ivr.rollback"]
    assert entry.actor == "admin1" and entry.target == "accueil-web" and '"rollback_of": 1' in entry.details

    again = await client.post("/api/ivr/scripts/accueil-web/rollback", json={"version": 3}, headers=headers)
    assert again.status == 409 and (await again.json())["details"]["field"] == "version"
    bad = await client.post("/api/ivr/scripts/accueil-web/rollback", json={"version": "x"}, headers=headers)
    assert bad.status == 400 and (await bad.json())["details"]["field"] == "version"
    assert (await client.get("/api/ivr/scripts/accueil-web/versions/9")).status == 404
    assert (await client.get("/api/ivr/scripts/ghost/versions")).status == 404
    assert (await client.get("/api/ivr/scripts/accueil-web/diff?from=1")).status == 400
    assert (await client.post("/api/ivr/scripts/accueil-web/rollback", json={"version": 1})).status == 403  # CSRF
    await client.close()


async def test_rollback_to_a_version_naming_a_removed_queue_is_refused_on_the_page(ivr_app):
    from sqlalchemy import text

    runtime = runtime_of(ivr_app)
    runtime.acd_repo.save_queue(QueueDefinition(name="support"), create=True)
    client = await login(ivr_app, "admin1")
    token = await csrf_of(client)
    v2 = SCRIPT.replace('version: "1"', 'version: "2"').replace("queue: ventes", "queue: support")
    resp = await client.post(
        "/api/ivr/scripts", json={"filename": "accueil-web.yaml", "text": v2}, headers={"X-CSRF-Token": token}
    )
    assert resp.status == 201
    with runtime.database.engine.begin() as conn:  # the queue of version 1 is removed since
        conn.execute(text("DELETE FROM queues WHERE name = 'ventes'"))

    page = await (await client.get("/ivr/scripts/accueil-web/history")).text()
    assert 'action="/ivr/scripts/accueil-web/rollback"' in page and "Revenir à v1" in page
    assert "Revenir à v2" not in page  # the running version has no rollback button
    assert '<span class="diff-del">-    queue: ventes</span>' in page  # what v2 changed, by default
    resp = await client.post(
        "/ivr/scripts/accueil-web/rollback", data={"csrf_token": token, "version": "1"}, allow_redirects=False
    )
    assert resp.status == 400
    page = await resp.text()
    assert "version 1 of accueil-web no longer validates (unknown queue &#39;ventes&#39;" in page
    assert "ivr_scripts/accueil-web.yaml:15: nœud ventes : file inconnue" in page
    assert runtime.ivr.registry.active("accueil-web").revision == 2
    assert len(await runtime.ivr.history("accueil-web")) == 2
    await client.close()


async def test_rollback_button_and_diff_form_of_the_history_page(ivr_app):
    client = await login(ivr_app, "admin1")
    token = await csrf_of(client)
    await client.post("/api/ivr/scripts", json={"filename": "x.yaml", "text": V2}, headers={"X-CSRF-Token": token})
    page = await (await client.get("/ivr")).text()
    assert 'href="/ivr/scripts/accueil-web/history"' in page and "v2 — 2" in page
    resp = await client.post(
        "/ivr/scripts/accueil-web/rollback",
        data={"csrf_token": token, "version": "1", "comment": "trop tôt"},
        allow_redirects=False,
    )
    assert resp.status == 303 and resp.headers["Location"] == "/ivr/scripts/accueil-web/history?rolled_back=1"
    page = await (await client.get(resp.headers["Location"])).text()
    assert "Retour à la version 1" in page and "retour à v1" in page and "trop tôt" in page
    page = await (await client.get("/ivr/scripts/accueil-web/history?from=1&to=3")).text()
    assert "v1 et v3 ont le même contenu" in page
    page = await (await client.get("/ivr/scripts/accueil-web/history?from=1&to=2")).text()
    assert '<span class="diff-add">+    extensions: [&#34;7002&#34;]</span>' in page
    await client.close()


async def test_only_admins_reach_the_history(ivr_app):
    clients = []
    for role in ("supervisor1", "agent1"):
        client = await login(ivr_app, role)
        clients.append(client)
        headers = {"X-CSRF-Token": await csrf_of(client), "Accept": "application/json"}
        for method, path, body in (
            ("GET", "/ivr/scripts/accueil-web/history", None),
            ("GET", "/api/ivr/scripts/accueil-web/versions", None),
            ("GET", "/api/ivr/scripts/accueil-web/versions/1", None),
            ("GET", "/api/ivr/scripts/accueil-web/diff?from=1&to=1", None),
            ("POST", "/api/ivr/scripts/accueil-web/rollback", {"version": 1}),
            ("POST", "/ivr/scripts/accueil-web/rollback", None),
        ):
            resp = await client.request(method, path, json=body, headers=headers, allow_redirects=False)
            assert resp.status == 403, (role, method, path)
    for client in clients:
        await client.close()
    assert len(await runtime_of(ivr_app).ivr.history("accueil-web")) == 1


async def test_an_uploaded_version_is_the_one_running_after_a_restart(tmp_path):
    """A new Runtime on the same database and the same ivr_scripts/ runs the uploaded version,
    not the file's."""
    scripts = tmp_path / "ivr_scripts"
    scripts.mkdir()
    (scripts / "accueil-web.yaml").write_text(SCRIPT)
    settings = Settings().replace({"storage.data_dir": tmp_path, "ivr.scripts_dir": scripts})

    async def serve() -> TestServer:
        runtime = Runtime(settings, endpoint=None)
        runtime.database.upgrade()
        if not runtime.acd_repo.queues():
            runtime.acd_repo.save_queue(QueueDefinition(name="ventes"), create=True)
            runtime.users.create_user("admin1", PASSWORD, role="admin", display_name="admin")
        server = TestServer(create_app(runtime))
        await server.start_server()
        return server

    first = await serve()
    client = await login(first, "admin1")
    resp = await client.post(
        "/api/ivr/scripts",
        json={"filename": "accueil-web.yaml", "text": V2, "comment": "7002"},
        headers={"X-CSRF-Token": await csrf_of(client)},
    )
    assert resp.status == 201
    await client.close()
    await first.close()

    second = await serve()
    try:
        service = runtime_of(second).ivr
        running = service.registry.active("accueil-web")
        assert (running.version, running.revision) == ("2", 2)
        assert service.start_call(CallInfo("u1", exten="7002")).script.revision == 2
        client = await login(second, "admin1")
        dialplan = await (await client.get("/api/ivr/dialplan")).text()
        assert "exten => 7002,1,Stasis(ccserver,ivr,accueil-web,exten)" in dialplan and "7000" not in dialplan
        assert (await (await client.get("/api/ivr/scripts/accueil-web")).json())["source"] == V2
        await client.close()
    finally:
        await second.close()
