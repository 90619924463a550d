"""A Chromium page driven over the bare DevTools protocol, for what Playwright cannot do: hide
and freeze a page. Playwright keeps every headless page visible (its focus emulation holds the
page as "captured"), so `Page.setWebLifecycleState` has no effect under it; a page with only
this client attached really goes hidden and frozen (visibilitychange, freeze and resume fire,
no script runs), as a background tab does.

    async with cdp_page() as page:
        await page.goto(url)
        await page.freeze(); ...; await page.thaw()
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import subprocess
import tempfile
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from .browser import ARGS, CHROMIUM, free_port


class CdpError(Exception):
    pass


class CdpPage:
    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}
        self.console: list[str] = []
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            data = json.loads(msg.data)
            future = self._waiting.pop(data.get("id"), None)
            if future is not None and not future.done():
                future.set_result(data)
            elif data.get("method") == "Runtime.consoleAPICalled":
                self.console.append(
                    " ".join(str(a.get("value", a.get("description", ""))) for a in data["params"]["args"])
                )
            elif data.get("method") == "Runtime.exceptionThrown":
                self.console.append("exception: " + json.dumps(data["params"]["exceptionDetails"])[:500])

    async def call(self, method: str, **params: Any) -> dict:
        ident = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        await self.ws.send_json({"id": ident, "method": method, "params": params})
        answer = await asyncio.wait_for(future, 30)
        if "error" in answer:
            raise CdpError(f"{method}: {answer['error']}")
        return answer["result"]

    async def eval(self, expression: str) -> Any:
        """The value of a JavaScript expression (awaited when it is a promise)."""
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise CdpError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 10.0) -> Any:
        """Polls `expression` until it is truthy; its value. TimeoutError names the expression."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = await self.eval(expression)
            if value:
                return value
            if loop.time() > deadline:
                raise TimeoutError(f"still false after {timeout} s: {expression}\nconsole: {self.console[-10:]}")
            await asyncio.sleep(0.05)

    async def goto(self, url: str) -> None:
        await self.call("Page.navigate", url=url)
        await self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    async def click(self, selector: str) -> None:
        await self.eval(f"document.querySelector({json.dumps(selector)}).click()")

    async def fill(self, selector: str, value: str) -> None:
        await self.eval(f"document.querySelector({json.dumps(selector)}).value = {json.dumps(value)}")

    async def log_in(self, base_url: str, username: str, password: str) -> None:
        await self.goto(base_url + "/login")
        await self.fill("input[name=username]", username)
        await self.fill("input[name=password]", password)
        await self.click("button[type=submit]")
        await self.wait_for(f"location.href === {json.dumps(base_url + '/')} && document.readyState === 'complete'")

    async def freeze(self) -> None:
        """Hidden, then frozen: what Chromium does to a background tab after a while."""
        await self.call("Page.setWebLifecycleState", state="frozen")

    async def thaw(self) -> None:
        """Active and visible again (the agent comes back to the tab)."""
        await self.call("Page.setWebLifecycleState", state="active")
        await self.call("Emulation.setFocusEmulationEnabled", enabled=True)  # shown (and focused)

    async def close(self) -> None:
        self._reader.cancel()
        await self.ws.close()


@asynccontextmanager
async def cdp_page():
    """A headless Chromium with one page, driven over the DevTools protocol only."""
    port = free_port()
    profile = tempfile.mkdtemp(prefix="ccs-cdp-")
    proc = subprocess.Popen(
        [CHROMIUM, "--headless", f"--remote-debugging-port={port}", f"--user-data-dir={profile}", *ARGS, "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with aiohttp.ClientSession() as session:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while True:
                try:
                    tabs = await (await session.get(f"http://127.0.0.1:{port}/json")).json()
                    target = next(t for t in tabs if t["type"] == "page")
                    break
                except (aiohttp.ClientError, StopIteration):
                    if loop.time() > deadline or proc.poll() is not None:
                        raise RuntimeError("Chromium's DevTools endpoint did not come up") from None
                    await asyncio.sleep(0.1)
            ws = await session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
            page = CdpPage(session, ws)
            await page.call("Runtime.enable")
            await page.call("Page.enable")
            try:
                yield page
            finally:
                await page.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
