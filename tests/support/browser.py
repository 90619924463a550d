"""Debian's Chromium driven by Playwright (browser downloads are not possible here)."""

from __future__ import annotations

import socket
from contextlib import asynccontextmanager

from playwright.async_api import async_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # a French browser, like the call center's users: the pages follow Accept-Language (French
    # and English) and the tests read their French texts; a test wanting another language says
    # so with browser.new_context(locale="en-US")
    "--lang=fr-FR",
    "--accept-lang=fr-FR,fr",
]
# the browser phone: a fake microphone granted without asking, Asterisk's self-signed WSS
# certificate accepted, ICE over loopback (Chromium leaves loopback out of ICE by default)
WEBRTC_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--ignore-certificate-errors",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
]


@asynccontextmanager
async def chromium(extra_args: list[str] | None = None):
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS + list(extra_args or ()))
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def served_app(runtime, ssl_context=None):
    """The web app of `runtime` (no PBX needed) on a free loopback port, for a real browser;
    yields its base URL."""
    from aiohttp import web

    from ccserver.adapters.web.app import create_app

    runner = web.AppRunner(create_app(runtime))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context).start()
    try:
        yield f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
