"""Click-to-dial in Chromium: the agent clicks "Appeler" on a customer file; their sipp phone
rings and answers, the customer is dialled, and the desk (another tab) shows the call and the
customer's file. A second click while on the call shows the error on the page. A campaign
callback on the desk that the engine forbids shows its reason, and nothing is dialled."""

from __future__ import annotations

import pytest

from tests.integration.test_clicktodial import CLOSED_HOURS
from tests.integration.test_outbound_dialer import ANSWERS, OPEN_CONSENT_REGIME, PASSWORD, Center
from tests.support.browser import chromium, log_in
from tests.support.calls import callback_contact
from tests.support.sipp import Answer

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]


async def test_agent_clicks_appeler_on_the_customer_file_and_sees_the_call_on_the_desk(asterisk, tmp_path):
    customers = {ANSWERS: Answer(ring_seconds=0.3, talk_seconds=6)}
    async with Center(asterisk, tmp_path, OPEN_CONSENT_REGIME, customers) as center:
        rt = center.runtime
        customer = rt.customers.create_customer(phones=[ANSWERS], first_name="Anne", last_name="Martin")
        ticket = rt.customers.open_ticket(customer.id, None, "Box en panne")
        base = f"http://{center.server.host}:{center.server.port}"
        async with chromium() as browser:
            context = await browser.new_context()
            desk = await context.new_page()
            await log_in(desk, base, center.agent, PASSWORD)
            await desk.goto(base + "/agent")
            await desk.wait_for_function("() => document.body.dataset.live === 'yes'")
            file = await context.new_page()
            await file.goto(f"{base}/customers/{customer.id}")
            await file.click("#identity button.c2d-dial")
            await file.wait_for_selector("#identity .c2d-status:has-text('votre téléphone sonne')")
            # the desk shows the call and the customer's file (screen-pop over the WebSocket)
            await desk.wait_for_selector("#call-card:not([hidden])", timeout=10_000)
            assert await desk.text_content("#call-number") == "+33" + ANSWERS[1:]
            await desk.wait_for_selector("#customer-known:not([hidden])")
            assert "Anne Martin" in await desk.text_content("#customer-name")
            assert "Box en panne" in await desk.text_content("#customer-tickets")
            await center.phone.wait_calls("answered", 1, timeout=10)  # the agent's phone first
            (call,) = await center.customer.wait_calls("answered", 1, timeout=10)
            assert call.dialed == ANSWERS
            await desk.wait_for_selector("#c2d-call-state:has-text('Client en ligne')", timeout=10_000)
            # one call at a time: the ticket's button says why, nothing else is dialled
            await file.click(f"article[data-ticket='{ticket.id}'] button.c2d-dial")
            await file.wait_for_selector("#tickets .c2d-error:has-text('Appel impossible')")
            assert "already" in await file.text_content("#tickets .c2d-error")
            # the desk's screen-pop offers "Appeler" on the ticket too, with the same refusal now
            await desk.click("#customer-tickets button.c2d-dial")
            await desk.wait_for_selector("#screen-pop .c2d-error:has-text('Appel impossible')")
            assert rt.click_to_dial.placed == 1
            # the customer hangs up after 6 s: the desk says the call ended
            await desk.wait_for_selector("#c2d-call-state:has-text('Appel terminé')", timeout=15_000)


async def test_desk_callback_the_engine_forbids_shows_the_reason_and_dials_nothing(asterisk, tmp_path):
    customers = {ANSWERS: Answer(ring_seconds=0.3, talk_seconds=2)}
    async with Center(asterisk, tmp_path, CLOSED_HOURS, customers) as center:
        service = center.service
        contact = await callback_contact(center, "Relance", ANSWERS, "Mme Soir")
        base = f"http://{center.server.host}:{center.server.port}"
        async with chromium() as browser:
            desk = await browser.new_page()
            await log_in(desk, base, center.agent, PASSWORD)
            await desk.goto(base + "/agent")
            await desk.wait_for_selector("#c2d-callbacks-card:not([hidden])")
            assert "Mme Soir" in await desk.text_content("#c2d-callbacks")
            await desk.click("#c2d-callbacks button.c2d-dial")
            await desk.wait_for_selector("#c2d-callbacks-card .c2d-error:has-text('hours.window')")
            assert center.runtime.click_to_dial.placed == 0 and center.service.dialer.originates == 0
            assert center.phone.calls_offered == 0 and center.customer.calls_offered == 0
            assert service.repo.contact(contact.id).status == "callback"
