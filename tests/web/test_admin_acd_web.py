"""The queue and agent administration pages: forms, errors naming the field, roles."""

from __future__ import annotations

import re

from ccserver.adapters.web.keys import RUNTIME
from ccserver.capabilities.acd.model import sip_password_digests
from tests.support.web import csrf_field
from tests.web.conftest import login


async def form_token(client) -> str:
    page = await client.get("/admin/acd")
    assert page.status == 200
    return csrf_field(await page.text())


async def test_admin_creates_a_queue_and_an_agent_with_a_sip_account(web_app):
    runtime = web_app.app[RUNTIME]
    runtime.acd_repo.add_skill("fr")
    client = await login(web_app, "admin1")
    token = await form_token(client)
    resp = await client.post(
        "/admin/acd/queues",
        data={
            "csrf_token": token,
            "name": "support",
            "display_name": "Support",
            "strategy": "leastrecent",
            "required_skills": "fr:2",
            "numbers": "100, 0140000100",
            "wrapup_seconds": "15",
            "max_wait_seconds": "0",
            "overflow_kind": "none",
            "hours": "mon-fri 08:00-19:00",
            "holidays": "FR",
            "dispositions": "resolved, escalated",
        },
        allow_redirects=False,
    )
    assert resp.status == 303
    [queue] = runtime.acd_repo.queues()
    assert (queue.strategy, dict(queue.required_skills), queue.numbers, dict(queue.hours)) == (
        "leastrecent",
        {"fr": 2},
        ("100", "0140000100"),
        {"mon-fri": "08:00-19:00"},
    )
    resp = await client.post(
        "/admin/acd/agents",
        data={
            "csrf_token": token,
            "username": "zoe",
            "display_name": "Zoé",
            "password": "password-1234",
            "skills": "fr:7",
        },
    )
    assert resp.status == 201
    page = await resp.text()
    # the page shows the SIP password once; the database keeps only its digests
    sip_password = re.search(r"mot de passe <code>([^<]+)</code>", page).group(1)
    account = runtime.acd_repo.agent("zoe")
    assert "zoe" in page and account.sip_password == ""
    assert dict(account.sip_digests) == sip_password_digests("zoe", sip_password)
    await client.close()


async def test_bad_queue_field_is_named_and_nothing_is_saved(web_app):
    runtime = web_app.app[RUNTIME]
    client = await login(web_app, "admin1")
    token = await form_token(client)
    resp = await client.post(
        "/admin/acd/queues",
        data={
            "csrf_token": token,
            "name": "support",
            "strategy": "ringall",
            "required_skills": "klingon:2",
            "wrapup_seconds": "0",
            "overflow_kind": "none",
        },
    )
    assert resp.status == 400
    assert "champ : <strong>required_skills</strong>" in await resp.text()
    resp = await client.post(
        "/admin/acd/queues",
        data={
            "csrf_token": token,
            "name": "support",
            "strategy": "ringall",
            "wrapup_seconds": "soon",
            "overflow_kind": "none",
        },
    )
    assert resp.status == 400 and "wrapup_seconds" in await resp.text()
    assert runtime.acd_repo.queues() == []
    await client.close()


async def test_supervisor_cannot_open_the_admin_page(web_app):
    client = await login(web_app, "supervisor1")
    assert (await client.get("/admin/acd", allow_redirects=False)).status == 403
    await client.close()
