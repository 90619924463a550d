"""sipp as telephones: agent softphones, customers calling in, customers the dialer calls.

Each party is one sipp process started where Asterisk runs (`AsteriskInstance.sipp_command`,
chroot-prefixed in chroot mode), always with a global `-timeout`, its own free ports (`-p` SIP,
`-mp` media, `-cp` control) and every trace in a directory of its own under the instance's
`scratch_dir` (`sipp/<kind>-<name>-<n>/`: scenario.xml, the RTP pcaps, messages.log, logs.log,
errors.log, screen.log, stderr.log), so a failure can be read afterwards. Scenarios are jinja2
templates in `sipp_scenarios/`; every step worth knowing is a `<log>` line that this module tails
while the process runs.

- `SippPhone`: a registering agent softphone. One process: the REGISTER scenario (digest auth,
  refreshed before expiry) is the main scenario and the UAS answering INVITEs is the out-of-call
  scenario on the same socket. One process because Asterisk's endpoints rewrite the contact to
  the source address of the REGISTER (`rewrite_contact = yes`): a REGISTER sent by a second
  process would route calls to that process. Unregisters (`Contact: *`) when stopped.
- `SippCaller`: a customer calling in through the `[customers]` trunk; `run()` returns a
  `CallResult`. Given a SIP account's password it is that provisioned phone placing a call
  (answers the digest challenge; a separate process: Asterisk identifies the endpoint by the From
  user, and calls to the phone still go to its registered contact).
- `SippCustomer`: a UAS standing for the customers an outbound dialer calls; the behaviour can
  depend on the number dialed.

Media: answering parties and callers play one generated RTP stream (payload 8, PCMA, 20 ms)
whose RFC 4733 DTMF events (payload 101) sit at their times in the same stream. A second
`play_pcap_audio` would end the first one in sipp, so audio and DTMF cannot be separate pcaps.
The default audio is the speech of sipp's `g711a.pcap` (looped); a WAV file (8 kHz, mono,
16 bit) can be given instead (played once, then silence).

    async with SippPhone(instance, "agent1", "secret") as phone:      # started and registered
        result = await SippCaller(instance, "100", "0612345678", talk_seconds=5).run()
        assert result.answered and phone.calls_answered == 1
"""

from __future__ import annotations

import array
import asyncio
import atexit
import functools
import itertools
import logging
import math
import os
import random
import re
import signal
import socket
import struct
import sys
import time
import wave
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2

from ccserver.adapters.asterisk.instance import AsteriskInstance, port_free
from ccserver.capabilities.acd.model import sip_password_digests
from ccserver.core.errors import CcError, InvalidInput

logger = logging.getLogger(__name__)

SCENARIO_DIR = Path(__file__).with_name("sipp_scenarios")
SIP_TESTER_DIR = PurePosixPath("/usr/share/sip-tester")  # inside the Asterisk environment
SAMPLE_AUDIO_PCAP = SIP_TESTER_DIR / "g711a.pcap"

PT_PCMA = 8
PT_EVENT = 101
FRAME_SECONDS = 0.02
FRAME_SAMPLES = 160
ALAW_SILENCE = 0xD5
DTMF_EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11, "A": 12, "B": 13, "C": 14, "D": 15}
DTMF_TONE_FRAMES = 6  # 120 ms per digit
DTMF_GAP_FRAMES = 4  # 80 ms between the digits of one string
# final responses a caller expects (each is an optional <recv> in uac.xml)
FAILURE_CODES = (
    300,
    301,
    302,
    380,
    400,
    401,
    402,
    403,
    404,
    405,
    406,
    407,
    408,
    410,
    413,
    414,
    415,
    416,
    420,
    421,
    423,
    480,
    481,
    482,
    483,
    484,
    485,
    486,
    487,
    488,
    491,
    493,
    500,
    501,
    502,
    503,
    504,
    505,
    513,
    600,
    603,
    604,
    606,
)
REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    480: "Temporarily Unavailable",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    503: "Service Unavailable",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
}

_USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
# what a phone may put in the user part of a Request-URI (RFC 3261 unreserved, user-unreserved
# and %-escapes; no ':' or '@', which end the user part): a test dials `agent2&Local/x%40ctx`
_DIALED_RE = re.compile(r"^[A-Za-z0-9_.!~*'()&=+$,;?/%-]{1,128}$")
_SECRET_RE = re.compile(r"^[^\s\[\]<>&\"'\\]{1,128}$")
# a caller's display name: any printable ASCII but sipp's keyword brackets, up to 16 KiB (tests
# send hostile names: quotes, backslashes, <script>, 10 KiB); sent as a SIP quoted-string
_NAME_RE = re.compile(r"^[\x20-\x5a\x5c\x5e-\x7e]{0,16384}$")
# a caller's From user may carry %XX escapes (PJSIP URI-decodes them: tests send %0D%0A)
_CALLER_RE = re.compile(r"^(?:[A-Za-z0-9_.+-]|%[0-9A-Fa-f]{2}){1,512}$")
_LOG_RE = re.compile(r"^ccs\|(\d+)\|([a-z_]+)\|([^|]*)\|?(.*)$")
_RUN_COUNTER = itertools.count(1)
_LIVE: set[_SippRun] = set()  # sipp processes this process started that may still run


