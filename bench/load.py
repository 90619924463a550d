"""Reliability under load: N agents on sipp phones, a supervisor on the wallboard, waves of N
callers, recording on; what the product did, checked against what the phones and callers did.

A private Asterisk (free ports, an RTP range and max_concurrent_calls sized for N) and the real
server process (`ccserver serve` on that instance) run on this machine. The database is seeded
with N agents, a supervisor and one queue (recording "always"); every agent logs in through the
web (login form, then POST /api/agent/login) and keeps its desk WebSocket open, the supervisor
keeps the wallboard's. All N phones are ONE sipp process (SippPhoneBank: N registrations from
an injection file, one UAS answering for all) and each wave of callers is ONE sipp process
(SippCallers: rate-limited, a distinct caller number per call): the load generator must not eat
the cores the product needs. An AMI listener of its own timestamps AgentConnect.

After each wave settles (every caller's process ended and the wallboard shows nobody waiting
and nobody on a call) the wallboard's answered/abandoned counters must equal what the callers
and phones saw. At the end, the calls table is compared with the calls placed (one row per
call, answered ones with the agent whose phone answered and a talk time near the one played)
and the recordings table with the answered calls.

Usage: python bench/load.py [--agents 100] [--waves 3] [--talk 20] [--rate N/10] [--sweep 50,100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import free_port, percentile  # noqa: E402
from ccserver.adapters.asterisk.instance import AsteriskInstance  # noqa: E402
from ccserver.adapters.db.acd import AcdRepository  # noqa: E402
from ccserver.adapters.db.database import Database  # noqa: E402
from ccserver.adapters.db.tables import Agent, User  # noqa: E402
from ccserver.capabilities.acd.model import QueueDefinition, sip_password_digests  # noqa: E402
from ccserver.core.clock import SystemClock  # noqa: E402
from ccserver.core.passwords import hash_password  # noqa: E402
from tests.support.asterisk import cleanup_stale_test_instances, settings_for_test  # noqa: E402
from tests.support.sipp import Answer, SippCallers, SippPhoneBank  # noqa: E402

logger = logging.getLogger(__name__)

QUEUE = "load"
NUMBER = "4100"
PASSWORD = "load-bench-password"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------ measurements
class ProcessSampler:
    """CPU (% of one core) and RSS of a process, from /proc, sampled every second."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, float, int]] = []  # (monotonic, cpu seconds, rss bytes)

    def sample(self) -> None:
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
            rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            return
        self.samples.append((time.monotonic(), cpu, rss))

    def between(self, start: float, end: float) -> dict:
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return {"cpu_mean": None, "cpu_max": None, "rss_max_mb": None}
        rates = [100 * (b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(inside, inside[1:]) if b[0] > a[0]]
        return {
            "cpu_mean": 100 * (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0]),
            "cpu_max": max(rates),
            "rss_max_mb": max(s[2] for s in inside) / 2**20,
        }


