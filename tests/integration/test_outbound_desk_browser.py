"""Preview dialing from the agent desk in Chromium: join the campaign, see the next contact,
click "Appeler": the agent's phone rings first, then the customer is dialed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ccserver.capabilities.callcenter.model import WrapupCode
from tests.integration.test_outbound_dialer import ANSWERS, OPEN_CONSENT_REGIME, PASSWORD, Center
from tests.support.browser import chromium, log_in
from tests.support.server import until
from tests.support.sipp import Answer

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]


async def test_agent_previews_and_calls_a_contact_from_the_desk(asterisk, tmp_path):
    customers = {ANSWERS: Answer(ring_seconds=0.3, talk_seconds=2)}
    async with Center(asterisk, tmp_path, OPEN_CONSENT_REGIME, customers) as center:
        service = center.service
        campaign = await service.campaigns.create_campaign(
            "Relance fibre", {"mode": "preview", "caller_ids": ["0162000001"]}, "super1"
        )
        cid = campaign["id"]
        preview = await service.campaigns.preview_import(
            cid, f"numero;nom\n{ANSWERS};Mme Aperçu\n".encode(), "p.csv", "utf-8", "super1"
        )
        await service.campaigns.commit_import(preview["import_id"], "super1")
        await service.oppositions.record_consent(
            number=ANSWERS, source="web", proof_ref="P-1", actor="super1", at=center.clock.now() - timedelta(days=1)
        )
        for code, label in (("sale", "Vente"), ("no-sale", "Pas de vente")):  # what an admin defines
            await center.runtime.callcenter.add_wrapup_code(WrapupCode(code, label), "admin", campaign=cid)
        await service.campaigns.set_agents(cid, [center.agent], "super1")
        await service.campaigns.change_status(cid, "start", "super1")
        base = f"http://{center.server.host}:{center.server.port}"
        async with chromium() as browser:
            page = await browser.new_page()
            await log_in(page, base, center.agent, PASSWORD)
            await page.goto(base + "/agent")
            await page.wait_for_selector("#campaigns-card:not([hidden])")
            assert "Relance fibre" in await page.text_content("#my-campaigns")
            await page.click(f"#my-campaigns button[data-campaign='{cid}']")
            await until(
                lambda: f"camp-{cid}" in center.runtime.agent_board.agents[center.agent].queues,
                10,
                "the agent in the campaign's queue",
            )
            await page.click("#btn-preview-next")
            await page.wait_for_selector("#preview-contact:not([hidden])")
            assert await page.text_content("#preview-name") == "Mme Aperçu"
            await page.click("#btn-preview-dial")
            await center.phone.wait_calls("answered", 1, timeout=10)  # the agent's phone first
            (call,) = await center.customer.wait_calls("answered", 1, timeout=10)
            assert call.dialed == ANSWERS and call.caller == "0162000001"
            # the result is one of the campaign's codes, picked on the desk
            await page.wait_for_selector("#attempt-result:not([hidden])")
            options = await page.eval_on_selector_all("#attempt-disposition option", "os => os.map(o => o.value)")
            assert options == ["", "sale", "no-sale"]
            await page.select_option("#attempt-disposition", "sale")
            await page.click("#attempt-result button[type=submit]")
            await page.wait_for_selector("#attempt-saved:has-text('Enregistré')", timeout=5_000)
            (attempt,) = center.runtime.outbound.repo.attempts(cid)
            assert attempt.disposition == "sale"
