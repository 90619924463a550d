"""One private Asterisk instance: its own directory, configuration, ports, secrets and process.

An instance is named (settings.asterisk_instance). Its directory holds the rendered configuration
(`etc/`), every directory Asterisk writes to, `instance.json` (the ports picked and the secrets
generated at first render, kept from one start to the next) and the pid file. In chroot mode the
directory lives inside the Debian root (ROOT/srv/ccserver/NAME) because the chrooted Asterisk can
only see the root; in host mode it is DATA_DIR/asterisk/NAME.
"""
from __future__ import annotations

import fcntl
import ipaddress
import json
import logging
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import time
import wave
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2

from ..core.errors import ConfigurationError
from ..settings import Settings
from .root import AsteriskEnvironment, AsteriskNotBuilt, remove_tree, resolve_environment

logger = logging.getLogger(__name__)

REPO_DIR = Path(__file__).resolve().parents[2]
DEFAULT_CONF_DIR = REPO_DIR / "asterisk-conf"
DEFAULT_DIALPLAN_DIR = REPO_DIR / "dialplans"

# files ccserver writes at run time (write_generated); created empty, never overwritten by render
GENERATED_FILES = ("pjsip_agents.conf", "queues_generated.conf")
INSTANCE_FILE = "instance.json"
PID_FILE = "asterisk.pid"
CONSOLE_LOG = "console.log"
MOH_FILE = "ccserver-tone.wav"
# inside the chroot: where instances live
CHROOT_INSTANCES = PurePosixPath("/srv/ccserver")

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_CONF_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.conf$")
_PORT_LOW = 10000
_PORT_HIGH_DEFAULT = 32767  # below Linux's ephemeral range, so clients' ports never take ours


@dataclass(frozen=True)
class InstanceInfo:
    """Everything other parts of ccserver need to reach a running instance."""

    name: str
    mode: str  # "host" or "chroot"
    root: Path | None  # the Debian root in chroot mode
    asterisk_version: str
    running: bool
    pid: int | None
    instance_dir: Path  # host paths from here on
    config_file: Path
    credentials_file: Path
    messages_log: Path
    console_log: Path
    recordings_dir: Path  # spool/monitor: MixMonitor's relative file names land here
    queue_log: Path
    cdr_csv: Path
    ami_host: str
    ami_port: int
    ami_username: str
    ami_secret: str
    ari_port: int
    ari_username: str
    ari_password: str
    ari_app: str
    sip_host: str
    sip_port: int
    rtp_start: int
    rtp_end: int

    @property
    def ari_url(self) -> str:
        """Base URL for aioari.connect (it appends /ari/...)."""
        return f"http://127.0.0.1:{self.ari_port}"

    @property
    def ari_ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ari_port}/ari/events?app={self.ari_app}"

    def as_dict(self) -> dict[str, Any]:
        data = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}
        data["ari_url"] = self.ari_url
        return data


def validate_name(value: str, what: str) -> str:
    """Names become config section names and directory names: letters, digits, _ . - only."""
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ConfigurationError(
            f"{what} {value!r} is invalid: use 1-64 letters, digits, '_', '.' or '-' "
            "(starting with a letter or digit)", field=what)
    return value


def validate_secret(value: str, what: str) -> str:
    """Secrets are written into Asterisk config lines: no control characters, no ';' (comment)."""
    bad = [c for c in value if ord(c) < 32 or ord(c) == 127]
    if bad:
        raise ConfigurationError(f"{what} contains a control character ({bad[0]!r}): refused",
                                 field=what)
    if ";" in value or value != value.strip():
        raise ConfigurationError(f"{what} may not contain ';' nor start or end with a space",
                                 field=what)
    return value


def _ephemeral_low() -> int:
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
        return max(low - 1, _PORT_LOW + 1000)
    except (OSError, ValueError, IndexError):
        return _PORT_HIGH_DEFAULT