class AmiListener:
    """A plain AMI client of the bench's own: timestamps AgentConnect as it arrives."""

    def __init__(self, host: str, port: int, username: str, secret: str) -> None:
        self.address = (host, port)
        self.credentials = (username, secret)
        self.agent_connects: list[tuple[float, dict]] = []
        self._task: asyncio.Task | None = None
        self._writer = None

    async def start(self) -> None:
        reader, writer = await asyncio.open_connection(*self.address)
        self._writer = writer
        await reader.readline()  # banner
        writer.write(
            (
                f"Action: Login\r\nUsername: {self.credentials[0]}\r\n"
                f"Secret: {self.credentials[1]}\r\nEvents: call,agent\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        self._task = asyncio.create_task(self._read(reader))

    async def _read(self, reader) -> None:
        block: dict[str, str] = {}
        while True:
            line = await reader.readline()
            if not line:
                return
            line = line.decode(errors="replace").rstrip("\r\n")
            if line:
                key, _, value = line.partition(":")
                block[key.strip()] = value.strip()
                continue
            if block.get("Event") == "AgentConnect":
                self.agent_connects.append((time.monotonic(), block))
            block = {}

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        if self._writer:
            self._writer.close()


class Wallboard:
    """The supervisor's wallboard WebSocket: every push, timestamped on arrival."""

    def __init__(self) -> None:
        self.pushes: list[tuple[float, dict]] = []
        self.changed = asyncio.Event()

    @property
    def last(self) -> dict | None:
        return self.pushes[-1][1] if self.pushes else None

    async def read(self, ws) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if data.get("topic") == "wallboard":
                self.pushes.append((time.monotonic(), data))
                self.changed.set()

    def queue(self) -> dict:
        board = self.last or {"queues": []}
        return next((q for q in board["queues"] if q["queue"] == QUEUE), {})

    def agent_states(self) -> dict[str, str]:
        return {a["username"]: a["state"] for a in (self.last or {}).get("agents", [])}

    async def wait(self, predicate, timeout: float) -> bool:
        """Wait for a push satisfying predicate(); False when none came within `timeout`."""
        deadline = time.monotonic() + timeout
        while not (self.last is not None and predicate()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(remaining, 1.0))
            except TimeoutError:
                pass
        return True


# ------------------------------------------------------------------------------ the set-up
def seed(db_url: str, agents: int) -> list[tuple[str, str]]:
    """N agents (SIP accounts), a supervisor of the queue, the queue. Returns the accounts."""
    db = Database(db_url)
    db.upgrade()
    clock = SystemClock()
    repo = AcdRepository(db, clock)
    repo.save_queue(
        QueueDefinition(
            name=QUEUE,
            numbers=(NUMBER,),
            holidays="",
            announce_position=False,
            announce_holdtime=False,
            recording_policy="always",
            retention_days=30,
        ),
        create=True,
    )
    shared_hash = hash_password(PASSWORD)  # one scrypt: N are not what is measured
    now = clock.now()
    accounts = []
    with db.session() as s:
        for i in range(agents):
            name = f"agent{i:03d}"
            user = User(
                username=name,
                display_name=f"Agent {i}",
                password_hash=shared_hash,
                role="agent",
                active=True,
                created_at=now,
            )
            s.add(user)
            s.flush()
            sip_password = secrets.token_hex(10)
            digests = sip_password_digests(name, sip_password)  # only digests are stored
            s.add(
                Agent(
                    user_id=user.id,
                    sip_username=name,
                    sip_password_md5=digests["MD5"],
                    sip_password_sha256=digests["SHA-256"],
                    skills="{}",
                    created_at=now,
                )
            )
            accounts.append((name, sip_password))
        s.add(
            User(
                username="sup",
                display_name="Superviseur",
                password_hash=shared_hash,
                role="supervisor",
                active=True,
                created_at=now,
            )
        )
    repo.give_scope("sup", "queue", QUEUE)
    db.dispose()
    return accounts


async def web_login(base: str, username: str) -> aiohttp.ClientSession:
    """A client logged in through the login form, with its CSRF token in `session.csrf`."""
    session = aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get("/login") as page:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    async with session.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}, allow_redirects=False
    ) as resp:
        if resp.status != 302:
            raise RuntimeError(f"login {username}: HTTP {resp.status} {await resp.text()}")
    async with session.get("/api/me") as me:
        session.csrf = (await me.json())["csrf_token"]
    return session


@dataclass
class WaveReport:
    index: int
    placed: int = 0
    answered: int = 0
    abandoned: int = 0
    failed: int = 0
    refused: int = 0
    wait_p50: float | None = None
    wait_p95: float | None = None
    server: dict = field(default_factory=dict)
    asterisk: dict = field(default_factory=dict)
    sipp_cpu: tuple = (None, None, None)  # the generator: phones' and callers' sipp, this script
    board_offered: int | None = None
    board_answered: int | None = None
    board_abandoned: int | None = None
    board_matches: bool = False
    settled: bool = False


@dataclass
class LoadReport:
    agents: int
    waves: list[WaveReport] = field(default_factory=list)
    connect_to_board: list[float] = field(default_factory=list)
    connect_unmatched: int = 0
    records_missing: list[str] = field(default_factory=list)
    records_duplicated: list[str] = field(default_factory=list)
    records_wrong: list[str] = field(default_factory=list)
    unrecorded: list[str] = field(default_factory=list)
    unrecorded_causes: dict[str, int] = field(default_factory=dict)
    recording_delays: list[float] = field(default_factory=list)
    recording_files_missing: list[str] = field(default_factory=list)
    alerts: dict = field(default_factory=dict)
    load_average: str = ""
    stored_in_time: bool = False  # every row written and ended, recordings finished, within 60 s
    work_dir: Path | None = None

    def total(self, name: str) -> int:
        return sum(getattr(w, name) for w in self.waves)


