"""Typed, layered settings: defaults < TOML file < environment (CCSERVER_*) < command line.

The settings come in sections (`storage`, `web`, `login`, `privacy`, `asterisk`, `pbx`, `outbound`,
`ivr`, `recording`, `log`), each a frozen dataclass held by `Settings`: `settings.web.port`.

- TOML (`--config FILE` / ``CCSERVER_CONFIG``): one table per section, ``[web]`` then ``port = 8080``.
- environment: ``CCSERVER_<SECTION>_<KEY>``, upper case: ``CCSERVER_WEB_PORT=8080``.
- code: ``settings.replace({"web.port": 8080})`` or ``settings.replace(web={"port": 8080})``.

The flat names of earlier versions (``http_port = 8080`` at the top of the file, ``CCSERVER_HTTP_PORT``)
are still accepted, with a warning naming the new key (`SECTION_OF` maps each old name to its new
place). Unknown keys and badly typed values are refused with an error naming the key
(``web.port: must be an integer``) and where the value came from.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from .core.errors import ConfigurationError

CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ccserver"


class DeprecatedSettingWarning(FutureWarning):
    """A setting given under its old flat name; the message names the new key."""


@dataclass(frozen=True)
class StorageSettings:
    # where ccserver keeps its own files (SQLite database, recordings index...)
    data_dir: Path = Path("var")
    # SQLAlchemy URL; empty means SQLite at data_dir/ccserver.db
    database_url: str = ""

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path(self.data_dir) / 'ccserver.db').resolve()}"


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
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
    # reverse proxies whose X-Forwarded-For is believed (comma-separated networks, "10.0.0.2/32");
    # empty: the client address is the TCP peer's
    trusted_proxies: str = ""
    # seconds an agent desk may stay hidden or frozen (background tab, laptop asleep) before it
    # re-reads its whole state (GET /api/agent/desk/snapshot) when shown again; 0: every time.
    # A skipped live message or a reconnection re-reads it whatever this says
    resync_after: float = 2.0


@dataclass(frozen=True)
class LoginSettings:
    # the failures per account and per client address (IPv6: per /64) that start a growing lock
    # (0: no limit for that scope); password hashing runs on hash_workers threads with at most
    # hash_queue logins waiting (more are answered 503 at once; 128 lets a whole shift log in)
    account_failures: int = 5
    address_failures: int = 20
    hash_workers: int = 2
    hash_queue: int = 128


@dataclass(frozen=True)
class PrivacySettings:
    # GDPR erasure: the HMAC key (hex, 32 bytes or more) of the hashes kept in place of erased
    # numbers (do-not-call list, consent ledger, decisions); empty: data_dir/erasure_hmac.key,
    # generated (0600) the first time. Back it up: without it, erased numbers on the do-not-call
    # list are no longer recognised
    erasure_hmac_key: str = ""


@dataclass(frozen=True)
class AsteriskSettings:
    """The Asterisk ccserver runs (the private instance) or talks to (`serve --external`)."""

    # name of the instance (its own directory and ports): 'demo', 'test-1234'...
    instance: str = "default"
    # where the debootstrapped Debian sid root is cached (used when no Asterisk >= 20 is installed)
    root: Path = CACHE_DIR / "asterisk-root"
    # "auto": host Asterisk if >= 20, else the cached root; "host" or "chroot" to force
    mode: str = "auto"
    # the user the private Asterisk runs as when ccserver runs as root: "auto" (in the chroot
    # root, a dedicated user whose uid no host user has; on the host, its 'asterisk' user),
    # or "" to leave it as ccserver's own user (root)
    run_user: str = "auto"
    # with `serve --external`: the directory shared with that Asterisk's /etc/asterisk where the
    # generated files (SIP accounts, queues, dialplans) are written; empty: none are written
    generated_dir: str = ""
    # with an external Asterisk (`serve --external`, docker): where its spool (voicemail/,
    # outgoing/) and its log directory (cdr-csv/, queue_log, messages.log) are seen from this
    # host, so an erasure reaches them; empty: not reachable (the private instance's are known)
    spool_dir: str = ""
    log_dir: str = ""
    # Asterisk's module directory; empty: found (Debian's multiarch /usr/lib/<triplet>/...)
    modules_dir: str = ""
    # 0 means: pick a free port when the instance is first rendered, then keep it
    sip_port: int = 0
    # the browser phones' secure WebSocket (Asterisk's HTTPS server, WSS to PJSIP); 0: picked
    # like sip_port. It listens on sip_bind_address (browsers reach it as phones reach SIP).
    wss_port: int = 0
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
    # address SIP and RTP bind to; set a LAN address so real softphones can register
    sip_bind_address: str = "127.0.0.1"
    # behind NAT (docker): the address (IP or host name) PJSIP advertises to phones for SIP and
    # for RTP, and the networks it considers local (comma-separated); empty: not rendered
    sip_external_signaling_address: str = ""
    sip_external_media_address: str = ""
    sip_local_net: str = ""
    # where AMI (manager.conf) and ARI/HTTP (http.conf) listen, and the networks AMI accepts
    # logins from (comma-separated, "10.0.0.0/8" or "10.0.0.0/255.0.0.0"); the docker image
    # listens on 0.0.0.0 and permits its compose network
    ami_bind_address: str = "127.0.0.1"
    ami_permit: str = "127.0.0.1/255.255.255.255"
    ari_bind_address: str = "127.0.0.1"
    # the language callers hear (CHANNEL(language): Asterisk's sounds/<language>) in a queue
    # that names none; "" leaves Asterisk's own default (en). The demo uses "fr".
    language: str = ""
    # with an external Asterisk (docker): a directory shared with it for the uploaded prompts and
    # music on hold, as this host sees it and as Asterisk sees it (empty: the same path); empty:
    # no uploads (the private instance keeps them in its own directory)
    media_dir: str = ""
    media_dir_in_asterisk: str = ""


@dataclass(frozen=True)
class PbxSettings:
    """How ccserver reaches Asterisk's AMI and ARI, and how long it waits for them."""

    ami_host: str = "127.0.0.1"
    # 0 means: pick a free port when the private instance is first rendered, then keep it
    ami_port: int = 0
    ami_username: str = "ccserver"
    ami_secret: str = ""
    ari_port: int = 0
    ari_username: str = "ccserver"
    ari_password: str = ""
    ari_app: str = "ccserver"
    # seconds an AMI/ARI command may take before it fails with pbx-timeout
    command_timeout: float = 5.0
    # seconds between checks for drift: a resync from Asterisk is taken then only when something
    # suggests the events missed a change (always after a (re)connect)
    resync_interval: float = 60.0


