"""Call control latency: from the desk's command (POST /api/calls/{id}/hold|resume|mute|unmute)
to the confirming `call_control_changed` push received on the agent's WebSocket, on a real
private Asterisk with sipp phones (an agent on a queue call with a sipp caller), on loopback.

Hold is confirmed by Asterisk's Hold event (the customer is on music on hold), resume by Unhold,
mute by MuteAudio's answer. Each round: hold, resume, mute, unmute, then 1.2 s before the next
round (a hold sooner than 1 s after a resume waits for Asterisk to re-arm its transfer feature:
the server holds it back until then, and that wait would count here).
Last line: the p95 of all commands (goal: <= 300 ms).
Usage: python bench/call_control.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import percentile  # noqa: E402
from ccserver.capabilities.agents.model import AgentState  # noqa: E402
from tests.integration.test_inbound import QUEUE_NUMBER, log_in, setup_call_center, start_phones  # noqa: E402
from tests.support.asterisk import cleanup_stale_test_instances, settings_for_test, start_test_instance  # noqa: E402
from tests.support.server import Server, endpoint_of, until  # noqa: E402
from tests.support.sipp import Answer, SippCaller  # noqa: E402


async def run(rounds: int, work: Path) -> dict[str, list[float]]:
    cleanup_stale_test_instances(settings_for_test(work / "asterisk"))
    instance = await asyncio.to_thread(start_test_instance, work / "asterisk")
    timings: dict[str, list[float]] = {"hold": [], "resume": [], "mute": [], "unmute": []}
    try:
        async with Server(work / "server", endpoint_of(instance.info), config_writer=instance) as srv:
            rt = srv.runtime
            accounts = await setup_call_center(srv)
            phones = await start_phones(instance, {"alice": accounts["alice"]}, alice=Answer(audio=False))
            caller = SippCaller(
                instance, QUEUE_NUMBER, caller="0612345678", audio=False, talk_seconds=None, max_seconds=rounds * 8 + 60
            )
            try:
                await log_in(rt, "alice")
                await caller.start()
                await until(lambda: rt.agent_board.agents["alice"].state is AgentState.ON_CALL, 15)
                uid = rt.agent_board.agents["alice"].call.uniqueid
                client = await srv.login("alice", "password-1234")
                ws = await client.ws_connect("/ws", headers={"Origin": srv.base_url})
                pushes: asyncio.Queue = asyncio.Queue()

                async def read():
                    async for msg in ws:
                        data = json.loads(msg.data)
                        if data.get("topic") == "call_control_changed":
                            pushes.put_nowait((time.perf_counter(), data["call"]))

                reader = asyncio.create_task(read())
                expect = {
                    "hold": ("held", True),
                    "resume": ("held", False),
                    "mute": ("muted", True),
                    "unmute": ("muted", False),
                }
                for _ in range(rounds):
                    for action, (key, value) in expect.items():
                        started = time.perf_counter()
                        resp = await client.post(
                            f"/api/calls/{uid}/{action}", json={}, headers={"X-CSRF-Token": client.csrf}
                        )
                        assert resp.status == 200, await resp.text()
                        while True:
                            at, call = await asyncio.wait_for(pushes.get(), 10)
                            if call.get(key) is value:
                                break
                        timings[action].append((at - started) * 1000)
                        if action == "hold":  # let the hold leg settle, as a person would
                            await until(lambda: rt.call_control.board.calls[uid].settled, 5)
                    await asyncio.sleep(1.2)
                reader.cancel()
                await ws.close()
                await client.close()
            finally:
                await caller.stop()
                for phone in phones.values():
                    await phone.stop()
    finally:
        await asyncio.to_thread(instance.destroy)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ccs-callcontrol-") as tmp:
        timings = asyncio.run(run(args.rounds, Path(tmp)))
    every = []
    for action, values in timings.items():
        every += values
        print(
            f"{action:7s} n={len(values):3d} p50 {percentile(values, 0.5):7.1f} ms  p95 {percentile(values, 0.95):7.1f} ms"
        )
    print(
        f"desk command -> confirming event: p50 {percentile(every, 0.5):.1f} ms, p95 {percentile(every, 0.95):.1f} ms"
    )


if __name__ == "__main__":
    main()