@atexit.register
def _kill_leftovers() -> None:
    """At exit, kill the sipp processes we started and nobody stopped (by their pid)."""
    for run in list(_LIVE):
        if run.proc is not None and run.proc.returncode is None:
            try:
                os.kill(run.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


_STATES = ("offered", "ringing", "answered", "ended", "hungup", "rejected", "cancelled")


class SippError(CcError):
    """A sipp process failed or a party did not do what was awaited; the message says where its
    traces are and quotes their last lines."""

    error_id = "sipp-failed"


# ------------------------------------------------------------------------------------ behaviours
@dataclass(frozen=True)
class Answer:
    """Answer the call: 180 Ringing for `ring_seconds` (0: answer at once), 200 OK, play the audio
    (and `dtmf`, as [(seconds after the answer, "digits")]) from the ACK on, then hang up after
    `talk_seconds`, or wait for the remote BYE when None (the audio then lasts `audio_seconds`).
    `audio`: True for the sample speech (looped), None/False for none (no RTP but the DTMF),
    the host path of an 8 kHz mono 16-bit WAV file (played once, then silence) or of a pcap
    of PCMA RTP (its payloads, looped)."""

    ring_seconds: float = 0.0
    talk_seconds: float | None = None
    audio: bool | str | Path | None = True
    dtmf: Sequence[tuple[float, str]] = ()
    audio_seconds: float = 30.0


@dataclass(frozen=True)
class Reject:
    """Refuse the call with `code` (486 Busy Here by default), after ringing `ring_seconds`."""

    code: int = 486
    ring_seconds: float = 0.0


@dataclass(frozen=True)
class NoAnswer:
    """Ring (180) and never answer: the call ends when the caller cancels it (200 + 487)."""


Behaviour = Answer | Reject | NoAnswer
ANSWER = Answer()
BUSY = Reject(486)
NO_ANSWER = NoAnswer()


# --------------------------------------------------------------------------------- call records
@dataclass
class SippCall:
    """One call an answering party (phone or customer) was offered, as its sipp log tells it."""

    call_id: str
    dialed: str  # the Request-URI user of the INVITE
    caller: str  # the From user of the INVITE
    offered_at: float  # time.monotonic() values from here on
    ringing: bool = False
    answered_at: float | None = None
    ended_at: float | None = None
    ended_by: str | None = None  # "remote" (their BYE) or "local" (ours, after talk_seconds)
    hangup_cause: int | None = None  # Q.850 cause of the Reason header of their BYE
    rejected: int | None = None  # the error code we answered
    cancelled: bool = False  # the caller cancelled it while it rang

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def ended(self) -> bool:
        return self.ended_at is not None or self.rejected is not None or self.cancelled

    @property
    def active(self) -> bool:
        return self.answered and self.ended_at is None

    @property
    def duration(self) -> float | None:
        """Seconds from the answer to the end of the call."""
        if self.answered_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.answered_at

    def reached(self, state: str) -> bool:
        return {
            "offered": True,
            "ringing": self.ringing,
            "answered": self.answered,
            "ended": self.ended,
            "hungup": self.ended_at is not None,
            "rejected": self.rejected is not None,
            "cancelled": self.cancelled,
        }[state]


@dataclass(frozen=True)
class CallResult:
    """What happened to one `SippCaller` call."""

    number: str
    caller: str
    call_id: str | None
    answered: bool
    status: int | None  # final response to the INVITE (200, 486, 487 after our CANCEL...)
    ringing: bool  # a 180 or 183 came before it
    cancelled: bool  # we gave up (CANCEL) before an answer
    setup_seconds: float | None  # from the INVITE to its final response
    duration: float | None  # from the answer to the end (BYE sent or received)
    ended_by: str | None  # "local" (our BYE after talk_seconds) or "remote" (Asterisk's BYE)
    hangup_cause: int | None  # Q.850 cause of the Reason header of Asterisk's BYE (16 normal)
    returncode: int | None
    run_dir: Path  # traces: scenario.xml, messages.log, logs.log, errors.log, screen.log


def _cause(fields: list[str]) -> int | None:
    """The Q.850 cause logged after "remote" in an "ended" line."""
    match = re.search(r"(\d+)$", fields[1]) if len(fields) > 1 else None  # "cause=21"
    return int(match.group(1)) if match else None


# --------------------------------------------------------------------------------- validation
def _quoted_string_body(text: str | None) -> str | None:
    """`text` inside a SIP quoted-string (RFC 3261 quoted-pair for '"' and '\\')."""
    if text is None:
        return None
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _check_user(value: str, what: str) -> str:
    if not isinstance(value, str) or not _USER_RE.match(value):
        raise InvalidInput(
            f"{what} {value!r} is not usable in a SIP URI here (letters, digits, '_', '.', '+', '-'; 1-64 characters)",
            field=what,
        )
    return value


def _check_dialed(value: str, what: str) -> str:
    if not isinstance(value, str) or not _DIALED_RE.match(value):
        raise InvalidInput(
            f"{what} {value!r} cannot be the user part of a Request-URI (letters, "
            "digits, %-escapes and _.!~*'()&=+$,;?/-; 1-128 characters)",
            field=what,
        )
    return value


def _check_secret(value: str, what: str) -> str:
    if not isinstance(value, str) or not _SECRET_RE.match(value):
        raise InvalidInput(
            f"{what} cannot be passed to sipp (no spaces, brackets, quotes, "
            "'<', '>', '&', backslash; 1-128 characters)",
            field=what,
        )
    return value


def _check_dtmf(dtmf: Iterable[tuple[float, str]]) -> list[tuple[float, str]]:
    checked = []
    for item in dtmf:
        try:
            at, digits = item
            at = float(at)
        except (TypeError, ValueError):
            raise InvalidInput(f"dtmf entries are (seconds, digits) pairs, not {item!r}", field="dtmf") from None
        digits = str(digits).upper()
        if at < 0 or not digits or any(d not in DTMF_EVENTS for d in digits):
            raise InvalidInput(f"dtmf {item!r}: digits 0-9 * # A-D at a time >= 0", field="dtmf")
        checked.append((at, digits))
    return sorted(checked)


def _check_behaviour(behaviour: Behaviour) -> Behaviour:
    if isinstance(behaviour, Answer):
        if behaviour.ring_seconds < 0 or (behaviour.talk_seconds is not None and behaviour.talk_seconds <= 0):
            raise InvalidInput("Answer: ring_seconds >= 0 and talk_seconds > 0 (or None)", field="behaviour")
        _check_dtmf(behaviour.dtmf)
    elif isinstance(behaviour, Reject):
        if not 300 <= behaviour.code <= 699 or behaviour.ring_seconds < 0:
            raise InvalidInput(f"Reject: code {behaviour.code} is not a SIP error (300-699)", field="behaviour")
    elif not isinstance(behaviour, NoAnswer):
        raise InvalidInput(f"{behaviour!r} is not a behaviour (Answer, Reject or NoAnswer)", field="behaviour")
    return behaviour


# ---------------------------------------------------------------------------------- audio
@functools.lru_cache(maxsize=8)
def _pcap_payloads(path: str, payload_type: int = PT_PCMA) -> bytes:
    """The concatenated RTP payloads of `payload_type` in a pcap file (Ethernet or Linux SLL)."""
    data = Path(path).read_bytes()
    if len(data) < 24:
        raise InvalidInput(f"{path} is not a pcap file", file=path)
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise InvalidInput(f"{path} is not a pcap file (pcapng is not supported)", file=path)
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    link_header = {1: 14, 113: 16}.get(linktype)
    if link_header is None:
        raise InvalidInput(f"{path}: link type {linktype} is not supported", file=path)
    out = bytearray()
    offset = 24
    while offset + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[offset + 8 : offset + 12])[0]
        packet = data[offset + 16 : offset + 16 + incl]
        offset += 16 + incl
        ip = packet[link_header:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        rtp = ip[(ip[0] & 15) * 4 + 8 :]
        if len(rtp) > 12 and rtp[0] >> 6 == 2 and rtp[1] & 0x7F == payload_type:
            header = 12 + 4 * (rtp[0] & 15)
            out += rtp[header:]
    if not out:
        raise InvalidInput(f"{path} holds no RTP of payload type {payload_type}", file=path)
    return bytes(out)


@functools.lru_cache(maxsize=1)
def _alaw_table() -> bytes:
    """G.711 A-law code of every 16-bit sample (index: sample + 32768)."""
    ends = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)
    table = bytearray(65536)
    for index in range(65536):
        pcm = (index - 32768) >> 3
        if pcm >= 0:
            mask = 0xD5
        else:
            mask = 0x55
            pcm = -pcm - 1
        seg = next((i for i, end in enumerate(ends) if pcm <= end), 8)
        if seg >= 8:
            code = 0x7F ^ mask
        else:
            code = (seg << 4) | ((pcm >> (1 if seg < 2 else seg)) & 0x0F)
            code ^= mask
        table[index] = code
    return bytes(table)