@dataclass(frozen=True)
class OutboundSettings:
    # where outbound calls (callbacks, campaigns) go: host[:port] of the SIP trunk peer that the
    # [customers] endpoint dials (Dial(PJSIP/customers/sip:NUMBER@HOST))
    trunk_host: str = "127.0.0.1:5060"
    # outbound dialer: where it sends calls, PJSIP/customers/<this> with {number} (national),
    # {e164} or {digits}: "sip:{number}@trunk.example:5060"; empty: automatic dialing disabled
    dial_uri: str = ""
    # the caller ID presented to customers on calls placed from the desk outside any campaign
    # (click-to-dial); empty: none is set
    service_caller_id: str = ""


@dataclass(frozen=True)
class IvrSettings:
    # the directory of the scripts (*.yaml) and how often (seconds) their counters are written
    scripts_dir: Path = Path("ivr_scripts")
    stats_flush_interval: float = 30.0


@dataclass(frozen=True)
class RecordingSettings:
    # ccserver's store of recordings (empty: data_dir/recordings) and where the files Asterisk's
    # MixMonitor writes appear on this host (empty: the private instance's spool/monitor)
    store_dir: str = ""
    spool_dir: str = ""
    # agents may listen to the recordings of their own calls
    agents_may_listen: bool = False
    # AES-256 key (hex or base64 of 32 bytes) encrypting recordings at rest; empty: stored in clear
    encryption_key: str = ""
    # hour (UTC) of the daily purge of recordings past their retention
    purge_hour: int = 3
    # the customer-service calls agents place from their desks (click-to-dial): always (from the
    # customer's answer), on_demand (the agent starts it) or never; kept that many days (0: ever)
    click_to_dial_policy: str = "always"
    click_to_dial_retention_days: int = 180


