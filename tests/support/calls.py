"""Shared set-up for the call tests on the real Asterisk: a queue call answered by an agent's sipp
phone, the desk's API and WebSocket pushes, what each party hears (RTP captures), the stored
call row, and the click-to-dial desk and campaign callbacks."""

from __future__ import annotations

import asyncio
import math
import time
from contextlib import asynccontextmanager
from datetime import timedelta

from ccserver.capabilities.acd.model import QueueDefinition, sip_password_digests
from ccserver.capabilities.agents.model import AgentState
from tests.support.rtp_capture import ALAW, ULAW, RtpCapture
from tests.support.server import Server, until
from tests.support.sipp import Answer, SippCaller, SippPhone

SPEECH = 300  # RMS: the sample speech is 1000-4000, silence 0-10
MOH_FREQS = (440.0, 523.25, 659.25)  # the instance's music-on-hold chime
QUEUE_NUMBER = "4100"  # the support queue of setup_call_center


def talk() -> Answer:
    """A phone that answers and talks (the sample speech, looped) for two minutes."""
    return Answer(audio=True, audio_seconds=120)


async def credentials_loaded(asterisk, sip_username: str, sip_password: str, timeout: float = 10) -> None:
    """Wait until Asterisk holds this password's digest for the account (the shared test
    Asterisk may still hold an earlier test's account of the same name, whose REGISTER with the
    new password is refused with 401)."""
    wanted = sip_password_digests(sip_username, sip_password)["SHA-256"]

    def loaded() -> bool:
        return wanted in asterisk.cli(f"pjsip show auth {sip_username}")

    await until(lambda: asyncio.to_thread(loaded), timeout, f"the credentials of {sip_username} loaded")


async def start_phones(asterisk, accounts, **behaviours) -> dict[str, SippPhone]:
    """One registered sipp phone per agent account (`behaviours[username]`, else Answer())."""
    phones = {}
    for username, account in accounts.items():
        await credentials_loaded(asterisk, account.sip_username, account.sip_password)
        phone = SippPhone(
            asterisk, account.sip_username, account.sip_password, behaviour=behaviours.get(username, Answer())
        )
        await phone.start()
        await phone.wait_registered()
        phones[username] = phone
    return phones


async def log_in(rt, *usernames) -> None:
    for username in usernames:
        await rt.acd.login(username)
    await until(lambda: all(rt.agent_board.agents[u].state is AgentState.AVAILABLE for u in usernames), 5)


async def setup_call_center(srv: Server, *, wrapup: int = 2, callback_key: str = "", strategy: str = "ringall") -> dict:
    """A queue needing French, Alice (fr:9) and Bruno (fr:3): Alice is the best-skilled."""
    rt = srv.runtime
    await until(srv.ok, 15)
    for skill in ("fr", "tech"):
        await asyncio.to_thread(rt.acd_repo.add_skill, skill)
    for code in ("break", "lunch"):
        await asyncio.to_thread(rt.acd_repo.add_pause_reason, code, code.title())
    await rt.acd.create_queue(
        QueueDefinition(
            name="support",
            strategy=strategy,
            required_skills={"fr": 1},
            numbers=(QUEUE_NUMBER,),
            wrapup_seconds=wrapup,
            ring_seconds=10,
            holidays="",
            callback_key=callback_key,
            dispositions=("resolved", "escalated"),
        ),
        actor="admin",
    )
    accounts = {}
    for username, skills in (("alice", "fr:9"), ("bruno", "fr:3")):
        accounts[username] = await rt.acd.create_agent(
            username, "password-1234", username.title(), skills, actor="admin"
        )
    return accounts


async def post(client, path, body=None):
    resp = await client.post(path, json=body or {}, headers={"X-CSRF-Token": client.csrf})
    return resp.status, await resp.json()