async def run_load(
    agents: int,
    waves: int = 3,
    talk: float = 20.0,
    rate: float = 10.0,
    work: Path | None = None,
    keep: bool = False,
    say=print,
) -> LoadReport:
    """One run (see the module docstring). `work`: where the database, recordings and the
    server's log go (default: a temporary directory, deleted at the end unless `keep`); `keep`
    also keeps the Asterisk instance's directory (sipp traces), stopped."""
    own_work = work is None
    work = Path(work or tempfile.mkdtemp(prefix="ccs-load-"))
    work.mkdir(parents=True, exist_ok=True)
    max_calls = agents + 20
    settings = settings_for_test(
        work, asterisk={"max_concurrent_calls": max_calls, "rtp_port_count": 4 * max_calls + 200}
    )
    cleanup_stale_test_instances(settings)
    instance = AsteriskInstance(settings)
    report = LoadReport(agents=agents, work_dir=work)
    server = None
    sessions: list[aiohttp.ClientSession] = []
    tasks: list[asyncio.Task] = []
    bank = None
    ami = None
    try:
        info = await asyncio.to_thread(instance.up)
        accounts = await asyncio.to_thread(seed, settings.storage.effective_database_url, agents)
        http_port = free_port()
        env = dict(
            os.environ,
            CCSERVER_STORAGE_DATA_DIR=str(work),
            CCSERVER_ASTERISK_INSTANCE=settings.asterisk.instance,
            CCSERVER_WEB_PORT=str(http_port),
            CCSERVER_ASTERISK_MAX_CONCURRENT_CALLS=str(settings.asterisk.max_concurrent_calls),
            CCSERVER_ASTERISK_RTP_PORT_COUNT=str(settings.asterisk.rtp_port_count),
            CCSERVER_LOG_LEVEL="INFO",
            PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        )
        server_log = open(work / "server.log", "w")
        server = subprocess.Popen(
            [sys.executable, "-m", "ccserver.cli", "serve"],
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            cwd=work,
        )
        base = f"http://127.0.0.1:{http_port}"
        say(f"N={agents}: Asterisk {info.name} up, server pid {server.pid} on {base} (traces in {work})")
        async with aiohttp.ClientSession() as probe:
            deadline = time.monotonic() + 120
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"the server exited ({server.returncode}): see {work}/server.log")
                try:
                    async with probe.get(base + "/status") as resp:
                        if resp.status == 200 and (await resp.json())["status"] == "ok":
                            break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server is not healthy after 120 s: see {work}/server.log")
                await asyncio.sleep(0.2)

        samplers = {
            "server": ProcessSampler(server.pid),
            "asterisk": ProcessSampler(instance.pid()),
            "bench": ProcessSampler(os.getpid()),
        }

        async def sample_loop():
            while True:
                for s in list(samplers.values()):
                    s.sample()
                await asyncio.sleep(1.0)

        tasks.append(asyncio.create_task(sample_loop()))

        ami = AmiListener("127.0.0.1", info.ami_port, info.ami_username, info.ami_secret)
        await ami.start()

        # the supervisor's wallboard and the agents' desks, logged in through the web
        board = Wallboard()
        sup = await web_login(base, "sup")
        sessions.append(sup)
        tasks.append(asyncio.create_task(board.read(await sup.ws_connect("/ws"))))

        async def desk(ws):  # the agent's page: it reads its pushes (screen-pop, state...)
            async for _msg in ws:
                pass

        agent_sessions = []
        for start in range(0, agents, 20):
            batch = await asyncio.gather(*(web_login(base, u) for u, _p in accounts[start : start + 20]))
            agent_sessions += batch
        sessions += agent_sessions
        for session in agent_sessions:
            tasks.append(asyncio.create_task(desk(await session.ws_connect("/ws"))))

        bank = SippPhoneBank(instance, accounts, behaviour=Answer(audio_seconds=talk + 10))
        await bank.start()
        samplers["phones"] = ProcessSampler(bank._run.proc.pid)
        await bank.wait_registered(timeout=60 + agents * 0.2)
        say(f"N={agents}: {agents} phones registered (one sipp process), desks and wallboard open")

        for session in agent_sessions:
            async with session.post(
                "/api/agent/login", json={"queues": [QUEUE]}, headers={"X-CSRF-Token": session.csrf}
            ) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"agent login: HTTP {resp.status} {await resp.text()}")
        names = [u for u, _p in accounts]
        if not await board.wait(lambda: [board.agent_states().get(u) for u in names].count("available") == agents, 60):
            raise RuntimeError(f"the wallboard does not show the {agents} agents available: {board.agent_states()}")
        say(
            f"N={agents}: agents logged in to queue {QUEUE!r}; waves of {agents} callers at "
            f"{rate:g}/s talking {talk:g} s"
        )

        placed_calls = []  # every WaveCall of every wave
        answered_total = abandoned_total = offered_total = 0
        for index in range(1, waves + 1):
            wave = WaveReport(index=index)
            callers = [f"07{index:02d}{i:06d}" for i in range(agents)]
            started = time.monotonic()
            run = SippCallers(
                instance,
                NUMBER,
                callers,
                talk_seconds=talk,
                rate=rate,
                cancel_after=max(60.0, 3 * talk),
                name=f"wave{index}",
            )
            await run.start()
            samplers["callers"] = ProcessSampler(run._run.proc.pid)
            calls = await run.wait()
            placed_calls += calls
            wave.placed = len(calls)
            wave.answered = sum(1 for c in calls if c.answered)
            wave.refused = sum(1 for c in calls if c.status == 503)
            wave.abandoned = sum(1 for c in calls if c.cancelled)
            wave.failed = wave.placed - wave.answered - wave.abandoned - wave.refused
            if wave.placed != len(callers):
                wave.failed += len(callers) - wave.placed
            answered_total += wave.answered
            abandoned_total += wave.abandoned
            offered_total += wave.answered + wave.abandoned
            # the caller's INVITE (into the queue) to the agent's answer (the phone's ACK); the
            # caller's 200 comes with the agent's answer (the queue answers the caller then)
            by_caller = {c.caller: c for c in bank.calls if c.answered}
            pairs = [(c, by_caller[c.caller]) for c in calls if c.answered and c.caller in by_caller]
            waits = [agent.answered_at - c.invite_at for c, agent in pairs]
            wave.wait_p50, wave.wait_p95 = percentile(waits, 0.5), percentile(waits, 0.95)
            # settled: nobody waiting, nobody on a call, the counters where the phones say
            wave.settled = await board.wait(
                lambda answered=answered_total, abandoned=abandoned_total, offered=offered_total: (
                    board.queue().get("waiting") == 0
                    and board.queue().get("answered") == answered
                    and board.queue().get("abandoned") == abandoned
                    and board.queue().get("offered") == offered
                    and all(s == "available" for s in board.agent_states().values())
                ),
                60,
            )
            figures = board.queue()
            wave.board_offered = figures.get("offered")
            wave.board_answered, wave.board_abandoned = figures.get("answered"), figures.get("abandoned")
            phones_answered = sum(1 for c in bank.calls if c.answered)
            wave.board_matches = (
                wave.board_answered == answered_total == phones_answered
                and wave.board_abandoned == abandoned_total
                and wave.board_offered == offered_total
            )
            ended = time.monotonic()
            wave.server = samplers["server"].between(started, ended)
            wave.asterisk = samplers["asterisk"].between(started, ended)
            wave.sipp_cpu = (
                samplers["phones"].between(started, ended)["cpu_mean"],
                samplers["callers"].between(started, ended)["cpu_mean"],
                samplers["bench"].between(started, ended)["cpu_mean"],
            )
            report.waves.append(wave)
            say(format_wave(wave))

        # AgentConnect (our AMI listener) to the first push showing that agent on that call
        for at, event in ami.agent_connects:
            agent = event.get("Interface", "").rsplit("/", 1)[-1] or event.get("MemberName", "")
            ids = {event.get("Uniqueid"), event.get("Linkedid")}
            push = next(
                (
                    t
                    for t, b in board.pushes
                    if t >= at
                    and any(
                        a["username"] == agent
                        and a["state"] == "on_call"
                        and a.get("call")
                        and a["call"]["uniqueid"] in ids
                        for a in b["agents"]
                    )
                ),
                None,
            )
            if push is None:
                report.connect_unmatched += 1
            else:
                report.connect_to_board.append(push - at)

        async with sup.get("/status") as resp:
            report.alerts = (await resp.json()).get("alerts", {})
        report.stored_in_time = await wait_stored(settings.storage.effective_database_url, placed_calls, 60)
        check_records(report, settings.storage.effective_database_url, work, placed_calls, bank, talk)
        report.load_average = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        return report
    finally:
        for task in tasks:
            task.cancel()
        if ami:
            await ami.stop()
        for session in sessions:
            await session.close()
        if bank is not None:
            await bank.stop()
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        await asyncio.to_thread(instance.down if keep else instance.destroy)
        if own_work and not keep:
            shutil.rmtree(work, ignore_errors=True)


