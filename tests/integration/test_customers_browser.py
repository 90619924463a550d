"""The CSV import in a real Chromium: upload a file with errors, read the report, confirm, watch
the progress bar (fed by the WebSocket) reach 100 % and the final count."""

from __future__ import annotations

import socket
import threading

import pytest
from aiohttp import web
from playwright.async_api import async_playwright

from ccserver.adapters.web.app import create_app
from ccserver.app import Runtime
from ccserver.settings import Settings
from tests.support.browser import ARGS

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ARGS  # the shared flags: a French browser (tests/support/browser.py)
PASSWORD = "correct horse battery"
GOOD_LINES = 1500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def csv_with_errors() -> bytes:
    lines = ["Numéro client;Nom;Prénom;Téléphone;Email;Code postal"]
    for i in range(GOOD_LINES):
        lines.append(
            f"{30000000 + i};Nom{i};Prénom{i};06 {10 + i // 1000000:02d} {i // 10000 % 100:02d} "
            f"{i // 100 % 100:02d} {i % 100:02d};c{i}@example.fr;75011"
        )
    lines.insert(3, "39999991;Lefèvre;Zoé;06 12;zoe@example.fr;75011")  # line 4: short phone
    lines.insert(6, "39999992;Œuvre;Noël;0145678901;noel-at-example.fr;7501")  # line 7: email + postcode
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


@pytest.fixture
async def server(tmp_path):
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None)
    app = create_app(runtime)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    runtime.users.create_user("super1", PASSWORD, role="supervisor", display_name="Super One")

    # the import holds at its first intermediate step until the test has seen the bar there
    # (deterministic: no race between a fast import and the page)
    real_import = runtime.customers.import_customers
    halfway_seen = threading.Event()

    def gated_import(preview, confirm_partial=False, progress=None, **kwargs):
        def gated_progress(done, total):
            progress(done, total)
            if 0 < done < total:
                halfway_seen.wait(20)

        return real_import(preview, confirm_partial, gated_progress, **kwargs)

    runtime.customers.import_customers = gated_import
    runtime.halfway_seen = halfway_seen
    yield f"http://127.0.0.1:{port}", runtime
    await runner.cleanup()


async def test_import_with_errors_in_chromium_shows_report_then_progress_to_100(server):
    base, runtime = server
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            frames: list[str] = []
            page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(payload)))
            await page.goto(base + "/login")
            await page.fill("input[name=username]", "super1")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(base + "/")

            await page.goto(base + "/customers/import")
            await page.set_input_files(
                "input[name=file]", files=[{"name": "clients.csv", "mimeType": "text/csv", "buffer": csv_with_errors()}]
            )
            await page.click("#upload-form button[type=submit]")
            await page.wait_for_selector("#import-job")

            # the preview report: encoding, counts, every rejected line with its line/field/why
            assert await page.text_content("#encoding") == "windows-1252"
            assert await page.text_content("#good-count") == str(GOOD_LINES)
            assert await page.text_content("#rejected-count") == "2"
            rows = await page.eval_on_selector_all(
                "#rejected tbody tr", "trs => trs.map(tr => [...tr.cells].map(td => td.textContent.trim()))"
            )
            assert [(r[0], r[1]) for r in rows] == [("4", "phone"), ("7", "email"), ("7", "postcode")]
            assert "trop court" in rows[0][4] and "noel-at-example.fr" in rows[1][3]
            assert (await page.text_content("#confirm-button")).strip() == f"Importer les {GOOD_LINES} lignes valides"

            # confirming without ticking the partial-import box is not possible
            await page.click("#confirm-button")
            assert await page.query_selector("#import-progress") is None
            await page.check("input[name=confirm_partial]")
            await page.click("#confirm-button")

            await page.wait_for_selector("#import-progress")
            await page.wait_for_function(
                "() => { const b = document.getElementById('import-progress');"
                " return b && b.value > 0 && b.value < b.max; }",
                timeout=15000,
            )
            runtime.halfway_seen.set()
            await page.wait_for_selector("#import-report", timeout=30000)
            bar = await page.eval_on_selector("#import-progress", "b => [b.value, b.max]")
            assert bar == [GOOD_LINES, GOOD_LINES]
            assert (await page.text_content("#import-percent")).strip() == "100 %"
            report = await page.text_content("#import-report")
            assert f"{GOOD_LINES} clients importés" in " ".join(report.split())
            assert "2 lignes rejetées non importées" in " ".join(report.split())
            progress = [f for f in frames if '"import_progress"' in f]
            assert progress, "no progress message reached the page over the WebSocket"
        finally:
            await browser.close()
    customers, total = runtime.customers.search("", limit=1)
    assert total == GOOD_LINES
    assert runtime.customers.find_by_customer_number("39999991") is None