@asynccontextmanager
async def queue_call(
    srv,
    asterisk,
    accounts,
    *,
    number: str = QUEUE_NUMBER,
    agent: str = "alice",
    talk_seconds: float | None = None,
    max_seconds: float = 120,
    caller_audio=True,
    **behaviours,
):
    """A customer (sipp, talking) calls `number`; `agent` (logged in, the only one) answers.
    `behaviours` gives each agent's phone (default: talks); the phones of `accounts` are all
    registered; `caller_audio` is what the customer plays (see SippCaller). Yields (phones, caller, uniqueid) once the call is answered on the tracker;
    stops every phone and the caller afterwards."""
    rt = srv.runtime
    phones = await start_phones(asterisk, accounts, **{name: behaviours.get(name, talk()) for name in accounts})
    caller = SippCaller(
        asterisk, number, caller="0644556677", audio=caller_audio, talk_seconds=talk_seconds, max_seconds=max_seconds
    )
    try:
        await log_in(rt, agent)
        await caller.start()
        await until(lambda: rt.agent_board.agents[agent].state is AgentState.ON_CALL, 15)
        uniqueid = rt.agent_board.agents[agent].call.uniqueid
        await until(lambda: uniqueid in rt.call_tracker.open and rt.call_tracker.open[uniqueid].answered_at, 5)
        yield phones, caller, uniqueid
    finally:
        await caller.stop()
        for phone in phones.values():
            await phone.stop()


class Ears:
    """RTP captures of what each named party hears, started together."""

    def __init__(self, **parties) -> None:
        self.captures = {name: RtpCapture(party._run.media_port).start() for name, party in parties.items()}

    def __getitem__(self, name: str) -> RtpCapture:
        return self.captures[name]

    def stop(self) -> None:
        for capture in self.captures.values():
            capture.stop()

    def rms(self, name: str, start: float, end: float) -> int:
        return round(self.captures[name].rms(start, end))


async def listen(seconds: float, **parties) -> tuple[Ears, float, float]:
    """Capture what each party hears for `seconds`: (ears, start, end) in monotonic time."""
    ears = Ears(**parties)
    start = time.monotonic()
    await asyncio.sleep(seconds)
    end = time.monotonic()
    ears.stop()
    return ears, start, end


async def assert_talking_together(agent_phone, caller, *, music: bool = True) -> None:
    """For 3 s the agent and the customer hear each other talk (and, unless `music` is False,
    the customer hears no music-on-hold)."""
    ears, back, _ = await listen(3, agent=agent_phone, caller=caller)
    assert ears["agent"].rms(back + 0.8, back + 2.8) > SPEECH
    assert ears["caller"].rms(back + 0.8, back + 2.8) > SPEECH
    if music:
        assert tonal_share(ears["caller"], back + 0.8, back + 2.8) < 0.3


def tonal_share(capture: RtpCapture, start: float, end: float) -> float:
    """How much of what was heard is the music-on-hold chime: per 0.25 s chunk, the share of its
    energy at the chime's frequencies (Goertzel), averaged. ~1 for the chime, <0.2 for speech."""
    samples = []
    for at, payload_type, payload in capture.packets:
        if start <= at < end and payload_type in (0, 8):
            table = ALAW if payload_type == 8 else ULAW
            samples += [table[b] for b in payload]
    n = 2000
    shares = []
    for offset in range(0, len(samples) - n + 1, n):
        chunk = samples[offset : offset + n]
        energy = sum(x * x for x in chunk)
        if energy < n * SPEECH * SPEECH / 4:
            continue
        best = 0.0
        for freq in MOH_FREQS:
            coeff = 2 * math.cos(2 * math.pi * freq / 8000)
            s1 = s2 = 0.0
            for x in chunk:
                s1, s2 = x + coeff * s1 - s2, s1
            power = s1 * s1 + s2 * s2 - coeff * s1 * s2
            best = max(best, power / (n / 2 * energy))
        shares.append(best)
    return sum(shares) / len(shares) if shares else 0.0


