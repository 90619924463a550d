"""Click-to-dial API (`POST /api/calls/dial`) on a web app with a recording fake PBX: roles, the
caller's access to the customer, ticket, callback or campaign contact, validation errors naming
the field, the compliance engine's refusal, and nothing changed when the call is not placed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from ccserver.adapters.web.keys import RUNTIME
from ccserver.core.errors import PbxUnavailable
from tests.fakes.pbx import FakePbx
from tests.support.server import until
from tests.web.conftest import PASSWORD, login

TRUNK = "sip:{number}@127.0.0.1:5999"


@pytest.fixture
async def center(web_app):
    rt = web_app.app[RUNTIME]
    pbx = FakePbx()
    rt.click_to_dial.pbx = pbx
    rt.outbound.dialer.pbx = pbx
    rt.outbound.dialer.dial_uri = TRUNK
    for name in ("alice", "bob"):
        await rt.acd.create_agent(name, PASSWORD, name.title(), {}, "admin1")
    customer = rt.customers.create_customer(phones=["06 12 34 56 78", "01 45 67 89 01"], last_name="Dupont")
    return rt, pbx, customer


async def dial(client, body):
    return await client.post("/api/calls/dial", json=body, headers={"X-CSRF-Token": client.csrf})


async def test_agent_dials_a_customer_file_their_phone_first_then_the_trunk(web_app, center):
    rt, pbx, customer = center
    client = await login(web_app, "alice")
    resp = await dial(client, {"customer_id": customer.id, "phone": "01 45 67 89 01"})
    assert resp.status == 201, await resp.text()
    result = await resp.json()
    assert result["number"] == "+33145678901" and result["kind"] == "service"
    (request,) = pbx.originated
    alice = rt.acd_repo.sip_account_of("alice")
    assert request.channel == alice.interface  # the agent's own phone rings first
    assert request.context == "ccserver-clicktodial" and request.channel_id == result["uniqueid"]
    assert request.variables["CCS_DIAL"] == "PJSIP/customers/sip:0145678901@127.0.0.1:5999"
    assert request.timeout_ms > 0
    # an outbound call record of this agent and customer, written by the calls writer
    await until(lambda: rt.acd_repo.call(result["uniqueid"]) and rt.acd_repo.call(result["uniqueid"]).agent, 5)
    row = rt.acd_repo.call(result["uniqueid"])
    assert (row.direction, row.agent, row.caller_number, row.customer_id) == (
        "outbound",
        "alice",
        "+33145678901",
        customer.id,
    )
    (entry,) = rt.audit.list(actor="alice", action="call.dial")
    assert entry.target == f"customer:{customer.id}"
    # one call at a time from a desk
    resp = await dial(client, {"customer_id": customer.id})
    assert resp.status == 409 and (await resp.json())["error"] == "already-on-call"


async def test_a_double_click_places_one_call(web_app, center):
    rt, pbx, customer = center
    client = await login(web_app, "alice")
    first, second = await asyncio.gather(
        dial(client, {"customer_id": customer.id}), dial(client, {"customer_id": customer.id})
    )
    assert sorted([first.status, second.status]) == [201, 409]
    refused = first if first.status == 409 else second
    assert (await refused.json())["error"] == "already-on-call"
    assert len(pbx.originated) == 1


async def test_ticket_dials_its_customer(web_app, center):
    rt, pbx, customer = center
    ticket = rt.customers.open_ticket(customer.id, None, "Panne")
    client = await login(web_app, "bob")
    resp = await dial(client, {"ticket_id": ticket.id})
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["number"] == "+33612345678"
    resp = await dial(client, {"ticket_id": 9999})
    assert resp.status == 404 and (await resp.json())["error"] == "no-such-ticket"


@pytest.mark.parametrize(
    ("body", "status", "error", "field"),
    [
        ({}, 400, "invalid-input", "target"),
        ({"channel": "PJSIP/bob"}, 400, "invalid-input", "channel"),
        ({"customer_id": 1, "ticket_id": 1}, 400, "invalid-input", "ticket_id"),
        ({"customer_id": "x"}, 400, "invalid-input", "customer_id"),
        ({"customer_id": 1, "phone": "06 99 99 99 99"}, 400, "invalid-input", "phone"),
        ({"number": "06 12\r\nAction: Originate"}, 400, "invalid-input", "number"),
        ({"number": "06 00 00 00 01"}, 404, "unknown-number", "number"),
        ({"customer_id": 999}, 404, "no-such-customer", None),
        ({"callback_id": 999}, 404, "no-such-callback", "callback_id"),
    ],
)
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_dialled(
    web_app, center, body, status, error, field
):
    rt, pbx, customer = center
    client = await login(web_app, "alice")
    resp = await dial(client, body)
    data = await resp.json()
    assert resp.status == status, data
    assert data["error"] == error
    if field:
        assert data["details"]["field"] == field
    assert pbx.originated == []
    (entry,) = rt.audit.list(actor="alice", action="call.dial-refused")
    assert entry.details_dict["error"] == error


async def test_without_login_or_agent_phone_nothing_is_dialled(web_app, center):
    rt, pbx, customer = center
    client = await login(web_app, "supervisor1")  # no agent account: no phone of their own
    resp = await dial(client, {"customer_id": customer.id})
    assert resp.status == 409 and (await resp.json())["error"] == "no-agent-phone"
    resp = await client.post("/api/calls/dial", json={"customer_id": customer.id})  # no CSRF token
    assert resp.status == 403
    assert pbx.originated == []


async def test_customer_without_number_or_pbx_down_is_a_clear_error(web_app, center):
    rt, pbx, customer = center
    nameless = rt.customers.create_customer(customer_number="12345678", last_name="Sansnumero")
    client = await login(web_app, "alice")
    resp = await dial(client, {"customer_id": nameless.id})
    assert resp.status == 409 and (await resp.json())["error"] == "no-phone-number"
    pbx.fail_next("originate", PbxUnavailable("AMI is down"))
    resp = await dial(client, {"customer_id": customer.id})
    assert resp.status == 503 and (await resp.json())["error"] == "pbx-unavailable"
    assert rt.click_to_dial.calls.live == {}  # nothing followed, no record
    assert rt.acd_repo.calls() == []


async def test_callbacks_are_dialled_by_their_holder_or_their_queue_only(web_app, center):
    rt, pbx, customer = center
    entered = datetime.now(UTC)
    mine = rt.acd_repo.add_callback("sales", "0612345678", "1.1", entered)
    rt.acd_repo.update_callback(mine, agent="alice")
    other = rt.acd_repo.add_callback("support", "0611111111", "1.2", entered)
    client = await login(web_app, "alice")
    listed = await (await client.get("/api/calls/dial/callbacks")).json()
    assert [(c["kind"], c["id"]) for c in listed] == [("callback", mine)]
    resp = await dial(client, {"callback_id": other})
    assert resp.status == 403, await resp.text()
    resp = await dial(client, {"callback_id": mine})
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["customer_id"] == customer.id  # the callback's number is Dupont's
    row = next(r for r in rt.acd_repo.callbacks() if r.id == mine)
    assert (row.status, row.agent) == ("done", "alice")  # the queue will not dial it again
    resp = await dial(client, {"callback_id": mine})  # called back meanwhile: nothing to call
    assert resp.status == 409 and (await resp.json())["error"] == "callback-closed"
    sup = await login(web_app, "supervisor1")
    assert await (await sup.get("/api/calls/dial/callbacks")).json() == []  # no scope
    admin = await login(web_app, "admin1")
    assert [c["id"] for c in await (await admin.get("/api/calls/dial/callbacks")).json()] == [other]


async def test_failed_originate_gives_the_callback_back_to_the_queue(web_app, center):
    rt, pbx, customer = center
    callback = rt.acd_repo.add_callback("sales", "0612345678", "1.1", datetime.now(UTC))
    rt.acd_repo.update_callback(callback, agent="alice")
    pbx.fail_next("originate", PbxUnavailable("AMI is down"))
    client = await login(web_app, "alice")
    resp = await dial(client, {"callback_id": callback})
    assert resp.status == 503
    row = next(r for r in rt.acd_repo.callbacks() if r.id == callback)
    assert row.status == "pending"


async def test_campaign_contact_without_consent_is_refused_with_the_engines_reason(web_app, center):
    rt, pbx, customer = center
    out = rt.outbound
    campaign = await out.campaigns.create_campaign(
        "Automne", {"mode": "preview", "caller_ids": ["0162000001"]}, "admin1"
    )
    preview = await out.campaigns.preview_import(
        campaign["id"], b"numero;nom\n0612000001;Mme Test\n", "c.csv", "utf-8", "admin1"
    )
    await out.campaigns.commit_import(preview["import_id"], "admin1")
    (contact,) = out.repo.contacts(campaign["id"])[0]
    now = datetime.now(UTC)
    out.repo.update_contact(
        contact.id, now, status="callback", callback_agent="alice", next_attempt_at=now - timedelta(minutes=1)
    )
    client = await login(web_app, "bob")  # not his contact
    assert await (await client.get("/api/calls/dial/callbacks")).json() == []
    resp = await dial(client, {"contact_id": contact.id})
    assert resp.status == 403, await resp.text()
    client = await login(web_app, "alice")
    listed = await (await client.get("/api/calls/dial/callbacks")).json()
    assert [(c["kind"], c["id"], c["name"]) for c in listed] == [("contact", contact.id, "Mme Test")]
    resp = await dial(client, {"contact_id": contact.id})
    data = await resp.json()
    assert resp.status == 409 and data["error"] == "call-forbidden", data
    assert "consent.required" in data["details"]["rules"]
    assert "consent.required" in data["message"]
    assert pbx.originated == []
    assert out.repo.contact(contact.id).status == "callback"  # as it was
    assert out.repo.attempts_of_contact(contact.id) == []
    (entry,) = rt.audit.list(actor="alice", action="call.dial-refused")
    assert entry.target == f"contact:{contact.id}" and entry.details_dict["error"] == "call-forbidden"
