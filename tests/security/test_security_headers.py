"""Security headers on every response (pages, API, errors, redirects, static files); Secure
cookies and HSTS only when the site is served over HTTPS (or forced behind a TLS proxy); a
Content-Security-Policy without inline scripts that no page violates in a real Chromium."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import re
import ssl
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ccserver.adapters.web.app import create_app
from ccserver.app import Runtime
from ccserver.core.errors import ConfigurationError
from ccserver.settings import KEYS, Settings, load_settings
from tests.support.browser import chromium, log_in, served_app
from tests.support.web import login_form, post_login

PASSWORD = "correct horse battery"
TEMPLATES = Path(__file__).resolve().parents[2] / "ccserver" / "adapters" / "web" / "templates"
CSP_DIRECTIVES = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "media-src 'self'",
}


def csp_directives(response) -> set[str]:
    return {d.strip() for d in response.headers["Content-Security-Policy"].split(";")}


def assert_security_headers(response, what: str) -> None:
    assert "Content-Security-Policy" in response.headers, what
    directives = csp_directives(response)
    assert CSP_DIRECTIVES <= directives, (what, directives)
    assert not any("unsafe-inline" in d or "unsafe-eval" in d for d in directives), what
    connect = next(d for d in directives if d.startswith("connect-src"))
    assert connect.startswith("connect-src 'self'") and "*" not in connect, what
    assert response.headers["X-Content-Type-Options"] == "nosniff", what
    assert response.headers["Referrer-Policy"] == "same-origin", what
    assert response.headers["X-Frame-Options"] == "DENY", what


def set_cookie(response, name: str) -> str:
    """The raw Set-Cookie line for `name` (attributes included)."""
    for line in response.headers.getall("Set-Cookie", []):
        if line.startswith(name + "="):
            return line
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.getall('Set-Cookie', [])}")


def has_secure_flag(cookie_line: str) -> bool:
    return any(part.strip().lower() == "secure" for part in cookie_line.split(";")[1:])


async def started(tmp_path, **settings) -> tuple[TestServer, Runtime]:
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}, **settings), endpoint=None)
    server = TestServer(create_app(runtime))
    await server.start_server()
    for name, role in (("agent1", "agent"), ("super1", "supervisor"), ("admin1", "admin")):
        runtime.users.create_user(name, PASSWORD, role=role)
    return server, runtime


async def test_every_response_carries_the_security_headers(tmp_path):
    server, _runtime = await started(tmp_path)
    anonymous, agent = TestClient(server), TestClient(server)
    try:
        await anonymous.start_server()
        await agent.start_server()
        token, login_page, _ = await login_form(agent)
        submitted = await post_login(agent, "agent1", PASSWORD, token=token)
        assert submitted.status == 302
        responses = {
            "login page": login_page,
            "login redirect": submitted,
            "page": await agent.get("/agent"),
            "API": await agent.get("/api/me"),
            "refused API (CSRF)": await agent.post("/api/agent/pause", json={}),
            "forbidden page": await agent.get("/wallboard"),
            "page redirect to login": await anonymous.get("/agent", allow_redirects=False),
            "401 API": await anonymous.get("/api/me"),
            "404 page": await anonymous.get("/no-such-page", headers={"Accept": "text/html"}),
            "404 API": await anonymous.get("/api/no-such-thing"),
            "405": await anonymous.put("/login"),
            "static CSS": await anonymous.get("/static/app.css"),
            "static JS": await anonymous.get("/static/realtime.js"),
            "status": await anonymous.get("/status"),
        }
        expected = {
            "login page": 200,
            "login redirect": 302,
            "page": 200,
            "API": 200,
            "refused API (CSRF)": 403,
            "forbidden page": 403,
            "page redirect to login": 302,
            "401 API": 401,
            "404 page": 404,
            "404 API": 404,
            "405": 405,
            "static CSS": 200,
            "static JS": 200,
        }
        for what, response in responses.items():
            if what in expected:
                assert response.status == expected[what], (what, response.status)
            assert_security_headers(response, what)
            # plain HTTP, cookie_secure auto: no HSTS, no Secure cookies (they would be lost)
            assert "Strict-Transport-Security" not in response.headers, what
        assert not has_secure_flag(set_cookie(login_page, "ccs_login_csrf"))
        assert not has_secure_flag(set_cookie(submitted, "ccs_session"))
    finally:
        await anonymous.close()
        await agent.close()
        await server.close()


@pytest.mark.parametrize(
    "settings",
    [{"web": {"cookie_secure": "always"}}, {"web": {"public_url": "https://cc.example.fr"}}],
    ids=["forced", "https-public-url"],
)
async def test_behind_a_tls_proxy_cookies_are_secure_and_hsts_is_sent(tmp_path, settings):
    server, _runtime = await started(tmp_path, **settings)
    client = TestClient(server)
    try:
        await client.start_server()
        token, login_page, _ = await login_form(client)
        assert has_secure_flag(set_cookie(login_page, "ccs_login_csrf"))
        submitted = await post_login(
            client, "agent1", PASSWORD, token=token, headers={"Cookie": f"ccs_login_csrf={token}"}
        )
        assert submitted.status == 302
        assert has_secure_flag(set_cookie(submitted, "ccs_session"))
        for response in (login_page, submitted, await client.get("/static/app.css"), await client.get("/api/me")):
            assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
            assert_security_headers(response, str(response.url))
    finally:
        await client.close()
        await server.close()


def self_signed(tmp_path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


async def test_over_https_cookies_are_secure_and_hsts_is_sent(tmp_path):
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None)  # cookie_secure: auto
    async with served_app(runtime, ssl_context=self_signed(tmp_path)) as base:
        async with aiohttp.ClientSession() as http:
            page = await http.get(base + "/login", ssl=False)
            assert page.status == 200
            assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
            assert has_secure_flag(set_cookie(page, "ccs_login_csrf"))
            assert_security_headers(page, "login over HTTPS")
            static = await http.get(base + "/static/app.css", ssl=False)
            assert "Strict-Transport-Security" in static.headers


def test_cookie_secure_refuses_an_unknown_value():
    with pytest.raises(ConfigurationError) as err:
        load_settings(environ={"CCSERVER_WEB_COOKIE_SECURE": "sometimes"})
    assert err.value.details["field"] == "web.cookie_secure"
    assert load_settings(environ={"CCSERVER_WEB_COOKIE_SECURE": "true"}).web.cookie_secure == "always"
    assert load_settings(environ={}).web.cookie_secure == "auto"


def test_the_unused_secret_key_setting_is_gone():
    """Nothing ever used it: a setting that looks like it protects something but does not."""
    assert not [key for key in KEYS if "secret_key" in key]
    compose = (Path(__file__).resolve().parents[2] / "docker" / "compose.yaml").read_text()
    assert "SECRET_KEY" not in compose


def test_templates_have_no_inline_script_handler_or_style():
    """What the CSP would block: inline <script> code, on...= handlers, javascript: URLs,
    style= attributes and <style> blocks (JSON data blocks are allowed: never executed)."""
    offences = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b([^>]*)>", text, re.I):
            attrs = match.group(1)
            if "src=" not in attrs and 'type="application/json"' not in attrs:
                offences.append(f"{path.name}: inline script")
        for pattern, what in (
            (r"\son[a-z]+\s*=", "event handler"),
            (r"javascript:", "javascript: URL"),
            (r"\sstyle\s*=", "style attribute"),
            (r"<style\b", "style block"),
        ):
            if re.search(pattern, text, re.I):
                offences.append(f"{path.name}: {what}")
    assert offences == []


# --- a real Chromium under the CSP -----------------------------------------------------------
# (Playwright evaluates a wait_for_function *expression* with eval(), which the CSP refuses like
# any other eval: tests pass functions, "() => ...")

PAGES = {
    "agent1": ["/agent", "/my/evaluations", "/customers", "/customers/{customer}"],
    "super1": [
        "/wallboard",
        "/customers",
        "/customers/new",
        "/customers/import",
        "/recordings",
        "/quality",
        "/ivr",
        "/outbound",
        "/outbound/compliance",
        "/system",
    ],
    "admin1": ["/admin/acd", "/admin/phones", "/wallboard"],
}

# reported by the page itself, whatever the console says
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP-VIOLATION " + e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber);
});
"""


