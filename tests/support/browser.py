"""Debian's Chromium driven by Playwright (browser downloads are not possible here)."""
from __future__ import annotations

from contextlib import asynccontextmanager

from playwright.async_api import async_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


@asynccontextmanager
async def chromium():
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def log_in(page, base_url: str, username: str, password: str) -> None:
    await page.goto(base_url + "/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(base_url + "/")
