"""Shared set-up for the call tests on the real Asterisk: a queue call answered by an agent's sipp
phone, the desk's API and WebSocket pushes, what each party hears (RTP captures), the stored
call row, the click-to-dial desk and campaign callbacks, and recorded calls whose parties each
play their own tone (`tone_call`: who is heard when in the stored recording)."""

from __future__ import annotations

import asyncio
import math
import time
import wave
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from ccserver.capabilities.acd.model import QueueDefinition, sip_password_digests
from ccserver.capabilities.agents.model import AgentState
from tests.support.rtp_capture import ALAW, ULAW, RtpCapture
from tests.support.server import Server, endpoint_of, until
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


async def hang_up_customer(rt, uid) -> None:
    """The customer's channel hung up over AMI; returns once the call and its legs are closed
    and written (the call record and legs flushed to the database)."""
    await rt.pbx.ami.hangup(rt.call_tracker.open[uid].channel)
    await until(lambda: uid not in rt.call_tracker.open, 10)
    await until(lambda: uid not in rt.acd.legs.calls, 5)
    await rt.bus.drain()
    await rt.writers["db:call-legs"].flush_now()
    await rt.call_writer.flush_now()


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


# --- recorded calls whose parties play tones -----------------------------------------------------
TONES = {"caller": 350.0, "alice": 800.0, "bruno": 1200.0}  # each party's own tone (Hz)
TONE_WINDOW = 0.5  # seconds per analysed chunk of a recording


def tone_wav(path: Path, freq: float, seconds: float = 120.0) -> Path:
    """An 8 kHz mono 16-bit WAV of a pure tone (what a sipp party plays)."""
    rate = 8000
    frames = bytearray()
    for n in range(int(seconds * rate)):
        frames += int(6000 * math.sin(2 * math.pi * freq * n / rate)).to_bytes(2, "little", signed=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames))
    return path


def who_is_heard(path: Path, window: float = TONE_WINDOW) -> list[set[str]]:
    """Per `window` seconds of a recording: which parties' tones are in it (Goertzel power at
    each frequency of TONES; a party is heard when its tone carries >= 10% of the energy)."""
    with wave.open(str(path), "rb") as wav:
        rate, count = wav.getframerate(), wav.getnframes()
        raw = wav.readframes(count)
    samples = [int.from_bytes(raw[i : i + 2], "little", signed=True) for i in range(0, len(raw), 2)]
    size = int(rate * window)
    heard = []
    for start in range(0, len(samples) - size + 1, size):
        chunk = samples[start : start + size]
        energy = sum(x * x for x in chunk)
        present = set()
        if energy > size * 60 * 60:
            for name, freq in TONES.items():
                coeff = 2 * math.cos(2 * math.pi * freq / rate)
                s1 = s2 = 0.0
                for x in chunk:
                    s1, s2 = x + coeff * s1 - s2, s1
                power = s1 * s1 + s2 * s2 - coeff * s1 * s2
                if power / (size / 2 * energy) >= 0.1:
                    present.add(name)
        heard.append(present)
    return heard


def heard_during(heard: list[set[str]], start: float, end: float, window: float = TONE_WINDOW) -> set[str]:
    """Every party heard in the recording between `start` and `end` seconds (whole windows)."""
    first, last = math.ceil(start / window), int(end / window)
    return set().union(*heard[first:last]) if last > first else set()


