"""Login flood: `/api/me` latency of a logged-in user while bad logins pour in, and the server's
memory during a burst of concurrent good logins (agents at shift start).

The server runs as its own process (`ccserver serve --external`, against a fake AMI). Two phases:

1. burst: --burst agents log in at once with the right password; prints the server's resident
   memory before, its peak (VmHWM) during the burst, and how the logins were answered.
2. flood: --rate bad logins per second for --seconds, from --usernames distinct usernames
   (half of them real agents, half unknown) while one logged-in user polls `/api/me`; prints
   the p50/p99 of `/api/me` and how the bad logins were answered (401 refused, 429 throttled,
   503 hashing busy).

By default every login comes from 127.0.0.1 (the per-address limit stops the flood early). With
--addresses N the server trusts 127.0.0.1 as a reverse proxy (CCSERVER_WEB_TRUSTED_PROXIES) and each
bad login carries one of N random X-Forwarded-For addresses: only the per-account limit and the
bounded hashing executor stand between the flood and the event loop.
Last line: the /api/me p99 (goal < 50 ms).
Usage: python bench/login_flood.py [--rate 200] [--seconds 10] [--usernames 500] [--addresses 0]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import free_port, percentile  # noqa: E402
from ccserver.adapters.db.database import Database  # noqa: E402
from ccserver.adapters.db.repositories import SessionRepository  # noqa: E402
from ccserver.adapters.db.tables import User  # noqa: E402
from ccserver.core.clock import SystemClock  # noqa: E402
from ccserver.core.passwords import hash_password  # noqa: E402
from tests.fakes.ami_server import FakeAmi  # noqa: E402

PASSWORD = "bench-password"


def seed(db_url: str, agents: int) -> str:
    """`agents` users sharing one real scrypt hash, and a live session for a supervisor."""
    db = Database(db_url)
    db.upgrade()
    clock = SystemClock()
    shared_hash = hash_password(PASSWORD)
    now = clock.now()
    with db.session() as s:
        for i in range(agents):
            s.add(
                User(
                    username=f"agent{i:03d}",
                    display_name=f"Agent {i}",
                    password_hash=shared_hash,
                    role="agent",
                    created_at=now,
                )
            )
        boss = User(username="boss", display_name="Boss", password_hash=shared_hash, role="supervisor", created_at=now)
        s.add(boss)
        s.flush()
        boss_id = boss.id
    token, _csrf = SessionRepository(db, clock).create(boss_id, 3600)
    db.dispose()
    return token


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(CPU seconds of the main thread, i.e. the event loop; of all the other threads)."""
    tick = os.sysconf("SC_CLK_TCK")
    main = others = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        if task.name == str(pid):
            main += used
        else:
            others += used
    return main, others


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of the process, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


async def post_login(
    session: aiohttp.ClientSession, base: str, username: str, password: str, headers: dict | None = None
) -> int:
    # the login form's CSRF is a double-submit cookie: the same value in the cookie and the form
    try:
        async with session.post(
            base + "/login",
            data={"username": username, "password": password, "csrf_token": "bench-csrf-token"},
            headers={"Cookie": "ccs_login_csrf=bench-csrf-token", **(headers or {})},
            allow_redirects=False,
        ) as resp:
            await resp.read()
            return resp.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        return type(exc).__name__  # type: ignore[return-value]


async def burst(base: str, pid: int, count: int) -> None:
    before, _ = rss_kib(pid)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:
        t0 = time.monotonic()
        statuses = await asyncio.gather(*(post_login(session, base, f"agent{i:03d}", PASSWORD) for i in range(count)))
        took = time.monotonic() - t0
    after, peak = rss_kib(pid)
    answers = collections.Counter(statuses)
    print(f"burst: {count} concurrent good logins in {took:.1f} s, answers {dict(sorted(answers.items(), key=str))}")
    print(
        f"burst: server RSS {before / 1024:.0f} MiB before, peak {peak / 1024:.0f} MiB during, "
        f"{after / 1024:.0f} MiB after (+{(peak - before) / 1024:.0f} MiB at peak)",
        flush=True,
    )