def wav_to_alaw(path: str | Path) -> bytes:
    """A-law bytes of an 8 kHz mono (or first channel) 16-bit PCM WAV file."""
    with wave.open(str(path), "rb") as wav:
        if wav.getframerate() != 8000 or wav.getsampwidth() != 2:
            raise InvalidInput(
                f"{path}: 8 kHz 16-bit WAV needed (it is {wav.getframerate()} Hz, {8 * wav.getsampwidth()} bit)",
                file=str(path),
            )
        channels = wav.getnchannels()
        samples = array.array("h", wav.readframes(wav.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    table = _alaw_table()
    return bytes(table[s + 32768] for s in samples[::channels])


def wav_rms(path: str | Path, start: float = 0.0, end: float | None = None) -> float:
    """Root mean square of a 16-bit PCM WAV between `start` and `end` seconds (first channel).

    Asterisk's silence records as about 0-10; the sample speech at 1000-4000."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise InvalidInput(f"{path}: 16-bit WAV needed", file=str(path))
        rate, channels = wav.getframerate(), wav.getnchannels()
        wav.setpos(min(int(start * rate), wav.getnframes()))
        count = wav.getnframes() - wav.tell() if end is None else max(0, int((end - start) * rate))
        samples = array.array("h", wav.readframes(count))
    if sys.byteorder == "big":
        samples.byteswap()
    samples = samples[::channels]
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def wav_levels(path: str | Path, window: float = 0.5) -> list[float]:
    """RMS of each `window` seconds of a WAV file: where the audio was and was not."""
    with wave.open(str(path), "rb") as wav:
        length = wav.getnframes() / wav.getframerate()
    return [wav_rms(path, t * window, (t + 1) * window) for t in range(max(1, math.ceil(length / window)))]


def _dtmf_schedule(dtmf: Sequence[tuple[float, str]]) -> list[tuple[int, int]]:
    """(first frame, event code) of every digit; the digits of one string follow each other."""
    schedule: list[tuple[int, int]] = []
    next_free = 0
    for at, digits in dtmf:
        frame = max(int(round(at / FRAME_SECONDS)), next_free)
        for digit in digits:
            schedule.append((frame, DTMF_EVENTS[digit]))
            frame += DTMF_TONE_FRAMES + DTMF_GAP_FRAMES
        next_free = frame
    return schedule


def build_rtp_pcap(
    path: Path, *, audio: bytes | None, seconds: float, dtmf: Sequence[tuple[float, str]] = (), loop: bool = True
) -> Path:
    """Write a pcap sipp's `play_pcap_audio` plays: `seconds` of A-law audio in 20 ms packets
    (looped when `loop`, else followed by silence; none at all when `audio` is None) with the
    RFC 4733 events of `dtmf` at their times, all in one RTP stream (one SSRC, consecutive
    sequence numbers, timestamps on one clock)."""
    dtmf = _check_dtmf(dtmf)
    schedule = _dtmf_schedule(dtmf)
    frames = max(1, math.ceil(seconds / FRAME_SECONDS))
    if schedule:
        frames = max(frames, schedule[-1][0] + DTMF_TONE_FRAMES + 2)
    ssrc = random.getrandbits(32)
    seq = random.getrandbits(15)
    base_ts = random.getrandbits(24)
    packets: list[tuple[int, bytes]] = []  # (frame time, rtp packet)

    def rtp(pt: int, marker: bool, ts: int, payload: bytes) -> bytes:
        nonlocal seq
        header = struct.pack(">BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
        seq += 1
        return header + payload

    events = dict(schedule)
    tone_until = -1
    first_audio = True
    for frame in range(frames):
        ts = base_ts + frame * FRAME_SAMPLES
        if frame in events:
            code = events[frame]
            for k in range(1, DTMF_TONE_FRAMES + 1):
                end = k == DTMF_TONE_FRAMES
                payload = struct.pack(">BBH", code, (0x80 if end else 0) | 10, k * FRAME_SAMPLES)
                copies = 3 if end else 1  # the end packet is sent three times (RFC 4733 2.5.1.4)
                for _ in range(copies):
                    packets.append((frame + k - 1, rtp(PT_EVENT, k == 1, ts, payload)))
            tone_until = frame + DTMF_TONE_FRAMES
        if frame < tone_until or audio is None:
            continue
        start = frame * FRAME_SAMPLES
        if loop:
            start %= len(audio)
            chunk = (
                (audio[start:] + audio)[:FRAME_SAMPLES]
                if len(audio) < start + FRAME_SAMPLES
                else audio[start : start + FRAME_SAMPLES]
            )
        else:
            chunk = audio[start : start + FRAME_SAMPLES]
        chunk = chunk.ljust(FRAME_SAMPLES, bytes([ALAW_SILENCE]))
        packets.append((frame, rtp(PT_PCMA, first_audio, ts, chunk)))
        first_audio = False
    packets.sort(key=lambda item: item[0])  # stable: events keep their order within a frame

    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for frame, packet in packets:
        udp = struct.pack(">HHHH", 6000, 6002, 8 + len(packet), 0) + packet
        ip = (
            struct.pack(
                ">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, b"\x7f\x00\x00\x01", b"\x7f\x00\x00\x01"
            )
            + udp
        )
        frame_bytes = b"\x00" * 12 + b"\x08\x00" + ip
        usec = frame * 20000
        out += struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame_bytes), len(frame_bytes))
        out += frame_bytes
    path.write_bytes(bytes(out))
    return path


def _audio_bytes(instance: AsteriskInstance, audio: bool | str | Path | None) -> tuple[bytes | None, bool]:
    """(A-law audio, loop it) for an `audio` argument."""
    if audio is None or audio is False:
        return None, False
    if audio is True:
        sample = instance.environment.host_path(SAMPLE_AUDIO_PCAP)
        return _pcap_payloads(str(sample)), True
    path = Path(audio)
    if path.suffix.lower() == ".pcap":
        return _pcap_payloads(str(path)), True
    return wav_to_alaw(path), False


# ---------------------------------------------------------------------------------- ports
_HANDED_OUT: dict[int, float] = {}  # port -> when (monotonic): not bound by sipp yet maybe


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free_ports(instance: AsteriskInstance, span: int = 1) -> int:
    """A port P with P..P+span-1 free for UDP (and TCP) on 127.0.0.1, away from the instance's
    ports and from ports handed out during the last minute."""
    info = instance.info
    avoid = {info.sip_port, info.ami_port, info.ari_port}
    low, high = 20000, _ephemeral_low() - span - 1
    now = time.monotonic()
    for port, when in list(_HANDED_OUT.items()):
        if now - when > 60:
            del _HANDED_OUT[port]
    for _ in range(500):
        port = random.randrange(low, high) & ~1
        ports = range(port, port + span)
        if any(p in avoid or p in _HANDED_OUT or info.rtp_start <= p <= info.rtp_end for p in ports):
            continue
        if all(port_free(p, "127.0.0.1", socket.SOCK_DGRAM) and port_free(p, "127.0.0.1") for p in ports):
            for p in ports:
                _HANDED_OUT[p] = now
            return port
    raise SippError("found no free port for sipp")


def _sip_target(instance: AsteriskInstance) -> str:
    info = instance.info
    host = info.sip_host if info.sip_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    return f"{host}:{info.sip_port}"


# ------------------------------------------------------------------------------ sipp processes
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(SCENARIO_DIR)),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)


def render_scenario(name: str, **context: Any) -> str:
    """The text of scenario template `name` (e.g. "uac.xml") with `context`."""
    return _TEMPLATES.get_template(name).render(**context)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


class _SippRun:
    """One sipp process: its files, ports, the tailing of its <log> lines, its end."""

    def __init__(
        self,
        instance: AsteriskInstance,
        kind: str,
        name: str,
        *,
        on_event: Callable[[float, str, str, list[str]], None],
        trace: bool = True,
    ) -> None:
        self.instance = instance
        self.kind = kind
        label = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:40]
        self.dir = instance.scratch_dir / "sipp" / f"{kind}-{label}-{os.getpid()}-{next(_RUN_COUNTER)}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.trace = trace
        self.on_event = on_event
        self.proc: asyncio.subprocess.Process | None = None
        self.argv: list[str] = []
        self.sip_port = self.media_port = self.control_port = 0
        self.started_at = 0.0
        self.returncode: int | None = None
        self._tail_task: asyncio.Task | None = None
        self._log_offset = 0
        self._partial = b""
        self.exited = asyncio.Event()

    def file(self, name: str) -> Path:
        return self.dir / name

    def inner(self, name: str) -> str:
        return str(self.instance.inner_path(self.dir / name))

    async def start(
        self,
        scenario_args: list[str],
        timeout: float,
        *,
        sip_port: int | None = None,
        remote: str | None = None,
        extra: Sequence[str] = (),
    ) -> None:
        """Start sipp with free ports (or `sip_port`) and begin tailing its log."""
        self.sip_port = sip_port or _free_ports(self.instance)
        self.media_port = _free_ports(self.instance, span=4)  # audio, video (+2) and RTCP
        self.control_port = _free_ports(self.instance)
        args = [
            *scenario_args,
            *([remote] if remote else []),
            "-i",
            "127.0.0.1",
            "-p",
            str(self.sip_port),
            "-mp",
            str(self.media_port),
            "-cp",
            str(self.control_port),
            "-timeout",
            f"{max(1, math.ceil(timeout))}s",
            "-nostdin",
            "-aa",
            "-trace_logs",
            "-log_file",
            self.inner("logs.log"),
            "-trace_err",
            "-error_file",
            self.inner("errors.log"),
            "-trace_screen",
            "-screen_file",
            self.inner("screen.log"),
            *extra,
        ]
        if self.trace:
            args += ["-trace_msg", "-message_file", self.inner("messages.log")]
        self.argv = self.instance.sipp_command(args)
        (self.dir / "command.txt").write_text(" ".join(self.argv) + "\n")
        stderr = open(self.file("stderr.log"), "wb")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        except OSError as exc:
            raise SippError(f"cannot start sipp ({self.argv[0]}): {exc.strerror}", argv=self.argv) from None
        finally:
            stderr.close()
        self.started_at = time.monotonic()
        _LIVE.add(self)
        logger.debug("sipp %s started (pid %s): %s", self.kind, self.proc.pid, " ".join(self.argv))
        self._tail_task = asyncio.create_task(self._tail_logs(), name=f"sipp-{self.kind}-tail")

    async def wait_listening(self, timeout: float = 5.0) -> None:
        """Wait until sipp has bound its SIP port (before Asterisk may send it anything)."""
        deadline = time.monotonic() + timeout
        while port_free(self.sip_port, "127.0.0.1", socket.SOCK_DGRAM):
            if self.exited.is_set() or time.monotonic() > deadline:
                raise SippError(f"sipp {self.kind} is not listening on {self.sip_port}\n" + self.diagnostics())
            await asyncio.sleep(0.01)

    async def _tail_logs(self) -> None:
        assert self.proc is not None
        try:
            while True:
                self._read_new_lines()
                if self.proc.returncode is not None:
                    break
                try:
                    await asyncio.wait_for(asyncio.shield(self.proc.wait()), 0.05)
                except TimeoutError:
                    pass
            self._read_new_lines()
        finally:
            self.returncode = self.proc.returncode
            _LIVE.discard(self)
            self.exited.set()

    def _read_new_lines(self) -> None:
        try:
            with open(self.file("logs.log"), "rb") as log:
                log.seek(self._log_offset)
                data = log.read()
        except FileNotFoundError:
            return
        self._log_offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        for raw in lines:
            match = _LOG_RE.match(raw.decode(errors="replace").strip())
            if not match:
                continue
            tick, event, call_id, rest = match.groups()
            when = self.started_at + int(tick) / 1000.0
            try:
                self.on_event(when, event, call_id, rest.split("|") if rest else [])
            except Exception:  # a bad handler must not stop the tailing
                logger.exception("sipp %s: handling %r failed", self.kind, raw)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def wait(self, timeout: float | None = None) -> int | None:
        if self.proc is None:
            return None
        await asyncio.wait_for(self.exited.wait(), timeout)
        return self.returncode

    async def stop(self, grace: float = 3.0) -> int | None:
        """End the process (SIGTERM, then SIGKILL) and read its last log lines."""
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            try:
                self.proc.terminate()
            except ProcessLookupError:
                pass
            try:
                await asyncio.wait_for(self.proc.wait(), grace)
            except TimeoutError:
                try:
                    self.proc.kill()
                except ProcessLookupError:
                    pass
                await self.proc.wait()
        if self._tail_task is not None:
            await self._tail_task
        return self.proc.returncode

    def diagnostics(self) -> str:
        parts = [
            f"sipp {self.kind} traces in {self.dir}",
            f"command: {' '.join(self.argv)}",
            f"exit code: {self.proc.returncode if self.proc else None}",
        ]
        for name in ("stderr.log", "errors.log", "logs.log", "messages.log"):
            tail = _tail(self.file(name), 40 if name == "messages.log" else 12)
            if tail.strip():
                parts.append(f"--- {name} (last lines):\n{tail}")
        return "\n".join(parts)


# ------------------------------------------------------------------------ answering parties
class _AnsweringParty:
    """What phones and customers share: calls from the UAS log, waiting on them."""

    kind = "uas"

    def __init__(self, instance: AsteriskInstance, *, max_seconds: float, trace: bool) -> None:
        self.instance = instance
        self.max_seconds = max_seconds
        self.trace = trace
        self.calls: list[SippCall] = []
        self._by_id: dict[str, SippCall] = {}
        self._changed = asyncio.Condition()
        self._run: _SippRun | None = None

    # --- the UAS scenario
    def _uas_groups(self, default: Behaviour, numbers: Mapping[str, Behaviour], run: _SippRun) -> list[dict[str, Any]]:
        """Template groups: the default behaviour first, then one per distinct behaviour of
        `numbers` (each with the regex of its numbers); each answer group gets its pcap."""
        chosen: list[tuple[Behaviour, list[str]]] = []
        for number, behaviour in numbers.items():
            _check_user(number, "number")
            _check_behaviour(behaviour)
            for known, nums in chosen:
                if known == behaviour:
                    nums.append(number)
                    break
            else:
                chosen.append((behaviour, [number]))
        groups = []
        for index, (behaviour, nums) in enumerate([(_check_behaviour(default), []), *chosen]):
            group: dict[str, Any] = {
                "index": index,
                "regex": "|".join(re.sub(r"([.+])", r"\\\1", n) for n in nums),
                "ring_ms": 0,
                "talk_ms": 0,
                "pcap": None,
                "code": 0,
                "reason": "",
            }
            if isinstance(behaviour, Answer):
                group.update(
                    kind="answer",
                    ring_ms=int(behaviour.ring_seconds * 1000),
                    talk_ms=int((behaviour.talk_seconds or 0) * 1000),
                )
                audio, loop = _audio_bytes(self.instance, behaviour.audio)
                if audio is not None or behaviour.dtmf:
                    seconds = behaviour.talk_seconds + 1.0 if behaviour.talk_seconds else behaviour.audio_seconds
                    pcap = build_rtp_pcap(
                        run.file(f"rtp-{index}.pcap"), audio=audio, seconds=seconds, dtmf=behaviour.dtmf, loop=loop
                    )
                    group["pcap"] = str(self.instance.inner_path(pcap))
            elif isinstance(behaviour, Reject):
                group.update(
                    kind="reject",
                    ring_ms=int(behaviour.ring_seconds * 1000),
                    code=behaviour.code,
                    reason=REASONS.get(behaviour.code, "Error"),
                )
            else:
                group.update(kind="no_answer")
            groups.append(group)
        return groups

    # --- events
    def _on_uas_event(self, when: float, event: str, call_id: str, fields: list[str]) -> bool:
        """Apply one UAS log line; True when it was one."""
        if event == "invite":
            if call_id in self._by_id:  # a retransmitted INVITE
                return False
            call = SippCall(
                call_id=call_id,
                dialed=fields[0] if fields else "",
                caller=fields[1] if len(fields) > 1 else "",
                offered_at=when,
            )
            self.calls.append(call)
            self._by_id[call_id] = call
            return True
        call = self._by_id.get(call_id)
        if call is None:
            return False
        if event == "ringing":
            call.ringing = True
        elif event == "answered":
            call.answered_at = when
        elif event == "ended":
            call.ended_at = when
            call.ended_by = fields[0] if fields else None
            call.hangup_cause = _cause(fields)
        elif event == "rejected":
            call.rejected = int(fields[0]) if fields and fields[0].isdigit() else 0
        elif event == "cancelled":
            call.cancelled = True
        else:
            return False
        return True

    def _notify(self) -> None:
        """Wake the waiters (called from the tail task, inside the event loop)."""

        async def wake() -> None:
            async with self._changed:
                self._changed.notify_all()

        asyncio.get_running_loop().create_task(wake())

    # --- counts
    def count(self, state: str) -> int:
        """Calls that reached `state`: offered, ringing, answered, ended, hungup (ended after
        an answer), rejected, cancelled."""
        return sum(1 for call in self.calls if call.reached(state))

    @property
    def calls_offered(self) -> int:
        return len(self.calls)

    @property
    def calls_answered(self) -> int:
        return self.count("answered")

    @property
    def calls_ended(self) -> int:
        return self.count("ended")

    @property
    def calls_rejected(self) -> int:
        return self.count("rejected")

    @property
    def calls_cancelled(self) -> int:
        return self.count("cancelled")

    @property
    def active_calls(self) -> list[SippCall]:
        return [call for call in self.calls if call.active]

    @property
    def run_dir(self) -> Path | None:
        """Where this party's traces are (scenario.xml, messages.log, logs.log...)."""
        return self._run.dir if self._run else None

    @property
    def running(self) -> bool:
        return self._run is not None and self._run.running

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "the condition") -> None:
        """Wait until `predicate()` holds (checked at every log line); SippError on timeout or
        when the sipp process ends first."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if self._run is not None and self._run.exited.is_set():
                    raise SippError(
                        f"{self.describe()}: sipp ended while waiting for {what}\n" + self._run.diagnostics()
                    )
                if remaining <= 0:
                    raise SippError(
                        f"{self.describe()}: {what} not reached in {timeout:g} s\n"
                        + (self._run.diagnostics() if self._run else "")
                    )
                try:
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 0.25))
                except TimeoutError:
                    pass

    async def wait_calls(self, state: str = "answered", count: int = 1, timeout: float = 10.0) -> list[SippCall]:
        """Wait until `count` calls reached `state` (see `count()`); returns those calls."""
        if state not in _STATES:
            raise InvalidInput(f"state {state!r}: one of {', '.join(_STATES)}", field="state")
        await self.wait_for(lambda: self.count(state) >= count, timeout, f"{count} call(s) {state}")
        return [call for call in self.calls if call.reached(state)]

    def describe(self) -> str:
        return self.kind


# --------------------------------------------------------------------------------- the phone
class SippPhone(_AnsweringParty):
    """A registering agent softphone (one sipp process, see the module docstring).

    `behaviour` applies to every call offered: `Answer(...)` (default: at once, with audio,
    until the remote BYE), `Reject(486)` (busy) or `NoAnswer()`."""

    kind = "phone"

    def __init__(
        self,
        instance: AsteriskInstance,
        username: str,
        password: str,
        *,
        behaviour: Behaviour = ANSWER,
        expires: int = 300,
        max_seconds: float = 1800.0,
        trace: bool = True,
    ) -> None:
        super().__init__(instance, max_seconds=max_seconds, trace=trace)
        self.username = _check_user(username, "username")
        self.password = _check_secret(password, "password")
        self.behaviour = _check_behaviour(behaviour)
        if not 60 <= expires <= 7200:  # Asterisk refuses less than 60 s (423 Interval Too Brief)
            raise InvalidInput("expires: 60-7200 seconds", field="expires")
        self.expires = expires
        self.refresh_seconds = expires * 0.8  # re-REGISTER this often
        self.registered_at: float | None = None
        self.registration_error: str | None = None

    def describe(self) -> str:
        return f"phone {self.username}"

    @property
    def sip_port(self) -> int | None:
        return self._run.sip_port if self._run else None

    @property
    def contact(self) -> str | None:
        """The contact URI Asterisk keeps for this phone."""
        return f"sip:{self.username}@127.0.0.1:{self.sip_port}" if self._run else None

    async def start(self) -> SippPhone:
        """Start the process (it registers at once: see `wait_registered`)."""
        if self.running:
            return self
        run = _SippRun(self.instance, "phone", self.username, on_event=self._on_event, trace=self.trace)
        groups = self._uas_groups(self.behaviour, {}, run)
        run.file("register.xml").write_text(
            render_scenario(
                "register.xml",
                user=self.username,
                password=self.password,
                expires=self.expires,
                refresh_ms=int(self.refresh_seconds * 1000),
            )
        )
        run.file("scenario.xml").write_text(
            render_scenario(
                "uas.xml",
                groups=groups,
                contact_user=self.username,
                has_answer=any(g["kind"] == "answer" for g in groups),
            )
        )
        self._run = run
        self.registered_at = None
        self.registration_error = None
        await run.start(
            ["-sf", run.inner("register.xml"), "-oocsf", run.inner("scenario.xml"), "-m", "1"],
            self.max_seconds,
            remote=_sip_target(self.instance),
        )
        return self

    def _on_event(self, when: float, event: str, call_id: str, fields: list[str]) -> None:
        if event == "registered":
            self.registered_at = when
            self.registration_error = None
        elif event == "reg_failed":
            self.registration_error = fields[0] if fields else "?"
        elif not self._on_uas_event(when, event, call_id, fields):
            return
        self._notify()

    def _credentials_seen(self) -> str:
        """Whether Asterisk holds this phone's password now (a refused REGISTER: a stale or
        missing account, or a refusal despite the right digest)."""
        mine = sip_password_digests(self.username, self.password)["SHA-256"]
        try:
            shown = self.instance.cli(f"pjsip show auth {self.username}")
        except Exception as exc:  # the diagnostics must not hide the refusal
            return f"(pjsip show auth {self.username} failed: {exc})\n"
        if "password_digest" not in shown:
            return f"Asterisk has no auth {self.username!r}\n"
        verdict = "matches" if mine in shown else "does NOT match"
        return f"Asterisk's digest for {self.username} {verdict} this phone's password\n"

    async def wait_registered(self, timeout: float = 10.0) -> str:
        """Wait for the 200 to the REGISTER, then for the contact in `pjsip show contacts`;
        returns the contact URI. SippError when refused (the message says the status)."""
        if self._run is None:
            raise SippError(f"{self.describe()} is not started")
        started = time.monotonic()
        await self.wait_for(
            lambda: self.registered_at is not None or self.registration_error is not None, timeout, "registration"
        )
        if self.registration_error is not None:
            raise SippError(
                f"{self.describe()}: REGISTER refused ({self.registration_error})\n"
                + await asyncio.to_thread(self._credentials_seen)
                + self._run.diagnostics(),
                status=self.registration_error,
            )
        wanted = f"{self.username}/{self.contact}"
        while True:
            contacts = await asyncio.to_thread(self.instance.cli, "pjsip show contacts")
            if wanted in contacts:
                return self.contact
            if time.monotonic() - started > timeout:
                raise SippError(
                    f"{self.describe()}: registered but {wanted} is not in `pjsip show contacts`:\n{contacts}"
                )
            await asyncio.sleep(0.05)

    async def stop(self, unregister: bool = True) -> None:
        """End the process; then remove the registration (REGISTER Contact: *, Expires: 0) from
        the same port. Calls still up are cut (Asterisk notices at its RTP timeout or BYE)."""
        run = self._run
        if run is None:
            return
        up = len(self.active_calls)
        await run.stop()
        self._notify()
        if up:  # a vanished phone sends no BYE: end its channels, the next test needs the agent
            logger.info("%s stopped with %d call(s) up: hanging up its channels", self.describe(), up)
            await asyncio.to_thread(self._hangup_channels)
        if unregister and self.registered_at is not None:
            await self._unregister(run.sip_port)

    def _hangup_channels(self) -> None:
        prefix = f"PJSIP/{self.username}-"
        try:
            listing = self.instance.cli("core show channels concise")
            for line in listing.splitlines():
                name = line.split("!", 1)[0]
                if name.startswith(prefix):
                    self.instance.cli(f"channel request hangup {name}")
        except CcError as exc:
            logger.warning("%s: could not hang up its channels: %s", self.describe(), exc)

    async def _unregister(self, port: int) -> None:
        run = _SippRun(self.instance, "unregister", self.username, on_event=lambda *a: None, trace=self.trace)
        run.file("scenario.xml").write_text(
            render_scenario("unregister.xml", user=self.username, password=self.password)
        )
        await run.start(
            ["-sf", run.inner("scenario.xml"), "-m", "1"], 10, sip_port=port, remote=_sip_target(self.instance)
        )
        try:
            code = await run.wait(15)
        except TimeoutError:
            code = await run.stop()
        if code != 0:
            logger.warning("%s: unregistering failed (sipp exit %s, traces in %s)", self.describe(), code, run.dir)

    async def __aenter__(self) -> SippPhone:
        await self.start()
        try:
            await self.wait_registered()
        except BaseException:
            await self.stop(unregister=False)
            raise
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.stop()


# ------------------------------------------------------------------------------ the customer
class SippCustomer(_AnsweringParty):
    """The customers an outbound dialer calls: one UAS on its own port.

    Asterisk dials `customer.dial_string(number)` (`PJSIP/customers/sip:NUMBER@127.0.0.1:PORT`).
    Each call follows `numbers[dialed number]` when given, else `behaviour`."""

    kind = "customer"

    def __init__(
        self,
        instance: AsteriskInstance,
        behaviour: Behaviour = ANSWER,
        *,
        numbers: Mapping[str, Behaviour] | None = None,
        max_seconds: float = 1800.0,
        trace: bool = True,
        name: str = "customers",
    ) -> None:
        super().__init__(instance, max_seconds=max_seconds, trace=trace)
        self.behaviour = _check_behaviour(behaviour)
        self.numbers = dict(numbers or {})
        for number, choice in self.numbers.items():
            _check_user(number, "number")
            _check_behaviour(choice)
        self.name = name

    def describe(self) -> str:
        return f"customer {self.name}"

    @property
    def port(self) -> int:
        if self._run is None:
            raise SippError(f"{self.describe()} is not started")
        return self._run.sip_port

    def uri(self, number: str) -> str:
        return f"sip:{_check_user(number, 'number')}@127.0.0.1:{self.port}"

    def dial_string(self, number: str) -> str:
        """What Asterisk dials to reach this customer as `number` through the trunk."""
        return f"PJSIP/customers/{self.uri(number)}"

    def calls_to(self, number: str) -> list[SippCall]:
        return [call for call in self.calls if call.dialed == number]

    async def start(self) -> SippCustomer:
        if self.running:
            return self
        run = _SippRun(self.instance, "customer", self.name, on_event=self._on_event, trace=self.trace)
        groups = self._uas_groups(self.behaviour, self.numbers, run)
        run.file("scenario.xml").write_text(
            render_scenario(
                "uas.xml", groups=groups, contact_user="customer", has_answer=any(g["kind"] == "answer" for g in groups)
            )
        )
        self._run = run
        await run.start(["-sf", run.inner("scenario.xml"), "-m", "1000000"], self.max_seconds)
        await run.wait_listening()
        return self

    def _on_event(self, when: float, event: str, call_id: str, fields: list[str]) -> None:
        if self._on_uas_event(when, event, call_id, fields):
            self._notify()

    async def stop(self) -> None:
        if self._run is not None:
            await self._run.stop()
            self._notify()

    async def __aenter__(self) -> SippCustomer:
        return await self.start()

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.stop()


# -------------------------------------------------------------------------------- the caller
class SippCaller:
    """A customer calling `number` through the `[customers]` trunk (From user: `caller`), or,
    given the `password` of SIP account `caller`, that provisioned phone placing a call (its
    digest challenge answered; `number` may then be any Request-URI user part, %-escaped).

    Once answered it plays `audio` (see `Answer.audio`) with `dtmf` [(seconds after the
    answer, "digits")] sent as RFC 4733 events, then hangs up after `talk_seconds` or, when
    None, waits for Asterisk's BYE (up to `max_seconds`). Unanswered after `cancel_after`
    seconds (default: `max_seconds`) it cancels the call (an abandon)."""

    def __init__(
        self,
        instance: AsteriskInstance,
        number: str,
        caller: str = "0600000000",
        *,
        display_name: str | None = None,
        audio: bool | str | Path | None = True,
        dtmf: Sequence[tuple[float, str]] = (),
        talk_seconds: float | None = None,
        cancel_after: float | None = None,
        max_seconds: float = 120.0,
        trace: bool = True,
        password: str | None = None,
    ) -> None:
        self.instance = instance
        self.password = None if password is None else _check_secret(password, "password")
        self.number = _check_user(number, "number") if password is None else _check_dialed(number, "number")
        if not isinstance(caller, str) or not _CALLER_RE.match(caller):
            raise InvalidInput(
                f"caller {caller!r} is not usable as a SIP From user here (letters, "
                "digits, '_', '.', '+', '-', %XX escapes)",
                field="caller",
            )
        self.caller = caller
        if display_name is not None and (not isinstance(display_name, str) or not _NAME_RE.match(display_name)):
            raise InvalidInput("display_name: printable ASCII but '[' and ']', at most 16 KiB", field="display_name")
        self.display_name = display_name
        self.audio = audio
        self.dtmf = _check_dtmf(dtmf)
        if talk_seconds is not None and talk_seconds <= 0:
            raise InvalidInput("talk_seconds must be > 0 (or None)", field="talk_seconds")
        if cancel_after is not None and cancel_after <= 0:
            raise InvalidInput("cancel_after must be > 0 (or None)", field="cancel_after")
        self.talk_seconds = talk_seconds
        self.cancel_after = cancel_after
        self.max_seconds = max_seconds
        self.trace = trace
        self.events: list[tuple[float, str, list[str]]] = []  # (monotonic, event, fields)
        self.call_id: str | None = None
        self._run: _SippRun | None = None
        self._answered = asyncio.Event()

    @property
    def run_dir(self) -> Path | None:
        return self._run.dir if self._run else None

    def _on_event(self, when: float, event: str, call_id: str, fields: list[str]) -> None:
        self.call_id = self.call_id or call_id
        self.events.append((when, event, fields))
        if event == "answered":
            self._answered.set()

    async def start(self) -> SippCaller:
        """Place the call and return at once (then `wait_answered()` / `wait()`)."""
        run = _SippRun(
            self.instance, "caller", f"{self.caller}-{self.number}", on_event=self._on_event, trace=self.trace
        )
        audio, loop = _audio_bytes(self.instance, self.audio)
        pcap = None
        if audio is not None or self.dtmf:
            seconds = (self.talk_seconds + 1.0) if self.talk_seconds else self.max_seconds
            pcap = str(
                self.instance.inner_path(
                    build_rtp_pcap(run.file("rtp.pcap"), audio=audio, seconds=seconds, dtmf=self.dtmf, loop=loop)
                )
            )
        ring_limit = self.cancel_after or self.max_seconds
        run.file("scenario.xml").write_text(
            render_scenario(
                "uac.xml",
                number=self.number,
                caller=self.caller,
                display_name=_quoted_string_body(self.display_name),
                failure_codes=FAILURE_CODES,
                cancel_ms=int(ring_limit * 1000),
                talk_ms=int((self.talk_seconds or 0) * 1000),
                pcap=pcap,
                password=self.password,
                invite_cseq=2 if self.password else 1,
                branch_suffix="a" if self.password else "",
            )
        )
        self._run = run
        timeout = ring_limit + (self.talk_seconds or self.max_seconds) + 15
        await run.start(["-sf", run.inner("scenario.xml"), "-m", "1"], timeout, remote=_sip_target(self.instance))
        return self

    async def wait_answered(self, timeout: float = 10.0) -> None:
        """Wait for the 200 OK; SippError if the call ends (or times out) unanswered."""
        assert self._run is not None, "start() first"
        answered = asyncio.create_task(self._answered.wait())
        exited = asyncio.create_task(self._run.exited.wait())
        done, pending = await asyncio.wait({answered, exited}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if not self._answered.is_set():
            raise SippError(
                f"call {self.caller} -> {self.number} not answered"
                f"{f' in {timeout:g} s' if not done else ''}: "
                f"{[e for _, e, _ in self.events]}\n" + self._run.diagnostics()
            )

    async def wait(self, timeout: float | None = None) -> CallResult:
        """Wait for the end of the call; its CallResult."""
        assert self._run is not None, "start() first"
        run = self._run
        limit = (
            timeout
            if timeout is not None
            else ((self.cancel_after or self.max_seconds) + (self.talk_seconds or self.max_seconds) + 20)
        )
        try:
            await run.wait(limit)
        except TimeoutError:
            await run.stop()
            raise SippError(
                f"call {self.caller} -> {self.number} still running after {limit:g} s\n" + run.diagnostics()
            ) from None
        result = self._result()
        if result.call_id is None:
            raise SippError(f"call {self.caller} -> {self.number}: sipp placed no call\n" + run.diagnostics())
        return result

    async def run(self) -> CallResult:
        """Place the call and wait for its end."""
        await self.start()
        return await self.wait()

    async def stop(self) -> None:
        """Kill the call's process (no BYE: for tests of calls lost on the customer side)."""
        if self._run is not None:
            await self._run.stop()

    def _result(self) -> CallResult:
        first: dict[str, tuple[float, list[str]]] = {}
        for when, event, fields in self.events:
            first.setdefault(event, (when, fields))
        invite_at = first.get("invite", (None, []))[0]
        final = first.get("answered") or first.get("failed")
        status = None
        if final is not None and final[1] and final[1][0].isdigit():
            status = int(final[1][0])
        ended = first.get("ended")
        answered_at = first["answered"][0] if "answered" in first else None
        return CallResult(
            number=self.number,
            caller=self.caller,
            call_id=self.call_id,
            answered=answered_at is not None,
            status=status,
            ringing="ringing" in first,
            cancelled="cancelling" in first,
            setup_seconds=(final[0] - invite_at) if final and invite_at is not None else None,
            duration=(ended[0] - answered_at) if ended and answered_at is not None else None,
            ended_by=ended[1][0] if ended and ended[1] else None,
            hangup_cause=_cause(ended[1]) if ended else None,
            returncode=self._run.returncode if self._run else None,
            run_dir=self._run.dir if self._run else Path(),
        )