def read_tables(db_url: str) -> tuple[list[dict], list[dict]]:
    """The inbound calls rows and the recordings rows (read-only, beside the server)."""
    path = db_url.removeprefix("sqlite:///")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    con.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in con.execute("SELECT * FROM calls WHERE direction = 'inbound' OR direction IS NULL")]
        recordings = [dict(r) for r in con.execute("SELECT * FROM recordings")]
    finally:
        con.close()
    return rows, recordings


async def wait_stored(db_url: str, placed, timeout: float) -> bool:
    """Wait until the server has written what it will write: a row for every call placed,
    ended, and no recording of them still being made or stored. False after `timeout`."""
    numbers = {c.caller for c in placed}
    deadline = time.monotonic() + timeout
    while True:
        rows, recordings = await asyncio.to_thread(read_tables, db_url)
        mine = [r for r in rows if r["caller_number"] in numbers]
        ids = {r["uniqueid"] for r in mine}
        if (
            {r["caller_number"] for r in mine} == numbers
            and all(r["ended_at"] for r in mine)
            and not any(r["status"] in ("recording", "paused") for r in recordings if r["call_uniqueid"] in ids)
        ):
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.5)


def check_records(report: LoadReport, db_url: str, work: Path, placed, bank, talk: float) -> None:
    """The calls table against the calls placed; the recordings table against the answered."""
    rows, recordings = read_tables(db_url)
    by_number: dict[str, list[dict]] = {}
    for row in rows:
        by_number.setdefault(row["caller_number"] or "", []).append(row)
    agent_of = {c.caller: c.dialed for c in bank.calls if c.answered}
    recs_by_call: dict[str, list[dict]] = {}
    for rec in recordings:
        recs_by_call.setdefault(rec["call_uniqueid"], []).append(rec)
    store = work / "recordings"
    for call in placed:
        found = by_number.get(call.caller, [])
        if not found:
            report.records_missing.append(call.caller)
            continue
        if len(found) > 1:
            report.records_duplicated.append(f"{call.caller} x{len(found)}")
        row = found[0]
        problems = []
        if call.answered:
            if row["outcome"] != "answered":
                problems.append(f"outcome {row['outcome']}")
            if row["agent"] != agent_of.get(call.caller):
                problems.append(f"agent {row['agent']!r}, the phone of {agent_of.get(call.caller)!r} answered")
            if row["talk_seconds"] is None or row["talk_seconds"] < talk - 2:
                problems.append(f"talk {row['talk_seconds']} s")
            if row["ended_at"] is None:
                problems.append("not ended")
            recs = recs_by_call.get(row["uniqueid"], [])
            stored = [r for r in recs if r["status"] == "stored"]
            if not stored:
                causes = (
                    "; ".join(f"{r['status']}: {r['error']}" if r["error"] else r["status"] for r in recs)
                    or "no recording row"
                )
                report.unrecorded.append(f"{call.caller} ({causes})")
                report.unrecorded_causes[causes] = report.unrecorded_causes.get(causes, 0) + 1
            else:
                rec = stored[0]
                answered = datetime.fromisoformat(str(row["answered_at"]))
                began = datetime.fromisoformat(str(rec["started_at"]))
                if answered.tzinfo is None:
                    answered = answered.replace(tzinfo=UTC)
                if began.tzinfo is None:
                    began = began.replace(tzinfo=UTC)
                report.recording_delays.append((began - answered).total_seconds())
                if not (store / rec["path"]).is_file():
                    report.recording_files_missing.append(call.caller)
        else:
            expected = "refused" if call.status == 503 else "abandoned" if call.cancelled else None
            if expected and row["outcome"] != expected:
                problems.append(f"outcome {row['outcome']} (expected {expected})")
        if problems:
            report.records_wrong.append(f"{call.caller}: {', '.join(problems)}")


