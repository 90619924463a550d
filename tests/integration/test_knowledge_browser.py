"""The knowledge base in a real Chromium: a supervisor writes an article whose Markdown carries a
script, a javascript: link and an onerror image (none of them runs for the agent who reads it),
edits it, sees the diff in the history and restores the first revision; an agent finds it by an
inflected, unaccented word."""

from __future__ import annotations

import asyncio

import pytest

from ccserver.app import Runtime
from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.settings import Settings
from tests.support.browser import chromium, log_in, served_app

pytestmark = pytest.mark.browser

PASSWORD = "password-1234"
HOSTILE = (
    "Vérifier la **facturation** du mois.\n\n"
    "<script>window.pwned = 'script'</script>\n\n"
    "[cliquer](javascript:window.pwned='link')\n\n"
    '<img src="x" onerror="window.pwned=\'img\'">\n\n'
    "![image](x\" onerror=\"window.pwned='attr')\n\n"
    "[aide](https://exemple.fr/aide)"
)


async def test_supervisor_writes_edits_and_restores_agent_reads_safely(tmp_path):
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None)
    await asyncio.to_thread(runtime.database.upgrade)
    await runtime.acd.create_queue(QueueDefinition("ventes"), "admin")
    for name, role in (("sup", "supervisor"), ("agent", "agent")):
        await asyncio.to_thread(runtime.users.create_user, name, PASSWORD, role=role)
    await asyncio.to_thread(runtime.acd_repo.give_scope, "sup", "queue", "ventes")
    async with served_app(runtime) as base_url, chromium() as browser:
        sup = await (await browser.new_context()).new_page()
        await log_in(sup, base_url, "sup", PASSWORD)
        await sup.goto(base_url + "/knowledge")
        await sup.click("#kb-new")
        await sup.fill("#kb-title", "Contester une facture")
        await sup.fill("#kb-text", HOSTILE)
        await sup.fill("#kb-tags", "queue:support")  # not in sup's scope: refused, named
        await sup.click("#kb-save")
        await sup.wait_for_selector("#kb-form-error:has-text('périmètre')")
        await sup.fill("#kb-tags", "queue:ventes\nivr:accueil/menu:2")
        await sup.fill("#kb-comment", "première version")
        await sup.click("#kb-save")
        await sup.wait_for_selector("#kb-article")
        article_id = await sup.get_attribute("#kb-article", "data-id")

        # edit: the history shows who, the comment and the diff
        await sup.click("#kb-edit")
        await sup.fill("#kb-text", "Nouvelle procédure de facturation.")
        await sup.fill("#kb-comment", "procédure simplifiée")
        await sup.click("#kb-save")
        await sup.wait_for_selector("#kb-body:has-text('Nouvelle procédure')")
        await sup.click("#kb-history")
        await sup.wait_for_selector("#kb-revisions tr[data-number='2'] .kb-comment:has-text('procédure simplifiée')")
        diff = await sup.text_content("#kb-diff")
        assert "+Nouvelle procédure de facturation." in diff and "-Vérifier la **facturation** du mois." in diff
        assert await sup.text_content("#kb-revisions tr[data-number='1'] .kb-author") == "sup"
        await sup.click("#kb-revisions tr[data-number='1'] button.kb-restore")
        await sup.wait_for_selector("#kb-revisions tr[data-number='3'] .kb-comment:has-text('restauration')")

        # the agent finds it by another form of the word, without accents, and reads it safely
        agent = await (await browser.new_context()).new_page()
        dialogs: list[str] = []
        agent.on("dialog", lambda d: (dialogs.append(d.message), asyncio.ensure_future(d.dismiss())))
        await log_in(agent, base_url, "agent", PASSWORD)
        await agent.goto(base_url + "/knowledge")
        await agent.fill("#kb-q", "factures")
        await agent.press("#kb-q", "Enter")
        await agent.click(f"#kb-results li[data-id='{article_id}'] a")
        await agent.wait_for_selector("#kb-body strong:has-text('facturation')")
        assert await agent.query_selector("#kb-edit") is None  # agents read only
        assert await agent.query_selector("#kb-body script, #kb-body [onerror], #kb-body a[href^='javascript']") is None
        assert await agent.get_attribute("#kb-body a:has-text('aide')", "href") == "https://exemple.fr/aide"
        for link in await agent.query_selector_all("#kb-body a"):
            await link.click(modifiers=["Control"])  # opened elsewhere: nothing runs here
        assert await agent.evaluate("() => window.pwned === undefined")
        assert dialogs == []