@dataclass(frozen=True)
class LogSettings:
    # DEBUG, INFO, WARNING...
    level: str = "INFO"
    # levels of single loggers, comma-separated LOGGER=LEVEL: apscheduler says "Running job" and
    # "executed successfully" at INFO for every run of every job (twice every 5 s); its warnings
    # (a job missed, an error) are kept. "apscheduler=INFO" brings the job lines back.
    levels: str = "apscheduler=WARNING"

    def logger_levels(self) -> dict[str, str]:
        """`levels` as {logger: LEVEL}; ConfigurationError naming `log.levels` when malformed."""
        return parse_logger_levels(self.levels)


_LEVEL_NAMES = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET")
_LOGGER_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def parse_logger_levels(text: str) -> dict[str, str]:
    """ "apscheduler=WARNING, aiohttp.access=INFO" -> {"apscheduler": "WARNING", ...}."""
    levels: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, level = (x.strip() for x in item.partition("="))
        if not sep or not name or not set(name) <= _LOGGER_NAME_CHARS or level.upper() not in _LEVEL_NAMES:
            raise ConfigurationError(
                f"log.levels: {item!r} is not LOGGER=LEVEL (a logger name such as apscheduler, "
                f"a level among {', '.join(_LEVEL_NAMES)})",
                field="log.levels",
            )
        levels[name] = level.upper()
    return levels


