"""Record AMI traces from the real Asterisk 22 into tests/traces/ami/ (re-runnable; ARI: record_ari.py).

    PYTHONPATH=. python -m tests.traces.record_ami [--out tests/traces/ami]

Starts a private test Asterisk (tests/support/asterisk.py, the Asterisk root is built on first
use), runs a ccserver against it (queues and agents provisioned as the product does), taps the
raw AMI byte stream of the server's own AMI link (panoramisk's `save_stream`) and drives calls
with sipp: an abandoned caller, agents logging in, pausing, a bridged call (a member refusing,
another answering), MixMonitor, ChanSpy, an Originate, a hold and resume, a held customer put back
in the queue when the agent's channel hangs up (CcsRequeued; CcsRequeueFailed with nobody left in
the queue), a queue overflow, a callback request,
QueueStatus and CoreShowChannels while a caller waits, logout, a caller above capacity; then a
progressive outbound campaign with answering-machine detection (a machine, a person).

For each AMI event type that `ccserver.adapters.pbx.translate` translates, and for the list
replies it reads (QueueParams, QueueMember, QueueEntry, CoreShowChannel), it writes the first
few raw messages as Asterisk sent them (CRLF, the blank line between messages) into
`<Event>.txt` (`UserEvent-<Name>.txt` for UserEvents). Exits non-zero naming the event types it
did not see.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

from ccserver.adapters.pbx.translate import AMI_TRANSLATORS
from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.capabilities.agents.model import AgentState
from ccserver.core.ports import OriginateRequest
from tests.support.asterisk import start_test_instance
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer, Reject, SippCaller, SippPhone

logger = logging.getLogger("record_ami")

OUT = Path(__file__).parent / "ami"
LIST_REPLIES = ("QueueParams", "QueueMember", "QueueEntry", "CoreShowChannel")
USER_EVENTS = (
    "CcsOverflow",
    "CcsCallback",
    "CcsRefused",
    "CcsDialer",
    "CcsCallData",
    "CcsRequeued",
    "CcsRequeueFailed",
)
MAX_CALLS = 2  # max_concurrent_calls of the recording node (the scenario has at most 2 callers)
PER_FILE = 3  # messages kept per event type
EOL = "\r\n"


class Tap:
    """panoramisk writes every byte read from AMI into `save_stream.write(bytes)`."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.chunks.append(data)

    def messages(self) -> list[str]:
        text = b"".join(self.chunks).decode("utf-8", "replace")
        return [block for block in text.split(EOL * 2) if block.strip()]


def trace_name(block: str) -> str | None:
    headers = {}
    for line in block.split(EOL):
        key, sep, value = line.partition(": ")
        if sep and key.lower() not in headers:
            headers[key.lower()] = value
    event = headers.get("event")
    if event == "UserEvent":
        return f"UserEvent-{headers.get('userevent', '')}"
    if event in AMI_TRANSLATORS or event in LIST_REPLIES:
        return event
    return None


def write_traces(tap: Tap, out: Path) -> dict[str, int]:
    found: dict[str, list[str]] = {}
    for block in tap.messages():
        name = trace_name(block.lstrip(EOL))
        if name is not None and len(found.setdefault(name, [])) < PER_FILE:
            found[name].append(block.lstrip(EOL) + EOL * 2)
    out.mkdir(parents=True, exist_ok=True)
    for name, blocks in sorted(found.items()):
        (out / f"{name}.txt").write_bytes("".join(blocks).encode("utf-8"))
    return {name: len(blocks) for name, blocks in found.items()}


async def step(what: str, coro) -> None:
    """One scenario step: a failure is logged, the recording goes on (its traces will be missing)."""
    logger.info("-- %s", what)
    try:
        await coro
    except Exception:
        logger.exception("step %r failed", what)


