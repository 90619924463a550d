"""The knowledge base on the agent desk, on the real Asterisk: a sipp caller walks the shipped
IVR (Français > Assistance technique > Internet) to the queue support; while the agent's sipp
phone rings, their desk in Chromium suggests the article of that IVR choice first, then the
queue's, never another queue's; the agent opens one (rendered, sanitised) and searches."""

from __future__ import annotations

import asyncio

import pytest

from ccserver.capabilities.knowledge.model import validate_draft
from tests.integration.test_inbound import log_in as log_in_queues
from tests.integration.test_inbound import start_phones
from tests.support.browser import chromium, log_in
from tests.support.ivr_walk import RING_SECONDS, add_customer, add_demo_queues, ivr_server, walking_caller
from tests.support.server import until
from tests.support.sipp import Answer

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]

ARTICLES = [
    (
        "Internet coupé : redémarrer la box",
        "**Débrancher** la box 10 secondes.",
        ["ivr:service-client/menu_technique:1"],
    ),
    ("Accueil du support", "Saluer le client et vérifier son *numéro client*.", ["queue:support"]),
    ("Offres du moment", "Réservé aux ventes.", ["queue:ventes"]),
]


async def test_desk_suggests_the_articles_of_the_calls_ivr_choice_and_queue(asterisk, tmp_path):
    async with ivr_server(asterisk, tmp_path) as srv:
        rt = srv.runtime
        await until(srv.ok, 15)
        await add_demo_queues(rt, ["astreinte", "service-client"])
        ids = {}
        for title, body, tags in ARTICLES:
            draft = validate_draft({"title": title, "body": body, "tags": tags})
            ids[title] = (await asyncio.to_thread(rt.knowledge.repository.add, draft, "admin")).id
        account = await rt.acd.create_agent(
            "alice", "password-1234", "Alice Martin", {"fr": 9, "tech": 8, "billing": 3}, actor="admin"
        )
        phones = await start_phones(
            asterisk, {"alice": account}, alice=Answer(ring_seconds=RING_SECONDS, talk_seconds=3)
        )
        try:
            await log_in_queues(rt, "alice")
            await add_customer(rt, last_name="Lefèvre")  # the IVR's path goes on with the number typed
            async with chromium() as browser:
                page = await browser.new_page()
                await log_in(page, srv.base_url, "alice", "password-1234")
                await page.goto(srv.base_url + "/agent")
                await page.wait_for_function("() => document.body.dataset.live === 'yes'")
                assert await page.is_hidden("#kb-suggestions-box")

                caller = walking_caller(asterisk)
                await caller.start()
                await page.wait_for_selector("#kb-suggestions li[data-id]", timeout=25_000)
                suggested = await page.eval_on_selector_all(
                    "#kb-suggestions li[data-id] a", "links => links.map(a => a.textContent)"
                )
                assert suggested == ["Internet coupé : redémarrer la box", "Accueil du support"]
                assert phones["alice"].calls_answered == 0  # shown while the phone rings

                await page.click("#kb-suggestions li[data-id] a >> nth=0")
                await page.wait_for_selector("#kb-desk-article .kb-body strong:has-text('Débrancher')")
                await page.fill("#kb-desk-q", "debranche")
                await page.press("#kb-desk-q", "Enter")
                await page.wait_for_selector(f"#kb-desk-results li[data-id='{ids[ARTICLES[0][0]]}']")
                assert (await caller.wait(30)).answered
        finally:
            for phone in phones.values():
                await phone.stop()
