"""The audit log viewer and API (admins only), and the events a user would look for in it:
logins and failures with their client address (IPv6 behind a trusted proxy), exports, a
recording listened to, a configuration change with before and after, an erasure."""

from __future__ import annotations

import csv
import io

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from ccserver.adapters.web.app import create_app
from ccserver.adapters.web.keys import RUNTIME
from ccserver.app import Runtime
from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.capabilities.audit.model import Filters
from ccserver.settings import Settings
from tests.support.web import post_login
from tests.web.conftest import PASSWORD, csrf_of, login
from tests.web.test_recording_web import recorded  # noqa: F401  (a stored recording)

AUDIT_ROUTES = ("/admin/audit", "/api/audit", "/api/audit.csv", "/api/audit/verify")


@pytest.fixture
async def proxied_app(tmp_path):
    """The app behind a reverse proxy on this machine, trusted for X-Forwarded-For."""
    settings = Settings().replace({"storage.data_dir": tmp_path, "web.trusted_proxies": "127.0.0.1/32, ::1/128"})
    runtime = Runtime(settings, endpoint=None)
    server = TestServer(create_app(runtime))
    await server.start_server()
    runtime.users.create_user("admin1", PASSWORD, role="admin")
    yield server
    await server.close()


def entries(server: TestServer, **filters) -> list:
    return server.app[RUNTIME].audit.search(Filters(**filters), limit=500)


async def test_only_admins_see_the_audit_log(web_app):
    clients = []
    for role in ("agent", "supervisor"):
        client = await login(web_app, f"{role}1")
        clients.append(client)
        for path in AUDIT_ROUTES:
            resp = await client.get(path)
            assert resp.status == 403, (role, path)
    admin = await login(web_app, "admin1")
    for path in AUDIT_ROUTES:
        assert (await admin.get(path)).status == 200, path
    anonymous = TestClient(web_app)
    await anonymous.start_server()
    assert (await anonymous.get("/api/audit", allow_redirects=False)).status == 401
    assert not entries(web_app, action="audit.export", actor="agent1")  # a refused export logs nothing
    for client in (*clients, admin, anonymous):
        await client.close()


async def test_a_login_failure_from_an_ipv6_client_behind_the_proxy_is_logged(proxied_app):
    client = TestClient(proxied_app)
    await client.start_server()
    resp = await post_login(client, "admin1", "wrong password", headers={"X-Forwarded-For": "2001:DB8:0:0::7"})
    assert resp.status == 401
    [failed] = entries(proxied_app, action="login.failed")
    assert (failed.actor, failed.target, failed.client_address) == ("admin1", "admin1", "2001:db8::7")
    resp = await post_login(client, "admin1", PASSWORD, headers={"X-Forwarded-For": "203.0.113.9, 2001:db8::8"})
    assert resp.status == 302
    [ok] = [e for e in entries(proxied_app, actor="admin1") if e.action == "login"]
    assert ok.client_address == "2001:db8::8"  # the hop the proxy saw
    await client.close()


async def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(web_app):
    client = TestClient(web_app)
    await client.start_server()
    await post_login(client, "nobody\r\nforged", "x" * 10, headers={"X-Forwarded-For": "2001:db8::66"})
    [failed] = entries(web_app, action="login.failed")
    assert failed.client_address == "127.0.0.1"  # the TCP peer, not what the client claims
    assert failed.actor == "nobodyforged"  # no control characters reach the log
    await client.close()


async def test_page_filters_pages_and_shows_the_chain_intact(web_app):
    runtime = web_app.app[RUNTIME]
    for i in range(60):
        runtime.audit.record("robot", "queue.update", f"q{i}", before={"n": i}, after={"n": i + 1})
    admin = await login(web_app, "admin1")
    page = await (await admin.get("/admin/audit?actor=robot")).text()
    assert 'data-ok="yes"' in page and "Chaîne intacte" in page
    assert page.count('data-action="queue.update"') == 50
    assert "60 entrées · page 1 / 2" in page
    assert 'href="/admin/audit?actor=robot&amp;page=2"' in page
    page2 = await (await admin.get("/admin/audit?actor=robot&page=2")).text()
    assert page2.count('data-action="queue.update"') == 10 and "q0" in page2
    page = await (await admin.get("/admin/audit?target=q7")).text()
    assert page.count('data-action="queue.update"') == 1 and '{"after": {"n": 8}, "before": {"n": 7}}' in page
    data = await (await admin.get("/api/audit", params={"action": "login", "actor": "admin1"})).json()
    assert data["total"] == 1 and data["entries"][0]["client_address"] == "127.0.0.1"
    data = await (await admin.get("/api/audit", params={"q": "q59", "size": "5"})).json()
    assert [e["target"] for e in data["entries"]] == ["q59"] and data["size"] == 5
    resp = await admin.get("/api/audit", params={"from": "last week"})
    assert resp.status == 400 and (await resp.json())["details"]["field"] == "from"
    resp = await admin.get("/admin/audit?size=9999")
    assert resp.status == 400 and "size" in await resp.text()
    await admin.close()