async def scenario(srv: Server, asterisk, tmp: Path) -> None:
    rt = srv.runtime
    await until(srv.ok, 30, "the server up")
    for skill in ("fr",):
        await asyncio.to_thread(rt.acd_repo.add_skill, skill)
    await asyncio.to_thread(rt.acd_repo.add_pause_reason, "lunch", "Lunch")
    await rt.acd.create_queue(
        QueueDefinition(
            name="support",
            strategy="ringall",
            required_skills={"fr": 1},
            numbers=("4100",),
            wrapup_seconds=1,
            ring_seconds=10,
            holidays="",
            dispositions=("resolved",),
        ),
        actor="admin",
    )
    await rt.acd.create_queue(
        QueueDefinition(
            name="overflow",
            required_skills={"fr": 1},
            numbers=("4200",),
            max_wait_seconds=2,
            overflow_kind="hangup",
            holidays="",
        ),
        actor="admin",
    )
    await rt.acd.create_queue(
        QueueDefinition(name="callback", required_skills={"fr": 1}, numbers=("4300",), callback_key="9", holidays=""),
        actor="admin",
    )
    accounts = {}
    for username, skills in (("alice", "fr:9"), ("bruno", "fr:9"), ("carla", "fr:1")):
        accounts[username] = await rt.acd.create_agent(
            username, "password-1234", username.title(), skills, actor="admin"
        )
    behaviours = {"alice": Answer(ring_seconds=1.0), "bruno": Reject(486), "carla": Answer(audio_seconds=60)}
    phones = {}
    for username, account in accounts.items():
        phone = SippPhone(asterisk, account.sip_username, account.sip_password, behaviour=behaviours[username])
        await phone.start()
        await phone.wait_registered()
        phones[username] = phone
    ami = rt.pbx.ami
    try:

        async def abandoned_with_snapshot():
            # nobody logged in: the caller waits, is listed by QueueStatus, then hangs up
            caller = SippCaller(asterisk, "4100", caller="0698765432", talk_seconds=5)
            await caller.start()
            await until(lambda: rt.call_tracker.open, 10, "the caller in the queue")
            await asyncio.sleep(1.0)
            await ami.list_action({"Action": "QueueStatus"})
            await ami.list_action({"Action": "CoreShowChannels"})
            await caller.wait(timeout=20)
            await until(lambda: not rt.call_tracker.open, 10, "the abandoned call closed")

        await step("abandoned caller, QueueStatus and CoreShowChannels", abandoned_with_snapshot())

        async def log_in_and_pause():
            for username in ("alice", "bruno"):
                await rt.acd.login(username, ["support"])
            await until(
                lambda: all(rt.agent_board.agents[u].state is AgentState.AVAILABLE for u in ("alice", "bruno")),
                10,
                "agents available",
            )
            await ami.queue_pause("support", "PJSIP/alice", True, "lunch")
            await asyncio.sleep(0.5)
            await ami.queue_pause("support", "PJSIP/alice", False)
            await asyncio.sleep(0.5)

        await step("login, pause, unpause", log_in_and_pause())

        async def answered_call():
            caller = SippCaller(asterisk, "4100", caller="0612345678", talk_seconds=15, max_seconds=40)
            await caller.start()
            await phones["alice"].wait_calls("answered", 1, timeout=20)
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.ON_CALL, 10, "alice on call")
            uniqueid = next(iter(rt.call_tracker.open))
            channel = rt.call_tracker.open[uniqueid].channel
            await ami.list_action({"Action": "QueueStatus"})
            await ami.list_action({"Action": "CoreShowChannels"})
            await ami.mix_monitor(channel, f"trace-{uniqueid}.wav", "b")
            agent_channel = next(
                c.channel for c in rt.channels.channels.values() if c.channel.startswith("PJSIP/alice-")
            )
            carla = f"PJSIP/{accounts['carla'].sip_username}"
            await ami.originate(
                OriginateRequest(
                    channel=carla,
                    application="ChanSpy",
                    data=f"{agent_channel.rsplit('-', 1)[0]}-,qE",
                    caller_id="Spy <7000>",
                    action_id="trace-spy-1",
                )
            )
            await phones["carla"].wait_calls("answered", 1, timeout=10)
            await asyncio.sleep(2.0)
            spy = next((c.channel for c in rt.channels.channels.values() if c.channel.startswith(carla + "-")), None)
            if spy:
                await ami.hangup(spy)
            # the desk's hold and resume (Hold, Unhold): an attended transfer to [ccserver-hold]
            await ami.atxfer(agent_channel, "ccserver-hold", "1")
            await asyncio.sleep(1.8)
            await ami.cancel_atxfer(agent_channel)
            await caller.wait(timeout=40)
            await until(lambda: not rt.call_tracker.open, 10, "the answered call closed")
            await asyncio.sleep(2.0)  # wrap-up ends

        await step("answered call with MixMonitor, ChanSpy, Originate", answered_call())

        async def held_then_agent_gone(requeue: bool):
            # the desk's hold, then the agent's channel hangs up: [ccserver-requeue] puts the
            # customer back in the queue (alice gets them again), or, nobody left in it, fails
            if not requeue:
                await rt.acd.login("alice", ["support"])
            caller = SippCaller(asterisk, "4100", caller="0612345679", talk_seconds=12, max_seconds=40)
            await caller.start()
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.ON_CALL, 20, "alice on call")
            uniqueid = rt.agent_board.agents["alice"].call.uniqueid
            await until(lambda: uniqueid in rt.call_tracker.open, 10, "the call record")
            await rt.call_control.hold("alice", "agent", uniqueid)
            await until(lambda: rt.call_control.board.calls[uniqueid].settled, 10, "the customer on hold")
            if not requeue:
                await rt.acd.logout_everywhere("alice", actor="admin", why="trace")
            await ami.hangup(rt.call_control.board.calls[uniqueid].agent_channel)
            await caller.wait(timeout=40)
            await until(lambda: not rt.call_tracker.open, 10, "the call closed")
            await asyncio.sleep(2.0)  # wrap-up ends

        await step("held customer put back in the queue", held_then_agent_gone(True))

        async def overflow_and_callback():
            # an overflow queue (nobody logged in, 2 s max wait) and a callback request
            over = SippCaller(asterisk, "4200", caller="0633445566", talk_seconds=8)
            back = SippCaller(asterisk, "4300", caller="0677889900", talk_seconds=14, dtmf=[(2.0, "9")])
            await over.start()
            await back.start()
            await over.wait(timeout=20)
            await back.wait(timeout=30)

        await step("overflow and callback", overflow_and_callback())

        async def log_out():
            for username in ("alice", "bruno"):
                await rt.acd.logout(username)
            await asyncio.sleep(1.0)

        await step("logout", log_out())
        await step("held customer, nobody left in the queue", held_then_agent_gone(False))

        async def refused_above_capacity():
            # the node admits MAX_CALLS callers at once: the next one is refused (CcsRefused)
            callers = [
                SippCaller(asterisk, "4100", caller=f"06111111{i:02d}", talk_seconds=4) for i in range(MAX_CALLS + 1)
            ]
            for caller in callers:
                await caller.start()
                await asyncio.sleep(0.3)
            for caller in callers:
                await caller.wait(timeout=20)

        await step("a caller above capacity", refused_above_capacity())
    finally:
        for phone in phones.values():
            await phone.stop()


