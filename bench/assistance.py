"""Ask a supervisor: from the agent's POST /api/calls/{id}/ask-supervisor to the
`supervisor_asked` push on a supervisor's wallboard WebSocket, and from the agent's DELETE to
`supervisor_request_ended`, with many supervisors connected (half in the call's scope: queue
sales; half out of it: each push reads every connected supervisor's scope from the database).
No Asterisk (the call is put in the call tracker as the PBX events would), SQLite, loopback.
Last line: the p95 of both (goal: <= 1000 ms, the wallboard's freshness).
Usage: python bench/assistance.py [--rounds 50] [--supervisors 40]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from aiohttp.test_utils import TestServer  # noqa: E402

from bench.common import percentile  # noqa: E402
from ccserver.adapters.web.app import create_app  # noqa: E402
from ccserver.app import Runtime  # noqa: E402
from ccserver.core import events as ev  # noqa: E402
from ccserver.settings import Settings  # noqa: E402
from tests.support.web import logged_in  # noqa: E402

PASSWORD = "correct horse battery"


async def next_topic(ws, topic: str) -> dict:
    while True:
        message = await ws.receive_json(timeout=10)
        if message.get("topic") == topic:
            return message


async def run(rounds: int, supervisors: int, work: Path) -> dict[str, list[float]]:
    runtime = Runtime(Settings().replace({"storage.data_dir": work}), endpoint=None)
    server = TestServer(create_app(runtime))
    await server.start_server()
    timings: dict[str, list[float]] = {"ask": [], "cancel": []}
    clients = []
    try:
        await runtime.acd.create_agent("agent1", PASSWORD, "Agent One", {}, "admin1", team="north")
        for i in range(supervisors):
            name = f"sup{i:03d}"
            runtime.users.create_user(name, PASSWORD, role="supervisor")
            runtime.acd_repo.give_scope(name, "queue", "sales" if i % 2 == 0 else "billing")
        runtime.call_tracker.apply(ev.QueueCallerJoined(queue="sales", uniqueid="live-1", caller_number="0611111111"))
        runtime.call_tracker.apply(
            ev.AgentConnected(queue="sales", uniqueid="live-1", interface="PJSIP/agent1", member_name="agent1")
        )
        agent = await logged_in(server, "agent1", PASSWORD)
        clients.append(agent)
        sockets = []
        for i in range(supervisors):
            client = await logged_in(server, f"sup{i:03d}", PASSWORD)
            clients.append(client)
            ws = await client.ws_connect("/ws", headers={"Origin": f"http://{server.host}:{server.port}"})
            await ws.receive_json(timeout=5)  # hello
            sockets.append(ws)
        watched = sockets[0]  # in scope (queue sales)
        headers = {"X-CSRF-Token": agent.csrf}
        for _ in range(rounds):
            start = time.perf_counter()
            resp = await agent.post("/api/calls/live-1/ask-supervisor", json={"reason": "aide"}, headers=headers)
            assert resp.status == 201, await resp.text()
            await next_topic(watched, "supervisor_asked")
            timings["ask"].append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            resp = await agent.delete("/api/calls/live-1/ask-supervisor", headers=headers)
            assert resp.status == 200, await resp.text()
            await next_topic(watched, "supervisor_request_ended")
            timings["cancel"].append((time.perf_counter() - start) * 1000)
        for ws in sockets:
            await ws.close()
    finally:
        for client in clients:
            await client.close()
        await server.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--supervisors", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ccs-assistance-") as tmp:
        timings = asyncio.run(run(args.rounds, args.supervisors, Path(tmp)))
    every = []
    for action, values in timings.items():
        every += values
        print(
            f"{action:7s} n={len(values):3d} p50 {percentile(values, 0.5):7.1f} ms  p95 {percentile(values, 0.95):7.1f} ms"
        )
    print(
        f"agent request -> supervisor's push ({args.supervisors} supervisors connected): "
        f"p50 {percentile(every, 0.5):.1f} ms, p95 {percentile(every, 0.95):.1f} ms"
    )


if __name__ == "__main__":
    main()