# ------------------------------------------------------------------ many parties, one process
def _injection_file(path: Path, rows: Sequence[Sequence[str]]) -> Path:
    """A sipp injection file (-inf): SEQUENTIAL, one line per call, fields [field0]; [field1]..."""
    path.write_text("SEQUENTIAL\n" + "".join(";".join(row) + ";\n" for row in rows))
    return path


class SippPhoneBank(_AnsweringParty):
    """Many agent softphones in ONE sipp process (load tests: a process per phone costs more CPU
    than the product under test: 100 phones saturated 2 cores).

    The main scenario is register.xml with the account of [field0]/[field1] of an injection file,
    one sipp "call" per account, each refreshing its registration; the out-of-call scenario
    uas.xml answers every INVITE: all the accounts' contacts are this process's port with their
    own user part (`sip:agent7@127.0.0.1:PORT`), so a call's `dialed` is the agent's SIP user.
    Stopping kills the process without unregistering (the instance is thrown away after)."""

    kind = "phones"

    def __init__(
        self,
        instance: AsteriskInstance,
        accounts: Sequence[tuple[str, str]],
        *,
        behaviour: Behaviour = ANSWER,
        expires: int = 300,
        register_rate: float = 50.0,
        max_seconds: float = 3600.0,
        trace: bool = False,
    ) -> None:
        super().__init__(instance, max_seconds=max_seconds, trace=trace)
        if not accounts:
            raise InvalidInput("accounts: at least one (username, password)", field="accounts")
        self.accounts = [(_check_user(u, "username"), _check_secret(p, "password")) for u, p in accounts]
        self.behaviour = _check_behaviour(behaviour)
        if not 60 <= expires <= 7200:
            raise InvalidInput("expires: 60-7200 seconds", field="expires")
        self.expires = expires
        self.register_rate = register_rate
        self.registered: dict[str, float] = {}  # username -> when (last 200 to its REGISTER)
        self.registration_errors: dict[str, str] = {}

    def describe(self) -> str:
        return f"phone bank ({len(self.accounts)} phones)"

    @property
    def sip_port(self) -> int | None:
        return self._run.sip_port if self._run else None

    def calls_of(self, username: str) -> list[SippCall]:
        return [call for call in self.calls if call.dialed == username]

    async def start(self) -> SippPhoneBank:
        if self.running:
            return self
        run = _SippRun(self.instance, "phones", f"bank{len(self.accounts)}", on_event=self._on_event, trace=self.trace)
        _injection_file(run.file("accounts.csv"), self.accounts)
        groups = self._uas_groups(self.behaviour, {}, run)
        run.file("register.xml").write_text(
            render_scenario(
                "register.xml",
                user="[field0]",
                password="[field1]",
                expires=self.expires,
                refresh_ms=int(self.expires * 0.8 * 1000),
            )
        )
        run.file("scenario.xml").write_text(
            render_scenario(
                "uas.xml",
                groups=groups,
                contact_user="[$dialed]",
                has_answer=any(g["kind"] == "answer" for g in groups),
            )
        )
        self._run = run
        count = len(self.accounts)
        await run.start(
            [
                "-sf",
                run.inner("register.xml"),
                "-oocsf",
                run.inner("scenario.xml"),
                "-inf",
                run.inner("accounts.csv"),
                "-m",
                str(count),
                "-r",
                f"{self.register_rate:g}",
                "-rp",
                "1000",
                "-l",
                str(count),
            ],
            self.max_seconds,
            remote=_sip_target(self.instance),
        )
        return self

    def _on_event(self, when: float, event: str, call_id: str, fields: list[str]) -> None:
        if event == "registered":
            user = fields[1] if len(fields) > 1 else ""
            self.registered[user] = when
            self.registration_errors.pop(user, None)
        elif event == "reg_failed":
            self.registration_errors[fields[1] if len(fields) > 1 else "?"] = fields[0] if fields else "?"
        elif not self._on_uas_event(when, event, call_id, fields):
            return
        self._notify()

    async def wait_registered(self, timeout: float = 60.0) -> None:
        """Wait for every account's 200 to its REGISTER, then for its contact in `pjsip show
        contacts`. SippError naming the refused accounts."""
        if self._run is None:
            raise SippError(f"{self.describe()} is not started")
        started = time.monotonic()
        wanted = {u for u, _p in self.accounts}
        await self.wait_for(
            lambda: wanted <= set(self.registered) | set(self.registration_errors), timeout, "every registration"
        )
        if self.registration_errors:
            raise SippError(
                f"{self.describe()}: REGISTER refused for {self.registration_errors}\n" + self._run.diagnostics()
            )
        while True:
            contacts = await asyncio.to_thread(self.instance.cli, "pjsip show contacts")
            missing = [u for u in wanted if f"{u}/sip:{u}@127.0.0.1:{self.sip_port}" not in contacts]
            if not missing:
                return
            if time.monotonic() - started > timeout:
                raise SippError(
                    f"{self.describe()}: registered but not in `pjsip show contacts`: {sorted(missing)[:10]}"
                )
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self._run is not None:
            await self._run.stop()
            self._notify()

    async def __aenter__(self) -> SippPhoneBank:
        await self.start()
        try:
            await self.wait_registered()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.stop()