@pytest.mark.browser
async def test_no_page_violates_the_csp_in_chromium_and_the_pages_still_work(tmp_path):
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None)
    async with served_app(runtime) as base:
        for name, role in (("agent1", "agent"), ("super1", "supervisor"), ("admin1", "admin")):
            await asyncio.to_thread(runtime.users.create_user, name, PASSWORD, role=role)
        customer = await asyncio.to_thread(
            runtime.customers.create_customer, phones=["0612345678"], last_name="Lefèvre", first_name="Zoé"
        )
        async with chromium() as browser:
            # the login page, anonymous
            context = await browser.new_context()
            page = await context.new_page()
            violations, errors = watch(page)
            await page.add_init_script(CSP_LISTENER)
            await page.goto(base + "/login")
            await page.wait_for_load_state("load")
            assert violations == [] and errors == []
            await context.close()

            for username, paths in PAGES.items():
                context = await browser.new_context()
                page = await context.new_page()
                violations, errors = watch(page)
                await page.add_init_script(CSP_LISTENER)
                await log_in(page, base, username, PASSWORD)
                for path in paths:
                    url = base + path.format(customer=customer.id)
                    response = await page.goto(url)
                    assert response.status == 200, (url, response.status)
                    assert response.headers.get("content-security-policy"), url
                    # realtime.js ran and its WebSocket connected under connect-src
                    await page.wait_for_function("() => document.body.dataset.live === 'yes'", timeout=10_000)
                    if path == "/wallboard":
                        await wallboard_gets_a_live_update(page, runtime)
                    await asyncio.sleep(0.3)  # late fetches and their handlers
                    assert violations == [], (url, violations)
                    # broken scripts throw real errors; an API answering 503 (no Asterisk in
                    # this test) only rejects a promise with the JSON error object
                    assert [e for e in errors if re.match(r"(\w*Error)\b", e)] == [], (url, errors)
                await context.close()


def watch(page) -> tuple[list[str], list[str]]:
    violations: list[str] = []
    errors: list[str] = []

    def on_console(msg) -> None:
        text = msg.text
        if "Content Security Policy" in text or "CSP-VIOLATION" in text:
            violations.append(text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"{exc.name}: {exc.message}" if exc.name else str(exc)))
    return violations, errors


async def wallboard_gets_a_live_update(page, runtime) -> None:
    """The board is pushed over the WebSocket: count the pushes the page renders."""
    await page.wait_for_function("() => document.getElementById('board-at').textContent !== ''")
    await page.evaluate("() => { window.__pushes = 0; ccsLive.on('wallboard', () => { window.__pushes += 1; }); }")
    before = await page.text_content("#board-at")
    runtime.supervision.dirty = True  # something changed: the publisher pushes within a second
    await page.wait_for_function("() => window.__pushes > 0", timeout=5_000)
    assert await page.text_content("#board-at") != "" and before is not None