class ToneCall:
    """A recorded queue call (see `tone_call`): the desk's actions as Alice's browser sends them,
    each waiting until Asterisk did it, and moments of the call (`mark`) as seconds into its
    recording (the file keeps the call's length: paused or held, Asterisk writes silence or the
    music)."""

    def __init__(self, srv, phones, caller, uniqueid: str, client) -> None:
        self.srv = srv
        self.rt = srv.runtime
        self.phones = phones
        self.caller = caller
        self.uid = uniqueid
        self.client = client
        self.marks: dict[str, float] = {}
        self.started = 0.0
        self.spool = None
        self.ended = False
        self.desks = [client]  # closed at the end (closing one stops the test server)

    async def recording_started(self) -> None:
        rec = self.rt.recording
        await until(lambda: rec.live.get(self.uid) and rec.live[self.uid].state == "recording", 5)
        self.started = time.monotonic()
        self.spool = rec.store.spool_path(rec.live[self.uid].spool_name)

    # --- the recording as it goes --------------------------------------------------------------
    def at(self) -> float:
        """Seconds into the recording now."""
        return time.monotonic() - self.started

    def mark(self, name: str) -> float:
        self.marks[name] = self.at()
        return self.marks[name]

    @property
    def state(self) -> str:
        """The live recording's state (recording, paused)."""
        return self.rt.recording.live[self.uid].state

    def size(self) -> int:
        return self.spool.stat().st_size if self.spool is not None and self.spool.exists() else 0

    async def grows(self, what: str) -> None:
        """The spool file gets bigger within 3 s: the recording goes on after `what`."""
        before = self.size()
        await until(lambda: self.size() > before + 8000, 3, f"the recording growing after {what}")

    # --- the desk's actions ----------------------------------------------------------------------
    @property
    def call(self):
        return self.rt.call_control.board.calls[self.uid]

    async def act(self, action: str, body: dict | None = None) -> dict:
        status, answer = await post(self.client, f"/api/calls/{self.uid}/{action}", body)
        assert status == 200, (action, answer)
        return answer

    async def hold(self) -> None:
        await self.act("hold")
        await until(lambda: self.call.held, 5, "the call held")

    async def resume(self) -> None:
        await self.act("resume")
        await until(lambda: not self.call.held, 5, "the call resumed")

    async def consult(self, count: int = 1) -> None:
        """Alice consults Bruno (an attended transfer): Bruno answers (his `count`th call)."""
        await self.act("transfer", {"kind": "agent", "target": "bruno", "attended": True})
        await self.phones["bruno"].wait_calls("answered", count, timeout=15)

    async def cancel(self) -> None:
        """The consultation cancelled: Alice is back with the customer."""
        await self.act("transfer/cancel")
        await until(lambda: not self.call.held, 5, "the customer back with alice")

    async def merge(self) -> None:
        """The consultation becomes a three-way call."""
        await until(lambda: self.call.settled, 5, "the consultation in place")
        await self.act("transfer/merge")

    async def complete(self) -> None:
        """The attended transfer completed: Alice's leg ends, the customer is with Bruno."""
        await until(lambda: self.call.settled, 5, "the consultation in place")
        await self.act("transfer/complete")
        await self.alice_gone(1)

    async def blind_transfer(self, count: int = 1) -> None:
        """A blind transfer to Bruno, who answers (his `count`th call)."""
        await self.act("transfer", {"kind": "agent", "target": "bruno"})
        await self.phones["bruno"].wait_calls("answered", count, timeout=15)

    async def leave(self) -> None:
        """Alice leaves the three-way call."""
        await self.act("leave")
        await self.alice_gone(1)

    async def alice_gone(self, count: int) -> None:
        alice = self.phones["alice"]
        await alice.wait_for(lambda: alice.calls_ended == count, 10, "alice's leg ended")

    async def desk(self, username: str):
        """Another agent's desk (a browser-like client), closed with the call."""
        client = await self.srv.login(username, "password-1234")
        self.desks.append(client)
        return client

    async def recording(self, action: str, client=None) -> dict:
        """Pause or resume the recording from Alice's desk (or `client`'s); the recording as
        answered."""
        status, body = await post(client or self.client, f"/api/agent/recording/{action}")
        assert status == 200, (action, body)
        return body["recording"]

    async def hang_up(self) -> None:
        """The customer's channel hung up (mark "end"); the caller's sipp ends."""
        self.mark("end")
        await self.rt.pbx.ami.hangup(self.rt.call_tracker.open[self.uid].channel)
        await self.caller.wait(timeout=10)
        self.ended = True

    # --- the stored recording --------------------------------------------------------------------
    async def stored(self):
        """(row, path, heard): the call's one stored recording, its file and who is heard in it
        per TONE_WINDOW; its length is the call's (within 1.5 s)."""
        rows = await until(lambda: [r for r in self.rt.recording.repo.for_call(self.uid) if r.ended_at is not None], 15)
        assert len(rows) == 1, rows  # one recording for the whole call, never a second one
        [row] = rows
        assert row.status == "stored", row.error
        path = self.rt.recording.store.store_dir / row.path
        assert abs(row.duration_ms / 1000 - self.marks["end"]) <= 1.5, (row.duration_ms, self.marks)
        return row, path, who_is_heard(path)

    def between(self, heard: list[set[str]], first: str, then: str) -> set[str]:
        """Who is heard from mark `first` (+0.7 s, the change settling) to mark `then` (-0.3 s);
        the mark "start" is the recording's start."""
        start = self.marks.get(first, 0.0)
        return heard_during(heard, start + 0.7, self.marks[then] - 0.3)


@asynccontextmanager
async def tone_call(asterisk, tmp_path: Path):
    """The support queue (records every call), Alice and Bruno (setup_call_center): a customer
    calls, Alice answers. The customer plays 350 Hz, Alice 800 Hz, Bruno 1200 Hz (TONES), so the
    stored WAV says who was heard when. Yields a ToneCall once its recording started; the call is
    hung up at the end if the test did not."""
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        accounts = await setup_call_center(srv)
        audio = {name: tone_wav(tmp_path / f"{name}.wav", freq) for name, freq in TONES.items()}
        agents = {name: Answer(audio=audio[name], audio_seconds=120) for name in ("alice", "bruno")}
        async with queue_call(srv, asterisk, accounts, caller_audio=audio["caller"], **agents) as (phones, caller, uid):
            client = await srv.login("alice", "password-1234")
            call = ToneCall(srv, phones, caller, uid, client)
            try:
                await call.recording_started()
                yield call
                if not call.ended:
                    await call.hang_up()
            finally:
                for desk in call.desks:
                    await desk.close()