@dataclass
class WaveCall:
    """One call of a `SippCallers` wave, as the caller's sipp log tells it (monotonic times)."""

    call_id: str
    caller: str
    invite_at: float
    answered_at: float | None = None
    status: int | None = None  # final response (200, 503...)
    ended_at: float | None = None
    ended_by: str | None = None  # "local" (our BYE after talk_seconds) or "remote"
    hangup_cause: int | None = None
    cancelled: bool = False

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def done(self) -> bool:
        return self.ended_at is not None or (self.status is not None and self.status != 200)


class SippCallers:
    """Customers calling `number`, one call per caller number of `callers`, all from ONE sipp
    process (uac.xml with [field0] of an injection file as the From user), started at `rate`
    calls/s. Each answered call talks `talk_seconds` (audio played) then hangs up; one still
    unanswered after `cancel_after` seconds is cancelled (an abandon)."""

    def __init__(
        self,
        instance: AsteriskInstance,
        number: str,
        callers: Sequence[str],
        *,
        talk_seconds: float,
        rate: float = 10.0,
        cancel_after: float = 120.0,
        audio: bool | str | Path | None = True,
        trace: bool = False,
        name: str = "wave",
    ) -> None:
        if not callers:
            raise InvalidInput("callers: at least one number", field="callers")
        if talk_seconds <= 0 or rate <= 0 or cancel_after <= 0:
            raise InvalidInput("talk_seconds, rate and cancel_after must be > 0", field="talk_seconds")
        self.instance = instance
        self.number = _check_user(number, "number")
        self.callers = [_check_user(c, "caller") for c in callers]
        if len(set(self.callers)) != len(self.callers):
            raise InvalidInput("callers: each number once (calls are told apart by it)", field="callers")
        self.talk_seconds = talk_seconds
        self.rate = rate
        self.cancel_after = cancel_after
        self.audio = audio
        self.trace = trace
        self.name = name
        self.calls: dict[str, WaveCall] = {}  # caller number -> call
        self._by_id: dict[str, WaveCall] = {}
        self._run: _SippRun | None = None

    @property
    def run_dir(self) -> Path | None:
        return self._run.dir if self._run else None

    def _on_event(self, when: float, event: str, call_id: str, fields: list[str]) -> None:
        if event == "invite":
            caller = fields[1] if len(fields) > 1 else ""
            call = WaveCall(call_id=call_id, caller=caller, invite_at=when)
            self.calls[caller] = call
            self._by_id[call_id] = call
            return
        call = self._by_id.get(call_id)
        if call is None:
            return
        if event == "answered":
            call.answered_at, call.status = when, 200
        elif event == "failed":
            if fields and fields[0].isdigit():
                call.status = int(fields[0])
        elif event == "cancelling":
            call.cancelled = True
        elif event == "ended":
            call.ended_at = when
            call.ended_by = fields[0] if fields else None
            call.hangup_cause = _cause(fields)

    async def start(self) -> SippCallers:
        run = _SippRun(
            self.instance, "callers", f"{self.name}-{self.number}", on_event=self._on_event, trace=self.trace
        )
        _injection_file(run.file("callers.csv"), [(c,) for c in self.callers])
        audio, loop = _audio_bytes(self.instance, self.audio)
        pcap = None
        if audio is not None:
            pcap = str(
                self.instance.inner_path(
                    build_rtp_pcap(run.file("rtp.pcap"), audio=audio, seconds=self.talk_seconds + 1.0, loop=loop)
                )
            )
        run.file("scenario.xml").write_text(
            render_scenario(
                "uac.xml",
                number=self.number,
                caller="[field0]",
                display_name=None,
                failure_codes=FAILURE_CODES,
                cancel_ms=int(self.cancel_after * 1000),
                talk_ms=int(self.talk_seconds * 1000),
                pcap=pcap,
                password=None,
                invite_cseq=1,
                branch_suffix="",
            )
        )
        self._run = run
        count = len(self.callers)
        timeout = count / self.rate + self.cancel_after + self.talk_seconds + 30
        await run.start(
            [
                "-sf",
                run.inner("scenario.xml"),
                "-inf",
                run.inner("callers.csv"),
                "-m",
                str(count),
                "-r",
                f"{self.rate:g}",
                "-rp",
                "1000",
                "-l",
                str(count),
            ],
            timeout,
            remote=_sip_target(self.instance),
        )
        return self

    async def wait(self, timeout: float | None = None) -> list[WaveCall]:
        """Wait for the process to end (every call placed and finished); the calls."""
        assert self._run is not None, "start() first"
        limit = (
            timeout
            if timeout is not None
            else (len(self.callers) / self.rate + self.cancel_after + self.talk_seconds + 40)
        )
        try:
            await self._run.wait(limit)
        except TimeoutError:
            await self._run.stop()
            raise SippError(
                f"callers {self.name}: still running after {limit:g} s\n" + self._run.diagnostics()
            ) from None
        return list(self.calls.values())

    async def stop(self) -> None:
        if self._run is not None:
            await self._run.stop()
