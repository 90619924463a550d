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
    assert re.search(r"ligne 15, nœud ventes : unknown queue &#39;inconnue&#39;", page)
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
    assert "casse-web.yaml:15: nœud ventes : unknown queue" in page
    form = FormData()
    form.add_field("csrf_token", token)
    form.add_field("script", SCRIPT.replace('version: "1"', 'version: "3"').encode(), filename="accueil-web.yaml")
    resp = await client.post("/ivr/upload", data=form, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/ivr?activated=accueil-web"
    assert "Script accueil-web activé" in await (await client.get(resp.headers["Location"])).text()
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