class DeskPushes:
    """The `call_control_changed` pushes one desk's WebSocket receives, with their arrival time."""

    def __init__(self, srv, client) -> None:
        self.srv = srv
        self.client = client
        self.pushes: list[tuple[float, dict]] = []
        self._ws = None
        self._reader: asyncio.Task | None = None

    async def __aenter__(self) -> DeskPushes:
        self._ws = await self.client.ws_connect("/ws", headers={"Origin": self.srv.base_url})

        async def read():
            async for msg in self._ws:
                data = msg.json()
                if data.get("topic") == "call_control_changed":
                    self.pushes.append((time.monotonic(), data["call"]))

        self._reader = asyncio.create_task(read())
        return self

    async def __aexit__(self, *exc) -> None:
        self._reader.cancel()
        await self._ws.close()

    def clear(self) -> None:
        self.pushes.clear()

    async def failure(self, timeout: float = 10) -> tuple[float, dict]:
        """The first transfer failure pushed: (when it arrived, the call as pushed)."""
        await until(lambda: any(c.get("transfer") == "failed" for _, c in self.pushes), timeout, "the failure pushed")
        return next((at, c) for at, c in self.pushes if c.get("transfer") == "failed")


def call_actions(rt, actor: str) -> list[str]:
    """The `call.*` audit actions of `actor`, oldest first."""
    return [e.action for e in reversed(rt.audit.list(actor=actor)) if e.action.startswith("call.")]


async def stored_call(rt, uniqueid: str):
    """The call's stored row once written (flushes the call writer first)."""
    await rt.call_writer.flush_now()
    [row] = [r for r in await asyncio.to_thread(rt.acd_repo.calls) if r.uniqueid == uniqueid]
    return row


# --- click-to-dial ---------------------------------------------------------------------------------
async def desk_socket(center):
    """The agent of a click-to-dial `Center` logged in: (client, CSRF headers, WebSocket after hello)."""
    client = await center.login(center.agent)
    me = await (await client.get("/api/me")).json()
    origin = f"http://{center.server.host}:{center.server.port}"
    ws = await client.ws_connect("/ws", headers={"Origin": origin})
    assert (await ws.receive_json(timeout=5))["topic"] == "hello"
    return client, {"X-CSRF-Token": me["csrf_token"]}, ws


async def next_of(ws, topic: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = await ws.receive_json(timeout=max(0.1, deadline - time.monotonic()))
        if message.get("topic") == topic:
            return message


async def callback_contact(center, campaign_name: str, number: str, person: str, *, due: bool = True):
    """A preview campaign (caller ID 0162000001) with one consenting contact, `person` at
    `number`, called back by the Center's agent (due 5 minutes ago when `due`)."""
    service = center.service
    campaign = await service.campaigns.create_campaign(
        campaign_name, {"mode": "preview", "caller_ids": ["0162000001"]}, "super1"
    )
    preview = await service.campaigns.preview_import(
        campaign["id"], f"numero;nom;code postal\n{number};{person};75011\n".encode(), "p.csv", "utf-8", "super1"
    )
    await service.campaigns.commit_import(preview["import_id"], "super1")
    await service.oppositions.record_consent(
        number=number, source="web", proof_ref="P-1", actor="super1", at=center.clock.now() - timedelta(days=1)
    )
    (contact,) = service.repo.contacts(campaign["id"])[0]
    now = center.clock.now()
    extra = {"next_attempt_at": now - timedelta(minutes=5)} if due else {}
    service.repo.update_contact(contact.id, now, status="callback", callback_agent=center.agent, **extra)
    return contact


async def ended_row(rt, uniqueid: str, what: str = "the call record ended"):
    """The call's row once its end is stored."""

    def stored():
        row = rt.acd_repo.call(uniqueid)
        return row if row is not None and row.ended_at is not None else None

    return await until(stored, 15, what)