@dataclass(frozen=True)
class Settings:
    storage: StorageSettings = field(default_factory=StorageSettings)
    web: WebSettings = field(default_factory=WebSettings)
    login: LoginSettings = field(default_factory=LoginSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    asterisk: AsteriskSettings = field(default_factory=AsteriskSettings)
    pbx: PbxSettings = field(default_factory=PbxSettings)
    outbound: OutboundSettings = field(default_factory=OutboundSettings)
    ivr: IvrSettings = field(default_factory=IvrSettings)
    recording: RecordingSettings = field(default_factory=RecordingSettings)
    log: LogSettings = field(default_factory=LogSettings)

    def replace(self, changes: Mapping[str, Any] | None = None, /, **sections: Any) -> Settings:
        """A copy with `changes` ({"web.port": 8081}) and `sections` (web={"port": 8081}) applied;
        values are checked and converted as from a file."""
        values: dict[str, Any] = {}
        whole: dict[str, Any] = {}
        for name, value in [*(changes or {}).items(), *sections.items()]:
            if name in SECTIONS and isinstance(value, SECTIONS[name]):
                whole[name] = value  # web=WebSettings(...)
            elif name in SECTIONS and isinstance(value, Mapping):
                values.update({f"{name}.{key}": v for key, v in value.items()})
            else:
                values[name] = value  # "web.port", or an old flat name (accepted with a warning)
        return _apply(dataclasses.replace(self, **whole), values, "code")

    def __getattr__(self, name: str) -> Any:
        # the old flat names (settings.http_port) still read, with a warning naming the new key
        if name in SECTION_OF:
            section, key = SECTION_OF[name]
            warnings.warn(
                f"settings.{name} is deprecated: use settings.{section}.{key}", DeprecationWarning, stacklevel=2
            )
            return getattr(getattr(self, section), key)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


SECTIONS: dict[str, type] = {f.name: f.default_factory for f in fields(Settings)}  # type: ignore[misc]

# the flat name each setting had before the sections -> (section, key)
SECTION_OF: dict[str, tuple[str, str]] = {
    "data_dir": ("storage", "data_dir"),
    "database_url": ("storage", "database_url"),
    "effective_database_url": ("storage", "effective_database_url"),  # a property, read only
    "http_host": ("web", "host"),
    "http_port": ("web", "port"),
    "public_url": ("web", "public_url"),
    "cookie_secure": ("web", "cookie_secure"),
    "session_check_interval": ("web", "session_check_interval"),
    "session_purge_interval": ("web", "session_purge_interval"),
    "trusted_proxies": ("web", "trusted_proxies"),
    "login_account_failures": ("login", "account_failures"),
    "login_address_failures": ("login", "address_failures"),
    "login_hash_workers": ("login", "hash_workers"),
    "login_hash_queue": ("login", "hash_queue"),
    "erasure_hmac_key": ("privacy", "erasure_hmac_key"),
    "asterisk_instance": ("asterisk", "instance"),
    "asterisk_root": ("asterisk", "root"),
    "asterisk_mode": ("asterisk", "mode"),
    "asterisk_run_user": ("asterisk", "run_user"),
    "asterisk_generated_dir": ("asterisk", "generated_dir"),
    "asterisk_spool_dir": ("asterisk", "spool_dir"),
    "asterisk_log_dir": ("asterisk", "log_dir"),
    "asterisk_modules_dir": ("asterisk", "modules_dir"),
    "sip_port": ("asterisk", "sip_port"),
    "wss_port": ("asterisk", "wss_port"),
    "rtp_port_start": ("asterisk", "rtp_port_start"),
    "rtp_port_count": ("asterisk", "rtp_port_count"),
    "max_concurrent_calls": ("asterisk", "max_concurrent_calls"),
    "sip_bind_address": ("asterisk", "sip_bind_address"),
    "sip_external_signaling_address": ("asterisk", "sip_external_signaling_address"),
    "sip_external_media_address": ("asterisk", "sip_external_media_address"),
    "sip_local_net": ("asterisk", "sip_local_net"),
    "ami_bind_address": ("asterisk", "ami_bind_address"),
    "ami_permit": ("asterisk", "ami_permit"),
    "ari_bind_address": ("asterisk", "ari_bind_address"),
    "ami_host": ("pbx", "ami_host"),
    "ami_port": ("pbx", "ami_port"),
    "ami_username": ("pbx", "ami_username"),
    "ami_secret": ("pbx", "ami_secret"),
    "ari_port": ("pbx", "ari_port"),
    "ari_username": ("pbx", "ari_username"),
    "ari_password": ("pbx", "ari_password"),
    "ari_app": ("pbx", "ari_app"),
    "pbx_command_timeout": ("pbx", "command_timeout"),
    "resync_interval": ("pbx", "resync_interval"),
    "trunk_host": ("outbound", "trunk_host"),
    "outbound_dial_uri": ("outbound", "dial_uri"),
    "outbound_service_caller_id": ("outbound", "service_caller_id"),
    "ivr_scripts_dir": ("ivr", "scripts_dir"),
    "ivr_stats_flush_interval": ("ivr", "stats_flush_interval"),
    "recordings_dir": ("recording", "store_dir"),
    "recordings_spool_dir": ("recording", "spool_dir"),
    "recording_agents_may_listen": ("recording", "agents_may_listen"),
    "recording_encryption_key": ("recording", "encryption_key"),
    "recording_purge_hour": ("recording", "purge_hour"),
    "recording_click_to_dial_policy": ("recording", "click_to_dial_policy"),
    "recording_click_to_dial_retention_days": ("recording", "click_to_dial_retention_days"),
    "log_level": ("log", "level"),
}


def _keys(section: str) -> dict[str, Any]:
    """The keys of a section and their types."""
    cls = SECTIONS[section]
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


# every setting by its dotted name ("web.port") -> its type
KEYS: dict[str, Any] = {f"{section}.{key}": typ for section in SECTIONS for key, typ in _keys(section).items()}


def env_name(key: str) -> str:
    """The environment variable of a dotted key: web.port -> CCSERVER_WEB_PORT."""
    return "CCSERVER_" + key.replace(".", "_").upper()


# environment variable -> dotted key, the current names then the old flat ones
ENV_NAMES: dict[str, str] = {env_name(key): key for key in KEYS}
OLD_ENV_NAMES: dict[str, str] = {
    f"CCSERVER_{old.upper()}": f"{section}.{key}"
    for old, (section, key) in SECTION_OF.items()
    if f"{section}.{key}" in KEYS
}
assert all(ENV_NAMES.get(name, key) == key for name, key in OLD_ENV_NAMES.items()), "ambiguous env name"

# settings restricted to a few words: the accepted spellings of each, and what they mean
_CHOICES: dict[str, dict[str, str]] = {
    "web.cookie_secure": {
        "auto": "auto",
        "always": "always",
        "true": "always",
        "yes": "always",
        "on": "always",
        "1": "always",
    },
}
_TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", Path: "a path", str: "a string"}


def _coerce(key: str, typ: Any, value: Any, source: str) -> Any:
    if key in _CHOICES:
        choice = _CHOICES[key].get(str(value).strip().lower())
        if choice is None:
            raise ConfigurationError(
                f"{key}: must be one of {', '.join(sorted(set(_CHOICES[key].values())))}, not {value!r} "
                f"(from {source})",
                field=key,
                source=source,
            )
        return choice
    try:
        if typ is int:
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if typ is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if typ is bool:
            if isinstance(value, bool):
                return value
            low = str(value).strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if isinstance(value, (dict, list)):
            raise ValueError
        if typ is Path:
            return Path(str(value)).expanduser()
        return str(value)
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"{key}: must be {_TYPE_WORDS.get(typ, typ)}, not {value!r} (from {source})", field=key, source=source
        ) from None