async def test_verify_names_the_entry_tampered_with_sql(web_app):
    runtime = web_app.app[RUNTIME]
    admin = await login(web_app, "admin1")
    victim = runtime.audit.record("admin1", "queue.update", "sales", before={"x": 1}, after={"x": 2})
    runtime.audit.record("admin1", "queue.update", "support")
    assert (await (await admin.get("/api/audit/verify")).json())["ok"] is True
    with runtime.database.write_session() as session:
        session.execute(text("UPDATE audit_log SET details = '{}' WHERE id = :id"), {"id": victim.id})
    verdict = await (await admin.get("/api/audit/verify")).json()
    assert verdict["ok"] is False and verdict["broken"]["id"] == victim.id
    assert verdict["broken"]["at"] == victim.at.isoformat()
    page = await (await admin.get("/admin/audit")).text()  # the page's check is at most a minute old
    assert 'data-ok="no"' in page and f'id="chain-broken-id">{victim.id}<' in page
    await admin.close()


async def test_csv_export_neutralises_formulas_and_is_itself_logged(web_app):
    runtime = web_app.app[RUNTIME]
    runtime.audit.record('=HYPERLINK("http://evil")', "customer.create", "@SUM(1+1)", note="+cmd")
    runtime.audit.record("bob", "customer.create", "-1")
    admin = await login(web_app, "admin1")
    resp = await admin.get("/api/audit.csv", params={"action": "customer"})
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in resp.headers["Content-Disposition"]
    body = (await resp.read()).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:5] == ["id", "at", "actor", "action", "target"]
    assert [r[2:5] for r in rows[1:]] == [
        ['\'=HYPERLINK("http://evil")', "customer.create", "'@SUM(1+1)"],
        ["bob", "customer.create", "'-1"],
    ]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    [export] = entries(web_app, action="audit.export")
    assert export.actor == "admin1" and export.details_dict == {"filters": {"action": "customer"}}
    assert export.client_address == "127.0.0.1"
    resp = await admin.get("/api/audit.csv", params={"to": "nope"})
    assert resp.status == 400 and len(entries(web_app, action="audit.export")) == 1  # nothing logged
    await admin.close()


async def test_a_recording_listened_to_or_downloaded_is_logged_with_the_address(web_app, recorded):
    _runtime, rid, data = recorded
    admin = await login(web_app, "admin1")
    resp = await admin.get(f"/recordings/{rid}/audio")
    assert resp.status == 200 and await resp.read() == data
    [played] = entries(web_app, action="recording.play")
    assert (played.actor, played.target, played.client_address) == ("admin1", str(rid), "127.0.0.1")
    assert played.details_dict["range"] == "all"  # the whole file: a download
    await admin.close()


async def test_a_decisions_export_is_logged(web_app):
    admin = await login(web_app, "admin1")
    resp = await admin.get("/api/outbound/decisions.csv")
    assert resp.status == 200
    await resp.read()
    [export] = entries(web_app, action="export.decisions")
    assert export.actor == "admin1" and export.client_address == "127.0.0.1"
    await admin.close()


async def test_a_queue_change_is_logged_with_before_and_after(web_app):
    runtime = web_app.app[RUNTIME]
    await runtime.acd.create_queue(QueueDefinition(name="sales", ring_seconds=15), "admin1")
    await runtime.acd.update_queue(QueueDefinition(name="sales", ring_seconds=25, wrapup_seconds=10), "admin1")
    [change] = entries(web_app, action="queue.update")
    assert change.details_dict == {
        "before": {"ring_seconds": 15, "wrapup_seconds": 0},
        "after": {"ring_seconds": 25, "wrapup_seconds": 10},
    }


async def test_an_erasure_is_logged_and_the_chain_still_holds(web_app):
    runtime = web_app.app[RUNTIME]
    customer = runtime.customers.create_customer(phones=["0612345678"], last_name="Martin")
    runtime.audit.record("agent1", "customer.view", f"customer:{customer.id}", number="+33612345678")
    runtime.audit.record("agent1", "login", "agent1")
    admin = await login(web_app, "admin1")
    resp = await admin.post(
        f"/api/customers/{customer.id}/erase", json={}, headers={"X-CSRF-Token": await csrf_of(admin)}
    )
    assert resp.status == 200, await resp.text()
    erased = entries(web_app, action="customer.erase")
    assert erased and erased[0].actor == "admin1" and erased[0].client_address == "127.0.0.1"
    assert "+33612345678" not in str([e.details for e in entries(web_app)])
    assert (await (await admin.get("/api/audit/verify")).json())["ok"] is True
    await admin.close()