def port_free(port: int, host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> bool:
    """True when `port` can be bound on `host` (TCP with SO_REUSEADDR, like a server, or UDP)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _render_moh_tone(path: Path) -> None:
    """A calm 20 s two-tone chime (8 kHz mono WAV) for music on hold: the package ships none."""
    rate, frames = 8000, bytearray()
    for second in range(20):
        freq = (440.0, 523.25, 659.25, 523.25)[second % 4]
        for i in range(rate):
            t = i / rate
            envelope = min(1.0, t * 10) * max(0.0, 1.0 - t) ** 2
            frames += struct.pack("<h", int(6000 * envelope * math.sin(2 * math.pi * freq * t)))
    tmp = path.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))
    os.replace(tmp, path)


class AsteriskInstance:
    """Render, start, stop and inspect one named private Asterisk.

    The environment (host Asterisk or chroot root) is resolved lazily, on first need: building
    the root takes a minute, so constructing an instance never does it.
    """

    def __init__(self, settings: Settings, *, name: str | None = None,
                 conf_dir: Path | None = None, dialplan_dir: Path | None = None,
                 environment: AsteriskEnvironment | None = None) -> None:
        self.settings = settings
        self.name = validate_name(name or settings.asterisk_instance, "asterisk_instance")
        self.conf_dir = Path(conf_dir) if conf_dir else DEFAULT_CONF_DIR
        self.dialplan_dir = Path(dialplan_dir) if dialplan_dir else DEFAULT_DIALPLAN_DIR
        self._env = environment
        self._proc: subprocess.Popen | None = None
        self._validate_settings()

    # ---------------------------------------------------------------- environment and paths
    def _validate_settings(self) -> None:
        s = self.settings
        validate_name(s.ami_username, "ami_username")
        validate_name(s.ari_username, "ari_username")
        validate_name(s.ari_app, "ari_app")
        validate_secret(s.ami_secret, "ami_secret")
        validate_secret(s.ari_password, "ari_password")
        try:
            ipaddress.ip_address(s.sip_bind_address)
        except ValueError:
            raise ConfigurationError(f"sip_bind_address {s.sip_bind_address!r} is not an IP address",
                                     field="sip_bind_address") from None
        for field in ("ami_port", "ari_port", "sip_port", "rtp_port_start"):
            port = getattr(s, field)
            if not 0 <= port <= 65535:
                raise ConfigurationError(f"{field} {port} is not a port number", field=field)
        if not 2 <= s.rtp_port_count <= 20000:
            raise ConfigurationError(f"rtp_port_count {s.rtp_port_count} must be 2..20000",
                                     field="rtp_port_count")

    @property
    def environment(self) -> AsteriskEnvironment:
        """The Asterisk to run (may build the chroot root on first use: about a minute)."""
        if self._env is None:
            self._env = resolve_environment(self.settings.asterisk_mode,
                                            Path(self.settings.asterisk_root))
        return self._env

    def environment_if_built(self) -> AsteriskEnvironment | None:
        """The environment when it exists already, else None (status and down never build)."""
        if self._env is None:
            try:
                self._env = resolve_environment(self.settings.asterisk_mode,
                                                Path(self.settings.asterisk_root), build=False)
            except AsteriskNotBuilt:
                return None
        return self._env

    def _exists(self) -> bool:
        """Whether this instance was ever rendered, without building anything to find out."""
        return (self.environment_if_built() is not None
                and (self.instance_dir / INSTANCE_FILE).exists())

    @property
    def instance_dir(self) -> Path:
        """Host path of the instance directory."""
        env = self.environment
        if env.mode == "chroot":
            return env.host_path(CHROOT_INSTANCES / self.name)
        return (Path(self.settings.data_dir) / "asterisk" / self.name).absolute()

    def inner_path(self, host_path: Path) -> PurePosixPath:
        """The path Asterisk (and sipp) see for a host path inside the instance dir or root."""
        return self.environment.inner_path(host_path)

    @property
    def scratch_dir(self) -> Path:
        """Host path of a directory Asterisk and sipp can see (scenario files, pcaps, sounds)."""
        path = self.instance_dir / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _dirs(self) -> dict[str, str]:
        """Paths as Asterisk sees them, for asterisk.conf and the other templates."""
        env = self.environment
        base = self.inner_path(self.instance_dir)
        dirs = {key: str(base / sub) for key, sub in (
            ("etc", "etc"), ("varlib", "lib"), ("db", "lib"), ("key", "lib"),
            ("spool", "spool"), ("monitor", "spool/monitor"), ("run", "run"), ("log", "log"),
            ("cache", "cache"), ("moh", "moh"), ("tmp", "tmp"))}
        dirs["mod"] = env.find_dir(("/usr/lib/x86_64-linux-gnu/asterisk/modules",
                                    "/usr/lib/aarch64-linux-gnu/asterisk/modules",
                                    "/usr/lib64/asterisk/modules", "/usr/lib/asterisk/modules"),
                                   "modules")
        dirs["data"] = env.find_dir(("/usr/share/asterisk", "/var/lib/asterisk"), "data")
        dirs["agi"] = dirs["data"] + "/agi-bin"
        dirs["sbin"] = str(PurePosixPath(env.asterisk).parent)
        return dirs

    def _host(self, inner: str) -> Path:
        return self.environment.host_path(inner)

    @property
    def config_file(self) -> Path:
        return self.instance_dir / "etc" / "asterisk.conf"

    def _asterisk_argv(self, *args: str) -> list[str]:
        env = self.environment
        return env.command(env.asterisk, "-C", str(self.inner_path(self.config_file)), *args)

    # ---------------------------------------------------------------- instance.json
    def _load_state(self) -> dict[str, Any]:
        path = self.instance_dir / INSTANCE_FILE
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"{path} is unreadable ({exc}): remove it to start afresh",
                                     file=str(path)) from None

    def _save_state(self, state: dict[str, Any]) -> None:
        path = self.instance_dir / INSTANCE_FILE
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(state, out, indent=2, sort_keys=True)
            out.write("\n")
        os.replace(tmp, path)

    def _sibling_ports(self) -> set[int]:
        """Ports other instances next to this one have remembered (they may be stopped now)."""
        taken: set[int] = set()
        for other in self.instance_dir.parent.glob(f"*/{INSTANCE_FILE}"):
            if other.parent == self.instance_dir:
                continue
            try:
                data = json.loads(other.read_text())
                taken.update(int(data[k]) for k in ("ami_port", "ari_port", "sip_port"))
                taken.update(range(int(data["rtp_start"]), int(data["rtp_end"]) + 1))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return taken

    def _pick_ports(self, state: dict[str, Any], check_free: bool) -> None:
        """Fill state with ports: from settings when set, else remembered, else picked free."""
        s = self.settings
        sip_host = s.sip_bind_address
        wanted = {"ami_port": (s.ami_port, "127.0.0.1", socket.SOCK_STREAM),
                  "ari_port": (s.ari_port, "127.0.0.1", socket.SOCK_STREAM),
                  "sip_port": (s.sip_port, sip_host, socket.SOCK_DGRAM)}
        avoid = self._sibling_ports()
        high = _ephemeral_low()
        count = s.rtp_port_count
        rtp_remembered = state.get("rtp_start")
        if s.rtp_port_start:
            state["rtp_start"] = s.rtp_port_start
        elif not rtp_remembered or (check_free and not port_free(rtp_remembered, sip_host,
                                                                 socket.SOCK_DGRAM)):
            for _ in range(200):
                start = random.randrange(_PORT_LOW, high - count) & ~1
                ports = range(start, start + count)
                if avoid.intersection(ports):
                    continue
                if all(port_free(p, sip_host, socket.SOCK_DGRAM) for p in ports[::max(1, count // 8)]):
                    state["rtp_start"] = start
                    break
            else:
                raise ConfigurationError("found no free RTP port range", field="rtp_port_start")
        state["rtp_end"] = state["rtp_start"] + count - 1
        avoid.update(range(state["rtp_start"], state["rtp_end"] + 1))
        for key, (fixed, host, kind) in wanted.items():
            if fixed:
                if check_free and not port_free(fixed, host, kind):
                    raise ConfigurationError(
                        f"{key} {fixed} on {host} is in use by another program: choose another "
                        f"or set it to 0 to pick a free one", field=key, port=fixed)
                state[key] = fixed
            else:
                current = state.get(key)
                if current and current not in avoid and (not check_free
                                                         or port_free(current, host, kind)):
                    avoid.add(current)
                    continue
                if current:
                    logger.info("instance %s: %s %s is taken, picking another", self.name, key,
                                current)
                for _ in range(500):
                    port = random.randrange(_PORT_LOW, high)
                    if port not in avoid and port_free(port, host, kind):
                        break
                else:
                    raise ConfigurationError(f"found no free port for {key}", field=key)
                state[key] = port
            avoid.add(state[key])

    # ---------------------------------------------------------------- rendering
    def _template_env(self) -> jinja2.Environment:
        return jinja2.Environment(loader=jinja2.FileSystemLoader(str(self.conf_dir)),
                                  undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                                  autoescape=False)

    def _render_one(self, env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
        path = self.conf_dir / name
        try:
            return env.get_template(name).render(context)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigurationError(f"{path}, line {exc.lineno}: {exc.message}",
                                     file=str(path), line=exc.lineno) from None
        except jinja2.UndefinedError as exc:
            raise ConfigurationError(f"{path}: {exc.message}", file=str(path)) from None
        except UnicodeDecodeError:
            raise ConfigurationError(f"{path} is not UTF-8 text", file=str(path)) from None
        except OSError as exc:
            raise ConfigurationError(f"{path} is unreadable: {exc.strerror}", file=str(path)) from None

    def render(self, *, check_ports: bool = False) -> InstanceInfo:
        """Write the instance's configuration; ports and secrets are picked once and remembered.

        With check_ports (as `up` does) remembered ports that are now taken are picked again.
        """
        if not self.conf_dir.is_dir():
            raise ConfigurationError(f"the Asterisk templates directory {self.conf_dir} is missing",
                                     file=str(self.conf_dir))
        base = self.instance_dir
        base.mkdir(parents=True, exist_ok=True)
        os.chmod(base, 0o700)  # secrets inside
        state = self._load_state()
        state["name"] = self.name
        self._pick_ports(state, check_free=check_ports)
        state["ami_secret"] = self.settings.ami_secret or validate_secret(
            state.get("ami_secret") or secrets.token_hex(16), "ami_secret")
        state["ari_password"] = self.settings.ari_password or validate_secret(
            state.get("ari_password") or secrets.token_hex(16), "ari_password")
        dirs = self._dirs()
        for key in ("etc", "varlib", "key", "spool", "monitor", "run", "log", "cache", "moh",
                    "tmp"):
            self._host(dirs[key]).mkdir(parents=True, exist_ok=True)
        (self._host(dirs["log"]) / "cdr-csv").mkdir(exist_ok=True)
        sip_bind = self.settings.sip_bind_address
        context = {
            "name": self.name, "dirs": dirs,
            "ami_port": state["ami_port"], "ami_username": self.settings.ami_username,
            "ami_secret": state["ami_secret"],
            "http_port": state["ari_port"], "ari_username": self.settings.ari_username,
            "ari_password": state["ari_password"], "ari_app": self.settings.ari_app,
            "sip_bind": sip_bind, "sip_port": state["sip_port"],
            "rtp_start": state["rtp_start"], "rtp_end": state["rtp_end"],
            "loopback_addresses": sorted({"127.0.0.1", sip_bind} - {"0.0.0.0", "::"}),
        }
        templates = sorted(p.name for p in self.conf_dir.glob("*.conf"))
        if "asterisk.conf" not in templates:
            raise ConfigurationError(f"{self.conf_dir} has no asterisk.conf template",
                                     file=str(self.conf_dir))
        clash = set(templates) & set(GENERATED_FILES)
        if clash:
            raise ConfigurationError(f"{', '.join(sorted(clash))} must not be a template: ccserver "
                                     "generates it", file=str(self.conf_dir))
        tenv = self._template_env()
        rendered = {name: self._render_one(tenv, name, context) for name in templates}
        etc = self._host(dirs["etc"])
        for name, text in rendered.items():  # all rendered before any is written
            self._write_atomic(etc / name, text)
        for name in GENERATED_FILES:
            if not (etc / name).exists():
                self._write_atomic(etc / name, "; generated by ccserver\n")
        self._copy_dialplans(etc / "dialplans")
        moh = self._host(dirs["moh"]) / MOH_FILE
        if not moh.exists():
            _render_moh_tone(moh)
        self._save_state(state)
        return self._info(state)

    def _copy_dialplans(self, target: Path) -> None:
        target.mkdir(exist_ok=True)
        sources = sorted(self.dialplan_dir.glob("*.conf")) if self.dialplan_dir.is_dir() else []
        names = {p.name for p in sources}
        for old in target.glob("*.conf"):
            if old.name not in names:
                old.unlink()
        for src in sources:
            try:
                self._write_atomic(target / src.name, src.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigurationError(f"dialplan {src} is unreadable: {exc}",
                                         file=str(src)) from None
        if not sources:  # extensions.conf includes dialplans/*.conf: keep the glob matching
            self._write_atomic(target / "empty.conf", "; no dialplan in the repository\n")

    @staticmethod
    def _write_atomic(path: Path, text: str) -> None:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)

    def write_generated(self, filename: str, text: str) -> Path:
        """Write a ccserver-generated config file (e.g. pjsip_agents.conf) into the instance.

        It survives re-rendering. Apply it with reload(): `res_pjsip.so`, `app_queue.so`...
        """
        if not _CONF_NAME_RE.match(filename) or (self.conf_dir / filename).exists():
            raise ConfigurationError(f"{filename!r} cannot be generated: it must be a plain "
                                     "NAME.conf that is not one of the templates", file=filename)
        path = self.instance_dir / "etc" / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        self._write_atomic(path, text)
        return path

    # ---------------------------------------------------------------- information
    def _info(self, state: dict[str, Any] | None = None, pid: int | None = None) -> InstanceInfo:
        state = state if state is not None else self._load_state()
        if not state:
            raise ConfigurationError(f"instance {self.name!r} was never rendered "
                                     "(run `ccserver asterisk up`)", instance=self.name)
        env = self.environment
        base = self.instance_dir
        return InstanceInfo(
            name=self.name, mode=env.mode, root=env.root if env.mode == "chroot" else None,
            asterisk_version=env.version, running=pid is not None, pid=pid,
            instance_dir=base, config_file=self.config_file,
            credentials_file=base / INSTANCE_FILE, messages_log=base / "log" / "messages.log",
            console_log=base / CONSOLE_LOG, recordings_dir=base / "spool" / "monitor",
            queue_log=base / "log" / "queue_log", cdr_csv=base / "log" / "cdr-csv" / "Master.csv",
            ami_host="127.0.0.1", ami_port=state["ami_port"],
            ami_username=self.settings.ami_username, ami_secret=state["ami_secret"],
            ari_port=state["ari_port"], ari_username=self.settings.ari_username,
            ari_password=state["ari_password"], ari_app=self.settings.ari_app,
            sip_host=self.settings.sip_bind_address, sip_port=state["sip_port"],
            rtp_start=state["rtp_start"], rtp_end=state["rtp_end"])

    @property
    def info(self) -> InstanceInfo:
        """Ports, credentials and paths of this instance (rendered), with its running state."""
        return self._info(pid=self.pid())

    def status(self) -> InstanceInfo | None:
        """The instance's info and whether it runs; None when it was never rendered."""
        if not self._exists():
            return None
        return self.info

    # ---------------------------------------------------------------- process
    def pid(self) -> int | None:
        """Pid of this instance's Asterisk when it runs, else None (a stale pid file is ignored)."""
        try:
            pid = int((self.instance_dir / PID_FILE).read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if self._is_our_asterisk(pid) else None

    def _is_our_asterisk(self, pid: int) -> bool:
        try:  # reap it if it is our own dead child (a killed instance started by this process)
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        conf = str(self.inner_path(self.config_file)).encode()
        return conf in cmdline and any(part.endswith(b"asterisk") for part in cmdline)

    def _lock(self):
        """An exclusive lock on this instance (two `up` at once would start two Asterisks)."""
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        lock = open(self.instance_dir / ".lock", "w")
        fcntl.flock(lock, fcntl.LOCK_EX)
        return lock

    def up(self, timeout: float = 30.0) -> InstanceInfo:
        """Render and start the instance unless it runs; return its info once FullyBooted."""
        with self._lock():
            pid = self.pid()
            if pid is not None:
                logger.info("instance %s already runs (pid %s)", self.name, pid)
                return self._info(pid=pid)
            info = self.render(check_ports=True)
            self._clear_stale()
            started = time.monotonic()
            console = open(info.console_log, "ab")
            argv = self._asterisk_argv("-f", "-n", "-q")
            logger.info("starting Asterisk instance %s: %s", self.name, " ".join(argv))
            try:
                self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=console,
                                              stderr=subprocess.STDOUT, start_new_session=True,
                                              close_fds=True)
            except OSError as exc:
                raise ConfigurationError(f"cannot start {argv[0]}: {exc.strerror}",
                                         instance=self.name) from None
            finally:
                console.close()
            pid = self._proc.pid
            (self.instance_dir / PID_FILE).write_text(f"{pid}\n")
            try:
                self._wait_booted(timeout)
            except BaseException:
                self._stop_pid(pid, grace=2.0)
                (self.instance_dir / PID_FILE).unlink(missing_ok=True)
                raise
            logger.info("instance %s fully booted in %.2f s (pid %s, AMI %s, ARI %s, SIP %s:%s)",
                        self.name, time.monotonic() - started, pid, info.ami_port, info.ari_port,
                        info.sip_host, info.sip_port)
            for line in self.boot_problems():
                logger.warning("instance %s: %s", self.name, line)
            return self._info(pid=pid)

    start_again = up

    def _clear_stale(self) -> None:
        """Left by a killed Asterisk: our pid file, its control socket and pid file."""
        (self.instance_dir / PID_FILE).unlink(missing_ok=True)
        for name in ("asterisk.ctl", "asterisk.pid"):
            (self.instance_dir / "run" / name).unlink(missing_ok=True)
        # the messages log of this boot only, so boot_problems() speaks of this boot
        log = self.instance_dir / "log" / "messages.log"
        if log.exists():
            os.replace(log, log.with_name("messages.log.previous"))

    def _wait_booted(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is not None and self._proc.poll() is not None:
                raise ConfigurationError(
                    f"Asterisk instance {self.name} exited at boot (code {self._proc.returncode}):\n"
                    + self._log_tail(), instance=self.name, log=str(self.instance_dir / CONSOLE_LOG))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConfigurationError(
                    f"Asterisk instance {self.name} did not finish booting in {timeout:.0f} s:\n"
                    + self._log_tail(), instance=self.name)
            try:
                result = subprocess.run(self._asterisk_argv("-rx", "core waitfullybooted"),
                                        capture_output=True, text=True,
                                        timeout=max(0.5, min(remaining, 10.0)))
            except subprocess.TimeoutExpired:
                continue
            if result.returncode == 0 and "fully booted" in result.stdout.lower():
                return
            time.sleep(0.05)

    def _log_tail(self, lines: int = 20) -> str:
        out = []
        for path in (self.instance_dir / CONSOLE_LOG, self.instance_dir / "log" / "messages.log"):
            try:
                tail = path.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            if tail:
                out.append(f"--- last lines of {path}:")
                out.extend(tail)
        return "\n".join(out) or "(Asterisk wrote no log)"

    def boot_problems(self) -> list[str]:
        """WARNING and ERROR lines of the messages log since the last start."""
        try:
            text = (self.instance_dir / "log" / "messages.log").read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if re.search(r"\] (WARNING|ERROR)\[", line)]

    def down(self, timeout: float = 10.0) -> bool:
        """Stop the instance (`core stop now`, then SIGTERM, then SIGKILL); False if not running."""
        if not self._exists():
            return False
        with self._lock():
            pid = self.pid()
            if pid is None:
                (self.instance_dir / PID_FILE).unlink(missing_ok=True)
                return False
            try:
                subprocess.run(self._asterisk_argv("-rx", "core stop now"), capture_output=True,
                               timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
            self._stop_pid(pid, grace=timeout)
            (self.instance_dir / PID_FILE).unlink(missing_ok=True)
            logger.info("instance %s stopped (pid %s)", self.name, pid)
            return True

    def _stop_pid(self, pid: int, grace: float) -> None:
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    return
            deadline = time.monotonic() + (grace if sig is None else 3.0)
            while time.monotonic() < deadline:
                if not self._is_our_asterisk(pid):
                    return
                time.sleep(0.05)
        if self._is_our_asterisk(pid):
            raise ConfigurationError(f"Asterisk pid {pid} of instance {self.name} survived SIGKILL",
                                     pid=pid)

    def kill(self, sig: int = signal.SIGKILL) -> int | None:
        """Send `sig` to the running Asterisk (tests simulate a crash); returns its pid."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, sig)
            if sig == signal.SIGKILL:
                deadline = time.monotonic() + 5
                while self._is_our_asterisk(pid) and time.monotonic() < deadline:
                    time.sleep(0.02)
        return pid

    def destroy(self) -> None:
        """Stop the instance and delete its directory (recordings and logs included)."""
        self.down()
        if self._env is not None and self.instance_dir.exists():
            remove_tree(self.instance_dir)

    # ---------------------------------------------------------------- talking to it
    def cli(self, command: str, timeout: float = 10.0) -> str:
        """Run an Asterisk CLI command in this instance (`asterisk -rx`) and return its output."""
        if any(ord(c) < 32 for c in command):
            raise ConfigurationError("a CLI command may not contain control characters")
        if not self._exists() or self.pid() is None:
            raise ConfigurationError(f"Asterisk instance {self.name} is not running "
                                     "(run `ccserver asterisk up`)", instance=self.name)
        try:
            result = subprocess.run(self._asterisk_argv("-rx", command), capture_output=True,
                                    text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ConfigurationError(f"the Asterisk CLI did not answer {command!r} in {timeout} s",
                                     instance=self.name) from None
        if result.returncode != 0:
            raise ConfigurationError(f"Asterisk CLI {command!r} failed: "
                                     f"{(result.stderr or result.stdout).strip()}",
                                     instance=self.name)
        return result.stdout

    def reload(self, module: str | None = None) -> str:
        """Reload one module (e.g. 'res_pjsip.so', 'app_queue.so') or, without one, everything."""
        if module is not None and not re.match(r"^[A-Za-z0-9_.-]+$", module):
            raise ConfigurationError(f"invalid module name {module!r}")
        return self.cli(f"module reload {module}" if module else "core reload")

    def sipp_command(self, args: list[str] | tuple[str, ...]) -> list[str]:
        """argv running sipp with `args` where Asterisk runs (chroot-prefixed in chroot mode).

        File arguments must be paths sipp can see: put them in `scratch_dir` and pass
        `inner_path(...)`; the package's pcaps are at /usr/share/sip-tester/.
        """
        env = self.environment
        if env.mode == "chroot":
            return env.command("/usr/bin/sipp", *args)
        sipp = shutil.which("sipp")
        if not sipp:
            raise ConfigurationError("sipp is not installed: apt-get install sip-tester")
        return [sipp, *args]