async def outbound(asterisk, tmp: Path, tap: Tap) -> None:
    """A progressive campaign with answering-machine detection calling a machine (a long
    greeting) and a person: the dialer's UserEvents (CcsDialer, CcsCallData). Reuses the outbound
    integration test's `Center`."""
    from tests.integration.test_outbound_dialer import OPEN_CONSENT_REGIME, Center, greeting_wav

    human, machine = "0612000021", "0612000022"
    tmp.mkdir(parents=True, exist_ok=True)
    center = Center(
        asterisk,
        tmp,
        OPEN_CONSENT_REGIME,
        {
            human: Answer(audio=greeting_wav(tmp / "hello.wav"), talk_seconds=6),
            machine: Answer(audio=True, talk_seconds=8),
        },
    )
    center.runtime.pbx.ami.manager.save_stream = tap

    async def campaign():
        async with center:
            cid = await center.campaign([machine, human], amd=True)
            await center.service.campaigns.change_status(cid, "start", "super1")

            def finished():
                attempts = center.attempts(cid)
                return len(attempts) == 2 and all(a.ended_at for a in attempts.values())

            await until(finished, 40, "both attempts ended")

    await step("outbound campaign", campaign())


async def record(out: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="ccs-traces-") as name:
        tmp = Path(name)
        asterisk = await asyncio.to_thread(
            start_test_instance, tmp / "asterisk", asterisk={"max_concurrent_calls": MAX_CALLS}
        )
        try:
            srv = Server(tmp / "server", endpoint_of(asterisk.info), config_writer=asterisk)
            tap = Tap()
            srv.runtime.pbx.ami.manager.save_stream = tap  # before the login: FullyBooted
            async with srv:
                await scenario(srv, asterisk, tmp)
            await outbound(asterisk, tmp / "outbound", tap)
        finally:
            await asyncio.to_thread(asterisk.destroy)
    counts = write_traces(tap, out)
    wanted = (
        {n for n in AMI_TRANSLATORS if n != "UserEvent"} | set(LIST_REPLIES) | {f"UserEvent-{n}" for n in USER_EVENTS}
    )
    missing = sorted(wanted - set(counts))
    for name, count in sorted(counts.items()):
        print(f"{name}: {count}")
    if missing:
        print("not seen:", ", ".join(missing), file=sys.stderr)
        return 1
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    sys.exit(asyncio.run(record(args.out)))


if __name__ == "__main__":
    main()
