"""Typed, layered settings: defaults < TOML file < environment (CCSERVER_*) < command line.

Every field can be set as ``CCSERVER_<FIELD>`` (upper case) in the environment or as ``field =``
in the TOML file given by ``--config`` / ``CCSERVER_CONFIG``. Unknown keys and badly typed values
are refused with an error naming the key and where it came from.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from .core.errors import ConfigurationError

CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ccserver"


@dataclass
class Settings:
    # where ccserver keeps its own files (SQLite database, recordings index...)
    data_dir: Path = Path("var")
    # SQLAlchemy URL; empty means SQLite at data_dir/ccserver.db
    database_url: str = ""
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # the origin browsers use to reach the web UI (WebSocket Origin check); empty: derived
    public_url: str = ""
    # session and login cookies carry the Secure flag, and responses Strict-Transport-Security:
    # "auto" when the request came over HTTPS (or public_url is https://...), "always" behind a
    # TLS-terminating proxy that talks plain HTTP to ccserver
    cookie_secure: str = "auto"
    # seconds between two checks that the sessions of open WebSockets are still valid (a user
    # disabled from the command line is disconnected within this delay)
    session_check_interval: float = 1.0
    # minutes between two purges of expired sessions from the database
    session_purge_interval: float = 15.0
    # GDPR erasure: the HMAC key (hex, 32 bytes or more) of the hashes kept in place of erased
    # numbers (do-not-call list, consent ledger, decisions); empty: data_dir/erasure_hmac.key,
    # generated (0600) the first time. Back it up: without it, erased numbers on the do-not-call
    # list are no longer recognised
    erasure_hmac_key: str = ""
    # with an external Asterisk (`serve --external`, docker): where its spool (voicemail/,
    # outgoing/) and its log directory (cdr-csv/, queue_log, messages.log) are seen from this
    # host, so an erasure reaches them; empty: not reachable (the private instance's are known)
    asterisk_spool_dir: str = ""
    asterisk_log_dir: str = ""
    # reverse proxies whose X-Forwarded-For is believed (comma-separated networks, "10.0.0.2/32");
    # empty: the client address is the TCP peer's
    trusted_proxies: str = ""
    # logins: the failure per account and per client address (IPv6: per /64) that starts a
    # growing lock (0: no limit for that scope); password hashing runs on this many threads
    # with at most login_hash_queue logins waiting (more are answered 503 at once; 128 lets a
    # whole shift log in at once)
    login_account_failures: int = 5
    login_address_failures: int = 20
    login_hash_workers: int = 2
    login_hash_queue: int = 128

    # --- the private Asterisk ---------------------------------------------------------------
    # name of the instance (its own directory and ports): 'demo', 'test-1234'...
    asterisk_instance: str = "default"
    # where the debootstrapped Debian sid root is cached (used when no Asterisk >= 20 is installed)
    asterisk_root: Path = CACHE_DIR / "asterisk-root"
    # "auto": host Asterisk if >= 20, else the cached root; "host" or "chroot" to force
    asterisk_mode: str = "auto"
    # the user the private Asterisk runs as when ccserver runs as root: "auto" (in the chroot
    # root, a dedicated user whose uid no host user has; on the host, its 'asterisk' user),
    # or "" to leave it as ccserver's own user (root)
    asterisk_run_user: str = "auto"
    # with `serve --external`: the directory shared with that Asterisk's /etc/asterisk where the
    # generated files (SIP accounts, queues, dialplans) are written; empty: none are written
    asterisk_generated_dir: str = ""
    # 0 means: pick a free port when the instance is first rendered, then keep it
    ami_port: int = 0
    ari_port: int = 0
    sip_port: int = 0
    rtp_port_start: int = 0
    # RTP ports (UDP) from rtp_port_start: 4 per call (caller and agent legs, RTP + RTCP), so
    # 2000 carry 500 calls; the 200 more than max_concurrent_calls needs are for the legs the
    # admission does not count (supervisors listening, agent-to-agent, campaigns). At start, a
    # range smaller than 4 x max_concurrent_calls is refused, naming this setting.
    rtp_port_count: int = 2000
    # the most customers' calls this node carries at once (100+ agents: 300); the dialplan
    # refuses the next caller (SIP 503, a "refused" call record and an alert) before the RTP
    # range runs out (PJSIP would answer 488 and nothing would show it)
    max_concurrent_calls: int = 300
    ami_host: str = "127.0.0.1"
    ami_username: str = "ccserver"
    ami_secret: str = ""
    ari_username: str = "ccserver"
    ari_password: str = ""
    ari_app: str = "ccserver"
    # address SIP and RTP bind to; set a LAN address so real softphones can register
    sip_bind_address: str = "127.0.0.1"
    # where AMI (manager.conf) and ARI/HTTP (http.conf) listen, and the networks AMI accepts
    # logins from (comma-separated, "10.0.0.0/8" or "10.0.0.0/255.0.0.0"); the docker image
    # listens on 0.0.0.0 and permits its compose network
    ami_bind_address: str = "127.0.0.1"
    ami_permit: str = "127.0.0.1/255.255.255.255"
    ari_bind_address: str = "127.0.0.1"
    # behind NAT (docker): the address (IP or host name) PJSIP advertises to phones for SIP and
    # for RTP, and the networks it considers local (comma-separated); empty: not rendered
    sip_external_signaling_address: str = ""
    sip_external_media_address: str = ""
    sip_local_net: str = ""
    # Asterisk's module directory; empty: found (Debian's multiarch /usr/lib/<triplet>/...)
    asterisk_modules_dir: str = ""
    # seconds an AMI/ARI command may take before it fails with pbx-timeout
    pbx_command_timeout: float = 5.0
    # seconds between checks for drift: a resync from Asterisk is taken then only when something
    # suggests the events missed a change (always after a (re)connect)
    resync_interval: float = 60.0
    # where outbound calls (callbacks, campaigns) go: host[:port] of the SIP trunk peer that the
    # [customers] endpoint dials (Dial(PJSIP/customers/sip:NUMBER@HOST))
    trunk_host: str = "127.0.0.1:5060"
    # IVR: the directory of the scripts (*.yaml) and how often its counters are written
    ivr_scripts_dir: Path = Path("ivr_scripts")
    ivr_stats_flush_interval: float = 30.0
    # recording: ccserver's store of recordings (empty: data_dir/recordings) and where the files
    # Asterisk's MixMonitor writes appear on this host (empty: the private instance's spool/monitor)
    recordings_dir: str = ""
    recordings_spool_dir: str = ""
    # agents may listen to the recordings of their own calls
    recording_agents_may_listen: bool = False
    # AES-256 key (hex or base64 of 32 bytes) encrypting recordings at rest; empty: stored in clear
    recording_encryption_key: str = ""
    # hour (UTC) of the daily purge of recordings past their retention
    recording_purge_hour: int = 3
    # outbound dialer: where it sends calls, PJSIP/customers/<this> with {number} (national),
    # {e164} or {digits}: "sip:{number}@trunk.example:5060"; empty: automatic dialing disabled
    outbound_dial_uri: str = ""
    log_level: str = "INFO"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path(self.data_dir) / 'ccserver.db').resolve()}"

    def replace(self, **changes: Any) -> "Settings":
        return _apply(self, changes, "code")


# settings restricted to a few words: the accepted spellings of each, and what they mean
_CHOICES: dict[str, dict[str, str]] = {
    "cookie_secure": {"auto": "auto", "always": "always", "true": "always", "yes": "always",
                      "on": "always", "1": "always"},
}


def _coerce(name: str, typ: Any, value: Any, source: str) -> Any:
    if name in _CHOICES:
        choice = _CHOICES[name].get(str(value).strip().lower())
        if choice is None:
            raise ConfigurationError(
                f"setting {name!r} from {source}: {value!r} is not one of "
                f"{', '.join(sorted(set(_CHOICES[name].values())))}", field=name, source=source)
        return choice
    typ_name = typ if isinstance(typ, str) else getattr(typ, "__name__", str(typ))
    try:
        if typ_name in ("int",):
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if typ_name in ("float",):
            return float(value)
        if typ_name in ("bool",):
            if isinstance(value, bool):
                return value
            low = str(value).strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if typ_name in ("Path",):
            return Path(str(value)).expanduser()
        if isinstance(value, (dict, list)):
            raise ValueError
        return str(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"setting {name!r} from {source}: {value!r} is not a valid {typ_name}",
                                 field=name, source=source) from None


def _apply(base: Settings, values: Mapping[str, Any], source: str) -> Settings:
    known = {f.name: f for f in fields(Settings)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigurationError(f"unknown setting {key!r} in {source}", field=key, source=source)
        changes[key] = _coerce(key, known[key].type, value, source)
    return dataclasses.replace(base, **changes)


def load_settings(config_file: str | os.PathLike | None = None,
                  environ: Mapping[str, str] | None = None,
                  overrides: Mapping[str, Any] | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    settings = Settings()
    config_file = config_file or environ.get("CCSERVER_CONFIG") or None
    if config_file:
        path = Path(config_file)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigurationError(f"config file {path} does not exist", file=str(path)) from None
        except PermissionError:
            raise ConfigurationError(f"config file {path} is not readable", file=str(path)) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"config file {path}: {exc}", file=str(path)) from None
        settings = _apply(settings, data, str(path))
    known = {f.name for f in fields(Settings)}
    from_env = {}
    for key, value in environ.items():
        if key.startswith("CCSERVER_") and key != "CCSERVER_CONFIG":
            name = key[len("CCSERVER_"):].lower()
            if name in known:
                from_env[name] = value
    settings = _apply(settings, from_env, "environment")
    if overrides:
        settings = _apply(settings, {k: v for k, v in overrides.items() if v is not None}, "command line")
    return settings
