"""Security issue item 3: logins cannot be guessed or used to stall the server.

Failed logins are throttled per account and per client address (429 + Retry-After, a French
message on the login page, one audit entry per lock, no password hashed while locked);
passwords are checked on a small bounded executor (a flood of logins leaves /api/me served);
`next=` stays on the site; a login body is read up to 4 KiB only.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ccserver.adapters.db import repositories
from ccserver.adapters.web.app import create_app
from ccserver.app import Runtime
from ccserver.core.clock import ManualClock
from ccserver.settings import Settings
from tests.support.web import login_form, post_login

PASSWORD = "correct horse battery"
T0 = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
THROTTLED = "Trop de tentatives de connexion échouées"


class Site:
    def __init__(self, server: TestServer, runtime: Runtime, clock: ManualClock, monkeypatch) -> None:
        self.server, self.runtime, self.clock = server, runtime, clock
        # every password hash a login spends (a real one, or against a dummy for unknown users)
        self.password_checks: list[str] = []
        self.clients: list[TestClient] = []
        lock = threading.Lock()

        def counting(real):
            def check(password, *args):  # runs on whatever thread the server uses
                with lock:
                    self.password_checks.append(real.__name__)
                return real(password, *args)

            return check

        for name in ("verify_password", "verify_dummy"):
            monkeypatch.setattr(repositories, name, counting(getattr(repositories, name)))

    async def client(self) -> TestClient:
        client = TestClient(self.server)
        await client.start_server()
        self.clients.append(client)
        return client

    async def login_form(self, client: TestClient, query: str = "") -> tuple[str, str]:
        token, _, text = await login_form(client, query)
        return token, text

    async def attempt(self, client: TestClient, username: str, password: str, **extra):
        return await post_login(client, username, password, **extra)

    def locks(self) -> list[dict]:
        return [{"target": e.target, **json.loads(e.details)} for e in self.runtime.audit.list(action="login.lock")]


async def make_site(tmp_path, monkeypatch, **settings) -> Site:
    clock = ManualClock(T0)
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}, **settings), endpoint=None, clock=clock)
    server = TestServer(create_app(runtime))
    await server.start_server()
    for name in ("agent1", "agent2"):
        runtime.users.create_user(name, PASSWORD, role="agent", display_name=name)
    return Site(server, runtime, clock, monkeypatch)


@pytest.fixture
async def site(tmp_path, monkeypatch):
    site = await make_site(tmp_path, monkeypatch)
    yield site
    for client in site.clients:
        await client.close()
    await site.server.close()


@pytest.fixture
async def make(tmp_path, monkeypatch):
    made = []

    async def factory(**settings) -> Site:
        made.append(await make_site(tmp_path / str(len(made)), monkeypatch, **settings))
        return made[-1]

    yield factory
    for site in made:
        for client in site.clients:
            await client.close()
        await site.server.close()


async def test_the_fifth_wrong_password_locks_the_account_429_retry_after_and_one_audit_entry(site):
    client = await site.client()
    for _ in range(5):
        resp = await site.attempt(client, "agent1", "wrong password")
        assert resp.status == 401
    assert site.locks() == [
        {
            "target": "agent1",
            "scope": "account",
            "failures": 5,
            "seconds": 30,
            "until": "2026-12-04T08:00:30+00:00",
            "remote": "127.0.0.1",
        }
    ]
    checks = len(site.password_checks)
    for _ in range(3):  # even the right password is refused while locked, and nothing is hashed
        resp = await site.attempt(client, "agent1", PASSWORD)
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "30"
        text = await resp.text()
        assert THROTTLED in text and "Réessayez dans 30 secondes" in text
        assert 'name="username"' in text  # the login page, to try again later
    assert len(site.password_checks) == checks
    assert (await client.get("/api/me")).status == 401
    assert len(site.locks()) == 1  # once per lock, not per attempt
    # another account is not concerned
    resp = await site.attempt(await site.client(), "agent2", PASSWORD)
    assert resp.status == 302
    # the lock ends when announced
    site.clock.advance(seconds=30)
    resp = await site.attempt(client, "agent1", PASSWORD)
    assert resp.status == 302


async def test_each_further_failure_locks_longer_and_each_lock_is_audited(site):
    client = await site.client()
    for _ in range(5):
        await site.attempt(client, "agent1", "wrong password")
    site.clock.advance(seconds=30)
    resp = await site.attempt(client, "agent1", "still wrong")
    assert resp.status == 401
    resp = await site.attempt(client, "agent1", PASSWORD)
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "60"
    assert [lock["seconds"] for lock in site.locks()] == [60, 30]


async def test_a_success_resets_the_account_counter(site):
    client = await site.client()
    for _ in range(4):
        assert (await site.attempt(client, "agent1", "wrong password")).status == 401
    assert (await site.attempt(client, "agent1", PASSWORD)).status == 302
    other = await site.client()
    for _ in range(4):
        assert (await site.attempt(other, "agent1", "wrong password")).status == 401
    assert (await site.attempt(other, "agent1", PASSWORD)).status == 302
    assert site.locks() == []
    # counting starts over: the fifth failure after the success locks
    third = await site.client()
    for _ in range(5):
        assert (await site.attempt(third, "agent1", "wrong password")).status == 401
    assert (await site.attempt(third, "agent1", PASSWORD)).status == 429


async def test_unknown_users_are_throttled_exactly_like_known_ones(site):
    client = await site.client()
    answers = {}
    for name in ("agent1", "nobody-here"):
        for _ in range(5):
            assert (await site.attempt(client, name, "wrong password")).status == 401
        resp = await site.attempt(client, name, "wrong password")
        answers[name] = (
            resp.status,
            resp.headers.get("Retry-After"),
            re.search(r'role="alert">([^<]*)<', await resp.text()).group(1),
        )
    assert answers["agent1"] == answers["nobody-here"] == (429, "30", answers["agent1"][2])
    assert [lock["target"] for lock in site.locks()] == ["nobody-here", "agent1"]


async def test_the_client_address_is_limited_across_accounts(site):
    client = await site.client()
    for i in range(20):
        # a forged X-Forwarded-For changes nothing: no proxy is trusted
        resp = await site.attempt(client, f"guess{i}", "wrong password", headers={"X-Forwarded-For": f"203.0.113.{i}"})
        assert resp.status == 401
    checks = len(site.password_checks)
    resp = await site.attempt(client, "agent2", PASSWORD)
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "10"
    assert THROTTLED in await resp.text()
    assert len(site.password_checks) == checks
    [lock] = site.locks()
    assert (lock["target"], lock["scope"], lock["failures"]) == ("127.0.0.1", "address", 20)
    site.clock.advance(seconds=10)
    assert (await site.attempt(client, "agent2", PASSWORD)).status == 302


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(make):
    site = await make(web={"trusted_proxies": "127.0.0.1/32"})
    client = await site.client()
    for i in range(20):
        resp = await site.attempt(
            client, f"guess{i}", "wrong password", headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.9"}
        )
        assert resp.status == 401
    resp = await site.attempt(client, "agent1", PASSWORD, headers={"X-Forwarded-For": "203.0.113.9"})
    assert resp.status == 429
    [lock] = site.locks()
    assert (lock["target"], lock["scope"]) == ("203.0.113.9", "address")
    # another client behind the same proxy (its address: the last hop the proxy added)
    resp = await site.attempt(
        await site.client(), "agent1", PASSWORD, headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.2"}
    )
    assert resp.status == 302


FOREIGN_NEXT = [
    "/\t/evil.example",
    "/\r\n/evil.example",
    "/\n/evil.example",
    "\t//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "//evil.example",
    "///evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "http:/evil.example",
    "/%09/evil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "evil.example",
    "/\u3000/evil.example",
]


async def test_next_after_login_stays_on_the_site(site):
    leaks = {}
    for target in FOREIGN_NEXT:
        resp = await site.attempt(await site.client(), "agent1", PASSWORD, next=target)
        if resp.status != 302 or resp.headers["Location"] != "/":
            leaks[target] = (resp.status, resp.headers.get("Location"))
    assert leaks == {}
    # a path of the site is kept
    resp = await site.attempt(await site.client(), "agent1", PASSWORD, next="/customers?q=jean%20dupont&page=2")
    assert resp.headers["Location"] == "/customers?q=jean%20dupont&page=2"


async def test_the_login_page_does_not_carry_a_foreign_next(site):
    client = await site.client()
    carried = {}
    for query in (
        "?next=/%09/evil.example",
        "?next=/%0d%0a/evil.example",
        "?next=%2F%2Fevil.example",
        "?next=/%5Cevil.example",
        "?next=/%E3%80%80/evil.example",
    ):
        _, text = await site.login_form(client, query)
        value = re.search(r'name="next" value="([^"]*)"', text).group(1)
        if value:
            carried[query] = value
    assert carried == {}
    _, text = await site.login_form(client, "?next=/wallboard")
    assert 'name="next" value="/wallboard"' in text


async def test_an_oversize_login_body_is_refused_413_before_csrf_and_credentials(site):
    client = await site.client()
    token, _ = await site.login_form(client)
    data = {"username": "agent1", "password": PASSWORD, "csrf_token": token, "padding": "x" * 5000}
    resp = await client.post("/login", data=data, allow_redirects=False)
    assert resp.status == 413
    assert (await client.get("/api/me")).status == 401
    # the same without Content-Length (chunked): reading stops past the limit

    async def chunks():
        body = f"username=agent1&password={PASSWORD.replace(' ', '+')}&csrf_token={token}&pad="
        yield body.encode()
        for _ in range(100):
            yield b"x" * 1000

    resp = await client.post(
        "/login", data=chunks(), allow_redirects=False, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert resp.status == 413
    assert site.password_checks == []
    # a wrong CSRF token is refused before any password is checked
    resp = await client.post(
        "/login", data={"username": "agent1", "password": PASSWORD, "csrf_token": "forged"}, allow_redirects=False
    )
    assert resp.status == 403
    assert site.password_checks == []
    assert (await client.get("/api/me")).status == 401
    # a normal login still works
    assert (await site.attempt(client, "agent1", PASSWORD)).status == 302


async def test_logins_beyond_the_hashing_queue_are_answered_503_at_once(make):
    site = await make(login={"hash_workers": 1, "hash_queue": 1, "address_failures": 0})
    clients = [await site.client() for _ in range(8)]
    tokens = [(await site.login_form(c))[0] for c in clients]
    answers = await asyncio.gather(
        *(
            c.post("/login", data={"username": f"user{i}", "password": "wrong", "csrf_token": t}, allow_redirects=False)
            for i, (c, t) in enumerate(zip(clients, tokens))
        )
    )
    statuses = sorted(r.status for r in answers)
    assert statuses.count(401) >= 2 and statuses.count(503) >= 4, statuses
    busy = next(r for r in answers if r.status == 503)
    assert busy.headers["Retry-After"] == "2"
    assert "réessayez dans quelques secondes" in await busy.text()
    # a 503 counts as no attempt: nothing was checked
    assert len(site.password_checks) == statuses.count(401)


async def test_api_me_is_served_while_a_flood_of_bad_logins_is_in_flight(make):
    # a distributed flood: no address limit, every login a different account, all hashed
    site = await make(login={"address_failures": 0})
    boss = await site.client()
    token, _ = await site.login_form(boss)
    resp = await boss.post(
        "/login", data={"username": "agent2", "password": PASSWORD, "csrf_token": token}, allow_redirects=False
    )
    assert resp.status == 302
    flood = await site.client()
    token, _ = await site.login_form(flood)
    count = 40
    answered = 0

    async def bad_login(i: int) -> int:
        nonlocal answered
        resp = await flood.post(
            "/login", data={"username": f"guess{i}", "password": "wrong", "csrf_token": token}, allow_redirects=False
        )
        await resp.read()
        answered += 1
        return resp.status

    logins = [asyncio.create_task(bad_login(i)) for i in range(count)]
    while not site.password_checks:  # the flood has reached the password checks
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    me = await boss.get("/api/me")
    assert me.status == 200
    assert (await me.json())["username"] == "agent2"
    # served while most of the flood still waits for its password check
    assert answered < count // 2, answered
    statuses = await asyncio.gather(*logins)
    assert set(statuses) <= {401, 503}