def _new_key(name: str, source: str, old_spelling: str | None = None) -> str:
    """The dotted key of `name`: itself if current, the new place of an old flat name (warned)."""
    if name in KEYS:
        return name
    if name in SECTION_OF:
        section, key = SECTION_OF[name]
        if name == "effective_database_url":
            raise ConfigurationError(
                f"{name} in {source} cannot be set: set storage.database_url", field=name, source=source
            )
        warnings.warn(
            f"setting {old_spelling or name!r} in {source} is deprecated: use {section}.{key}"
            + (f" ({env_name(section + '.' + key)})" if source == "environment" else ""),
            DeprecatedSettingWarning,
            stacklevel=4,
        )
        return f"{section}.{key}"
    raise ConfigurationError(f"{name}: unknown setting (in {source})", field=name, source=source)


def _apply(base: Settings, values: Mapping[str, Any], source: str) -> Settings:
    changes: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        key = _new_key(name, source)
        section, attribute = key.split(".", 1)
        changes.setdefault(section, {})[attribute] = _coerce(key, KEYS[key], value, source)
    return dataclasses.replace(
        base, **{section: dataclasses.replace(getattr(base, section), **attrs) for section, attrs in changes.items()}
    )


def _flatten_file(data: Mapping[str, Any], source: str) -> dict[str, Any]:
    """TOML tables to dotted keys: {"web": {"port": 1}} -> {"web.port": 1}; top-level keys stay
    (the old flat names)."""
    flat: dict[str, Any] = {}
    for name, value in data.items():
        if name in SECTIONS:
            if not isinstance(value, Mapping):
                raise ConfigurationError(
                    f"{name}: must be a table ([{name}]), not {value!r} (from {source})", field=name, source=source
                )
            for key, inner in value.items():
                flat[f"{name}.{key}"] = inner
        else:
            flat[name] = value
    return flat


def load_settings(
    config_file: str | os.PathLike | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults < TOML file < environment < `overrides` (the command line: dotted keys)."""
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
        settings = _apply(settings, _flatten_file(data, str(path)), str(path))
    from_env: dict[str, Any] = {}
    for name, value in environ.items():
        if name in ENV_NAMES:
            from_env[ENV_NAMES[name]] = value
    for name, value in environ.items():  # old names, unless the new one is set too
        if name in OLD_ENV_NAMES and name not in ENV_NAMES and OLD_ENV_NAMES[name] not in from_env:
            old = name[len("CCSERVER_") :].lower()
            warnings.warn(
                f"environment variable {name} is deprecated: use {env_name(OLD_ENV_NAMES[name])}",
                DeprecatedSettingWarning,
                stacklevel=2,
            )
            from_env[f"{SECTION_OF[old][0]}.{SECTION_OF[old][1]}"] = value
    settings = _apply(settings, from_env, "environment")
    if overrides:
        settings = _apply(settings, {k: v for k, v in overrides.items() if v is not None}, "command line")
    return settings