# ------------------------------------------------------------------------------ the printing
def _f(value, unit="", digits=2) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def format_wave(w: WaveReport) -> str:
    return (
        f"  wave {w.index}: offered {w.placed} answered {w.answered} abandoned {w.abandoned} "
        f"failed {w.failed} refused {w.refused} | caller in -> agent answer p50 {_f(w.wait_p50, ' s')} "
        f"p95 {_f(w.wait_p95, ' s')} | server CPU {_f(w.server.get('cpu_mean'), '%', 0)} "
        f"(max {_f(w.server.get('cpu_max'), '%', 0)}) RSS {_f(w.server.get('rss_max_mb'), ' MB', 0)}"
        f" | Asterisk CPU {_f(w.asterisk.get('cpu_mean'), '%', 0)} "
        f"(max {_f(w.asterisk.get('cpu_max'), '%', 0)}) RSS {_f(w.asterisk.get('rss_max_mb'), ' MB', 0)}"
        f" | generator CPU: sipp phones {_f(w.sipp_cpu[0], '%', 0)} callers "
        f"{_f(w.sipp_cpu[1], '%', 0)}, bench {_f(w.sipp_cpu[2], '%', 0)}"
        f" | wallboard offered {w.board_offered} answered {w.board_answered} abandoned {w.board_abandoned} "
        f"{'= phones' if w.board_matches else '!= phones'}{'' if w.settled else ' (not settled in 60 s)'}"
    )


