"""Screen-pop latency: from the AMI event leaving Asterisk's socket to the WebSocket message
received by the agent's page, with 200 agent pages connected while calls flow.

The server runs as its own process (`ccserver serve --external`) against an AMI server this
script plays (so it can time-stamp each AgentCalled it writes); 200 WebSocket clients, one per
agent, are logged in with real sessions. Calls flow at --rate calls/s, each with the events a
queue call makes around the ring (Newchannel, QueueCallerJoin, AgentCalled, Newstate...); half
the callers are known customers (a database lookup), half unknown. Last line: the p99.
Usage: python bench/screenpop.py [--agents 200] [--rate 20] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from sqlmodel import select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import free_port, percentile  # noqa: E402
from ccserver.adapters.db.acd import AcdRepository  # noqa: E402
from ccserver.adapters.db.customers import CustomerRepository  # noqa: E402
from ccserver.adapters.db.database import Database  # noqa: E402
from ccserver.adapters.db.repositories import SessionRepository  # noqa: E402
from ccserver.adapters.db.tables import Agent, User  # noqa: E402
from ccserver.capabilities.acd.model import QueueDefinition  # noqa: E402
from ccserver.capabilities.customers.service import CustomerService  # noqa: E402
from ccserver.core.clock import SystemClock  # noqa: E402
from ccserver.core.passwords import hash_password  # noqa: E402
from tests.fakes.ami_server import FakeAmi  # noqa: E402


def seed(db_url: str, agents: int, customers: int) -> list[str]:
    """Agents with SIP accounts and live sessions, a queue, known customers. Returns cookies."""
    db = Database(db_url)
    db.upgrade()
    clock = SystemClock()
    repo = AcdRepository(db, clock)
    repo.add_skill("fr")
    repo.save_queue(QueueDefinition(name="support", required_skills={"fr": 1}), create=True)
    shared_hash = hash_password("bench-password")  # one hash: 200 scrypt runs are not the point
    now = clock.now()
    with db.session() as s:
        for i in range(agents):
            user = User(
                username=f"agent{i:03d}",
                display_name=f"Agent {i}",
                password_hash=shared_hash,
                role="agent",
                created_at=now,
            )
            s.add(user)
            s.flush()
            s.add(
                Agent(
                    user_id=user.id,
                    sip_username=f"agent{i:03d}",
                    sip_password_md5="0" * 32,
                    skills='{"fr": 5}',
                    created_at=now,
                )
            )
    sessions = SessionRepository(db, clock)
    tokens = []
    with db.session() as s:
        ids = [u.id for u in s.exec(select(User).order_by(User.username))]
    for user_id in ids:
        token, _csrf = sessions.create(user_id, 3600)
        tokens.append(token)
    with db.session() as s:  # /status tells the AMI's state to supervisors and admins only
        boss = User(username="boss", display_name="Boss", password_hash=shared_hash, role="supervisor", created_at=now)
        s.add(boss)
        s.flush()
        boss_id = boss.id
    tokens.append(sessions.create(boss_id, 3600)[0])
    service = CustomerService(CustomerRepository(db), clock)
    for i in range(customers):
        service.create_customer(
            phones=[f"06{10000000 + i:08d}"], last_name=f"Client{i}", customer_number=f"{20000000 + i:08d}"
        )
    db.dispose()
    return tokens


async def run(args) -> list[float]:
    work = Path(tempfile.mkdtemp(prefix="ccs-bench-"))
    db_url = f"sqlite:///{work / 'bench.db'}"
    print(f"seeding {args.agents} agents and {args.customers} customers ...", flush=True)
    *tokens, boss_token = seed(db_url, args.agents, args.customers)
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
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "ccserver.cli", "serve", "--external"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "server.log", "w"),
    )
    sent: dict[str, float] = {}
    latencies: list[float] = []
    base = f"http://127.0.0.1:{http_port}"
    try:
        async with aiohttp.ClientSession(cookies={"ccs_session": boss_token}) as probe:
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
        sockets = []
        sessions = []
        for token in tokens:
            session = aiohttp.ClientSession(cookies={"ccs_session": token})
            sessions.append(session)
            sockets.append(await session.ws_connect(base + "/ws"))
        for ws in sockets:
            await ws.receive_json()  # hello

        async def reader(ws):
            async for msg in ws:
                data = msg.json()
                if data.get("topic") == "screen_pop":
                    t0 = sent.pop(data["uniqueid"], None)
                    if t0 is not None:
                        latencies.append(time.monotonic() - t0)

        readers = [asyncio.create_task(reader(ws)) for ws in sockets]
        print(f"{len(sockets)} agent pages connected; calls at {args.rate}/s for {args.seconds} s", flush=True)
        total = int(args.rate * args.seconds)
        for i in range(total):
            uid = f"1800000000.{i}"
            agent = i % args.agents
            known = i % 2 == 0
            number = f"06{10000000 + (i % args.customers):08d}" if known else f"07{50000000 + i:08d}"
            common = dict(
                Privilege="call,all", Uniqueid=uid, Linkedid=uid, CallerIDNum=number, Channel=f"PJSIP/customers-{i:08x}"
            )
            ami.send_event(
                Event="Newchannel",
                ChannelState="0",
                ChannelStateDesc="Down",
                Context="ccserver-inbound",
                Exten="100",
                **common,
            )
            ami.send_event(Event="Newstate", ChannelState="6", ChannelStateDesc="Up", **common)
            ami.send_event(Event="QueueCallerJoin", Queue="support", Position="1", Count="1", **common)
            sent[uid] = time.monotonic()
            ami.send_event(
                Event="AgentCalled",
                Queue="support",
                Interface=f"PJSIP/agent{agent:03d}",
                MemberName=f"agent{agent:03d}",
                DestChannel=f"PJSIP/agent{agent:03d}-{i:08x}",
                **common,
            )
            await asyncio.sleep(1 / args.rate)
        deadline = time.monotonic() + 5
        while sent and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in readers:
            task.cancel()
        for ws in sockets:
            await ws.close()
        for session in sessions:
            await session.close()
        if sent:
            print(f"WARNING: {len(sent)} screen-pops never arrived", flush=True)
        return latencies
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        await ami.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--strict", action="store_true", help="exit 1 if p99 > 50 ms")
    args = parser.parse_args()
    latencies = sorted(asyncio.run(run(args)))
    if not latencies:
        raise SystemExit("no screen-pop received")
    ms = [x * 1000 for x in latencies]
    p = lambda q: percentile(ms, q)
    print(
        f"screen-pops: {len(ms)}  mean {statistics.mean(ms):.1f} ms  p50 {p(0.5):.1f} ms  "
        f"p95 {p(0.95):.1f} ms  max {ms[-1]:.1f} ms"
    )
    print(
        f"screenpop: p99 {p(0.99):.1f} ms from AMI AgentCalled to the agent's WebSocket "
        f"({args.agents} pages connected, {args.rate:g} calls/s) (goal <= 50 ms)"
    )
    if args.strict and p(0.99) > 50:
        sys.exit(1)


if __name__ == "__main__":
    main()