async def flood(base: str, pid: int, token: str, args) -> list[float]:
    usernames = [
        f"agent{i:03d}" if i % 2 == 0 and i // 2 < args.agents else f"nobody{i:05d}" for i in range(args.usernames)
    ]
    addresses = [
        f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}" for _ in range(args.addresses)
    ]
    answers: collections.Counter = collections.Counter()
    # /api/me is timed from a process of its own: this one is busy sending the flood
    prober = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--probe", base, token, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert prober.stdout is not None and prober.stdin is not None
    await prober.stdout.readline()  # its first answer: it is polling
    if args.nice:
        # the attacker is on another machine in real life: here, do not steal the server's CPU
        # (the server and the /api/me prober keep the normal priority)
        os.nice(args.nice)
    quiet_from = time.monotonic()
    await asyncio.sleep(args.quiet)  # /api/me without the flood: what this machine gives anyway

    async def one_bad(session, i) -> None:
        headers = {"X-Forwarded-For": random.choice(addresses)} if addresses else None
        status = await post_login(session, base, random.choice(usernames), f"wrong-{i}", headers)
        answers[status] += 1

    connector = aiohttp.TCPConnector(limit=args.max_connections)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        tasks = []
        total = int(args.rate * args.seconds)
        cpu0 = cpu_seconds(pid)
        t0 = time.monotonic()
        for i in range(total):
            tasks.append(asyncio.create_task(one_bad(session, i)))
            delay = t0 + (i + 1) / args.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        sent_in = time.monotonic() - t0
        await asyncio.gather(*tasks)
        drained_in = time.monotonic() - t0
        cpu1 = cpu_seconds(pid)
    prober.stdin.close()
    samples = [line.split() for line in (await prober.stdout.read()).decode().splitlines()]
    await prober.wait()
    latencies = [float(took) for at, took in samples if t0 <= float(at) <= t0 + drained_in]
    quiet = sorted(float(took) * 1000 for at, took in samples if quiet_from <= float(at) < t0)
    if quiet:
        q = lambda f: quiet[min(len(quiet) - 1, int(f * len(quiet)))]
        print(
            f"/api/me before the flood: {len(quiet)} requests  p50 {q(0.5):.1f} ms  p99 {q(0.99):.1f} ms  "
            f"max {quiet[-1]:.1f} ms"
        )
    _rss, peak = rss_kib(pid)
    print(
        f"flood: {total} bad logins sent in {sent_in:.1f} s, all answered after {drained_in:.1f} s, "
        f"answers {dict(sorted(answers.items(), key=str))}; server peak RSS {peak / 1024:.0f} MiB"
    )
    print(
        f"flood: server CPU {cpu1[0] - cpu0[0]:.1f} s on the event loop thread, "
        f"{cpu1[1] - cpu0[1]:.1f} s on other threads (hashing, database); "
        f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    return latencies


async def probe(base: str, token: str) -> None:
    """Poll /api/me every 20 ms until stdin closes; print "<monotonic start> <seconds>" lines."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    done = asyncio.ensure_future(reader.read())
    async with aiohttp.ClientSession(cookies={"ccs_session": token}) as session:
        while not done.done():
            t0 = time.monotonic()
            async with session.get(base + "/api/me") as resp:
                await resp.read()
                if resp.status != 200:
                    raise SystemExit(f"/api/me answered {resp.status}")
            print(f"{t0:.6f} {time.monotonic() - t0:.6f}", flush=True)
            await asyncio.sleep(0.02)


async def run(args) -> list[float]:
    work = Path(tempfile.mkdtemp(prefix="ccs-bench-login-"))
    db_url = f"sqlite:///{work / 'bench.db'}"
    print(f"seeding {args.agents} agents ...", flush=True)
    token = seed(db_url, args.agents)
    ami = FakeAmi(username="bench", secret="bench-secret")
    await ami.start()
    http_port = free_port()
    env = dict(
        os.environ,
        CCSERVER_STORAGE_DATABASE_URL=db_url,
        CCSERVER_STORAGE_DATA_DIR=str(work),
        CCSERVER_WEB_PORT=str(http_port),
        CCSERVER_PBX_AMI_PORT=str(ami.port),
        CCSERVER_PBX_AMI_USERNAME="bench",
        CCSERVER_PBX_AMI_SECRET="bench-secret",
        CCSERVER_PBX_ARI_PORT=str(free_port()),
        CCSERVER_LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO),
    )
    if args.addresses:
        env["CCSERVER_WEB_TRUSTED_PROXIES"] = "127.0.0.1/32"
    server = subprocess.Popen(
        [sys.executable, "-m", "ccserver.cli", "serve", "--external"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "server.log", "w"),
    )
    base = f"http://127.0.0.1:{http_port}"
    try:
        # /status tells the AMI's state to supervisors and admins only: ask as the boss
        async with aiohttp.ClientSession(cookies={"ccs_session": token}) as probe:
            for _ in range(300):
                try:
                    async with probe.get(base + "/status") as resp:
                        body = await resp.json()
                        if body.get("ami", {}).get("state") == "up":
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise SystemExit("the server did not come up: see " + str(work / "server.log"))
        if args.burst:
            await burst(base, server.pid, args.burst)
        print(
            f"flood: {args.rate:g} bad logins/s for {args.seconds:g} s from {args.usernames} usernames, "
            f"{args.addresses or 'one'} address(es)",
            flush=True,
        )
        return await flood(base, server.pid, token, args)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        await ami.stop()


def main() -> None:
    if sys.argv[1:2] == ["--probe"]:
        asyncio.run(probe(sys.argv[2], sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--usernames", type=int, default=500)
    parser.add_argument(
        "--addresses", type=int, default=0, help="spread the flood over N X-Forwarded-For addresses (trusted proxy)"
    )
    parser.add_argument("--burst", type=int, default=100, help="concurrent good logins first (0: none)")
    parser.add_argument(
        "--nice", type=int, default=10, help="niceness of the flood sender (0: compete with the server for the CPU)"
    )
    parser.add_argument("--quiet", type=float, default=5, help="seconds of /api/me before the flood")
    parser.add_argument("--max-connections", type=int, default=2000)
    parser.add_argument("--strict", action="store_true", help="exit 1 if p99 > 50 ms")
    args = parser.parse_args()
    latencies = sorted(asyncio.run(run(args)))
    if not latencies:
        raise SystemExit("no /api/me answered")
    ms = [x * 1000 for x in latencies]
    p = lambda q: percentile(ms, q)
    print(
        f"/api/me during the flood: {len(ms)} requests  p50 {p(0.5):.1f} ms  p95 {p(0.95):.1f} ms  max {ms[-1]:.1f} ms"
    )
    print(f"login_flood: /api/me p99 {p(0.99):.1f} ms under {args.rate:g} bad logins/s (goal < 50 ms)")
    if args.strict and p(0.99) > 50:
        sys.exit(1)


if __name__ == "__main__":
    main()