def format_report(r: LoadReport) -> str:
    delays = r.connect_to_board
    lines = [
        f"N={r.agents}: offered {r.total('placed')} answered {r.total('answered')} "
        f"abandoned {r.total('abandoned')} failed {r.total('failed')} refused {r.total('refused')}",
        f"  AgentConnect -> wallboard push: p50 {_f(percentile(delays, 0.5), ' s')} p95 "
        f"{_f(percentile(delays, 0.95), ' s')} max {_f(max(delays, default=None), ' s')} "
        f"({len(delays)} matched, {r.connect_unmatched} never shown)",
        f"  records vs calls placed: missing {len(r.records_missing)} duplicated "
        f"{len(r.records_duplicated)} wrong {len(r.records_wrong)}",
        f"  recordings: unrecorded answered calls {len(r.unrecorded)}, files missing "
        f"{len(r.recording_files_missing)}, start delay after the answer p50 "
        f"{_f(percentile(r.recording_delays, 0.5), ' s')} p95 {_f(percentile(r.recording_delays, 0.95), ' s')} "
        f"max {_f(max(r.recording_delays, default=None), ' s')}",
        f"  database settled (rows ended, recordings finished) within 60 s: {r.stored_in_time}",
        f"  wallboard = phones after every wave: {all(w.board_matches for w in r.waves)}; "
        f"alerts {r.alerts}; load average {r.load_average}",
    ]
    if r.unrecorded_causes:
        lines.append(f"  unrecorded, by cause: {r.unrecorded_causes}")
    for name in ("records_missing", "records_duplicated", "records_wrong", "unrecorded"):
        items = getattr(r, name)
        if items:
            lines.append(f"  {name}: {items[:10]}{' ...' if len(items) > 10 else ''}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100, help="N: agents, and callers per wave")
    parser.add_argument("--sweep", default="", help="several N in turn, e.g. 50,100,150")
    parser.add_argument("--waves", type=int, default=3)
    parser.add_argument("--talk", type=float, default=20.0, help="seconds each caller talks")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="new callers per second (default N/10: a wave arrives in 10 s, so all "
        "N calls are up at once when the talk time is longer)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the traces (work directory)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    counts = [int(x) for x in args.sweep.split(",")] if args.sweep else [args.agents]
    for n in counts:
        print(f"--- load average before: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}", flush=True)
        report = asyncio.run(
            run_load(n, args.waves, args.talk, args.rate or n / 10, keep=args.keep, say=lambda s: print(s, flush=True))
        )
        print(format_report(report), flush=True)


if __name__ == "__main__":
    main()
