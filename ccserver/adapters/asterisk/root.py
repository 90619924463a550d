"""Finding an Asterisk to run: the host's own (>= 20) or a cached Debian sid root run by chroot.

Debian 12 ships no Asterisk, Debian sid does: when the host has none we debootstrap a minimal sid
root once (~1 minute, ~550 MB) and run ``chroot ROOT /usr/sbin/asterisk ...`` inside it. The root
is built in a temporary directory next to its final place and renamed there only once complete,
with a marker file recording the success, so an interrupted build never leaves a half root.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ...core.errors import ConfigurationError

logger = logging.getLogger(__name__)

MIN_ASTERISK_MAJOR = 20
ROOT_MARKER = ".ccserver-root-ok"
DEBIAN_SUITE = "sid"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# the French core sounds: asterisk-core-sounds-fr-gsm holds the files (fr_CA_f_June), and
# asterisk-core-sounds-fr points sounds/fr at them (an alternative), so CHANNEL(language)=fr works
ROOT_PACKAGES = ("asterisk", "sip-tester", "asterisk-core-sounds-fr-gsm", "asterisk-core-sounds-fr")
MODES = ("auto", "host", "chroot")
_SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")


class AsteriskNotBuilt(ConfigurationError):
    """The chroot root is not built and building was not allowed (status/down never build)."""


@dataclass(frozen=True)
class AsteriskEnvironment:
    """Where Asterisk runs: on the host (root "/") or inside a chroot (root = the sid tree)."""

    mode: str  # "host" or "chroot"
    root: Path
    asterisk: str  # the binary, as seen from inside the environment
    version: str

    @property
    def prefix(self) -> list[str]:
        """Command prefix that runs a program inside the environment."""
        if self.mode == "chroot":
            return [_which("chroot") or "chroot", str(self.root)]
        return []

    def command(self, *args: str) -> list[str]:
        """argv running `args` (a program path seen from inside, then its arguments)."""
        return [*self.prefix, *args]

    def host_path(self, inner: str | PurePosixPath) -> Path:
        """The host path of a path as Asterisk sees it."""
        inner = PurePosixPath(inner)
        if self.mode == "chroot":
            return self.root / inner.relative_to("/")
        return Path(inner)

    def inner_path(self, host: Path) -> PurePosixPath:
        """The path Asterisk sees for a host path (which must lie inside the root in chroot mode)."""
        host = Path(host).resolve()
        if self.mode == "chroot":
            try:
                return PurePosixPath("/") / host.relative_to(self.root.resolve())
            except ValueError:
                raise ConfigurationError(
                    f"{host} is outside the Asterisk root {self.root}", path=str(host), root=str(self.root)
                ) from None
        return PurePosixPath(host)

    def find_dir(self, candidates: tuple[str, ...], what: str) -> str:
        """The first candidate directory that exists inside the environment."""
        for candidate in candidates:
            if self.host_path(candidate).is_dir():
                return candidate
        raise ConfigurationError(
            f"cannot find the Asterisk {what} directory (looked in {', '.join(candidates)}) under {self.root}",
            root=str(self.root),
        )


def _which(name: str) -> str | None:
    """shutil.which on PATH, then in the sbin directories a non-root PATH often lacks."""
    found = shutil.which(name)
    if found:
        return found
    if name == "chroot":  # coreutils; only debootstrap/asterisk must come from PATH (tests rely on it)
        for directory in _SBIN:
            candidate = Path(directory) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return None


def parse_version(text: str) -> tuple[int, str] | None:
    """(major, full version) from `asterisk -V` output such as 'Asterisk 22.10.1+dfsg...'."""
    match = re.search(r"Asterisk\s+(?:certified/)?((\d+)[\w.+~-]*)", text)
    if not match:
        return None
    return int(match.group(2)), match.group(1)


def _asterisk_version(argv: list[str]) -> tuple[int, str] | None:
    try:
        out = subprocess.run([*argv, "-V"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_version(out.stdout + out.stderr)


def host_asterisk() -> tuple[str, int, str] | None:
    """(binary, major, version) of the Asterisk installed on the host, if any."""
    binary = shutil.which("asterisk")
    if not binary:
        return None
    found = _asterisk_version([binary])
    if not found:
        return None
    return binary, found[0], found[1]


def root_is_ready(root: Path) -> bool:
    return (Path(root) / ROOT_MARKER).is_file()


def root_marker(root: Path) -> dict:
    """What the marker of a built root records (build time, version), {} when absent/unreadable."""
    try:
        return json.loads((Path(root) / ROOT_MARKER).read_text())
    except (OSError, ValueError):
        return {}


def resolve_environment(mode: str, root: Path, *, build: bool = True) -> AsteriskEnvironment:
    """Pick the Asterisk to run for `mode`, building the chroot root when needed and allowed."""
    if mode not in MODES:
        raise ConfigurationError(
            f"asterisk_mode must be one of {', '.join(MODES)}, not {mode!r}", field="asterisk_mode"
        )
    root = Path(root).expanduser()
    if mode in ("auto", "host"):
        host = host_asterisk()
        if host and host[1] >= MIN_ASTERISK_MAJOR:
            return AsteriskEnvironment("host", Path("/"), host[0], host[2])
        if mode == "host":
            what = f"Asterisk {host[2]} is too old" if host else "no asterisk on PATH"
            raise ConfigurationError(
                f"asterisk_mode is 'host' but {what}: install Asterisk >= "
                f"{MIN_ASTERISK_MAJOR} or use asterisk_mode 'auto'/'chroot'",
                field="asterisk_mode",
            )
    if not root_is_ready(root):
        if not build:
            raise AsteriskNotBuilt(
                f"the Asterisk root {root} is not built yet (run `ccserver asterisk up` once)", root=str(root)
            )
        build_root(root)
    elif build:
        ensure_root_packages(root)
    binary = "/usr/sbin/asterisk"
    found = _asterisk_version([_which("chroot") or "chroot", str(root), binary])
    if not found:
        raise ConfigurationError(f"cannot run {binary} inside {root} (chroot needs root rights)", root=str(root))
    if found[0] < MIN_ASTERISK_MAJOR:
        raise ConfigurationError(f"Asterisk {found[1]} in {root} is older than {MIN_ASTERISK_MAJOR}", root=str(root))
    return AsteriskEnvironment("chroot", root, binary, found[1])


# the user the private Asterisk runs as inside the chroot root. Not the package's `asterisk`
# (uid 101 there): a chroot shares the host's uids, and 101 is often a host account (postgres on
# Debian machines), which Asterisk would then act as (signals, /proc, its files).
SERVICE_USER = "ccsasterisk"
SERVICE_UID_RANGE = range(64100, 64900)


@dataclass(frozen=True)
class ServiceUser:
    name: str
    uid: int
    gid: int


def _ids_in(path: Path) -> dict[str, int]:
    """name -> id of an /etc/passwd or /etc/group file."""
    ids = {}
    try:
        for line in path.read_text().splitlines():
            parts = line.split(":")
            if len(parts) > 2 and parts[2].isdigit():
                ids[parts[0]] = int(parts[2])
    except FileNotFoundError:
        pass
    return ids


def _host_has_id(uid: int) -> bool:
    import grp
    import pwd

    for lookup in (pwd.getpwuid, grp.getgrgid):
        try:
            lookup(uid)
            return True
        except KeyError:
            continue
    return False


def ensure_service_user(root: Path) -> ServiceUser | None:
    """The unprivileged user of the chroot root's Asterisk, added to the root's /etc/passwd and
    /etc/group on first use with a uid = gid that neither the host nor the root uses yet; None
    for a root without an /etc/passwd (not a Debian root: nothing to run as)."""
    root = Path(root)
    passwd, group = root / "etc" / "passwd", root / "etc" / "group"
    if not passwd.is_file():
        logger.warning("%s has no etc/passwd: its Asterisk runs as root", root)
        return None
    with open(root / ".ccserver-user.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        users, groups = _ids_in(passwd), _ids_in(group)
        uid = users.get(SERVICE_USER, groups.get(SERVICE_USER))
        if uid is None:
            taken = set(users.values()) | set(groups.values())
            uid = next((i for i in SERVICE_UID_RANGE if i not in taken and not _host_has_id(i)), None)
            if uid is None:
                raise ConfigurationError(
                    f"no free uid in {SERVICE_UID_RANGE.start}-"
                    f"{SERVICE_UID_RANGE.stop - 1} for Asterisk's user in "
                    f"{root}",
                    root=str(root),
                )
        if SERVICE_USER not in groups:
            with open(group, "a") as out:
                out.write(f"{SERVICE_USER}:x:{uid}:\n")
        if SERVICE_USER not in users:
            with open(passwd, "a") as out:
                out.write(f"{SERVICE_USER}:x:{uid}:{uid}:ccserver private Asterisk:/nonexistent:/usr/sbin/nologin\n")
            logger.info("added user %s (uid %s) to %s for Asterisk", SERVICE_USER, uid, root)
        return ServiceUser(SERVICE_USER, uid, _ids_in(group)[SERVICE_USER])


def _mounts_below(path: Path) -> list[str]:
    """Mount points at or below `path` (debootstrap mounts /proc and /sys while it works)."""
    prefix = str(path.resolve())
    found = []
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        parts = line.split()
        if len(parts) > 1:
            point = parts[1].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def remove_tree(path: Path) -> None:
    """rm -rf that first unmounts anything mounted below (never deletes through a live /proc)."""
    for point in _mounts_below(path):
        subprocess.run(["umount", "-l", point], capture_output=True)
    if _mounts_below(path):
        raise ConfigurationError(f"cannot unmount everything below {path}; remove it by hand", path=str(path))
    shutil.rmtree(path, ignore_errors=True)


def _require_build_tools(root: Path) -> str:
    debootstrap = shutil.which("debootstrap")
    if not debootstrap:
        raise ConfigurationError(
            "no Asterisk >= 20 on this host and debootstrap is missing to build one: "
            "run `apt-get install debootstrap` (building and running the Asterisk root with chroot "
            "also needs root rights), or install Asterisk >= 20 yourself",
            root=str(root),
        )
    if os.geteuid() != 0:
        raise ConfigurationError(
            f"building and running the Asterisk root {root} needs root rights (debootstrap, chroot): "
            "run as root, or install Asterisk >= 20 on the host",
            root=str(root),
        )
    return debootstrap


def build_root(root: Path, *, suite: str = DEBIAN_SUITE, mirror: str = DEBIAN_MIRROR) -> float:
    """Debootstrap a Debian root with Asterisk and sipp at `root`; returns the seconds it took.

    Built into ``.NAME.build-PID`` next to `root` and renamed into place when complete; a lock
    keeps two processes from building at once (the second waits, then finds it built).
    """
    root = Path(root).expanduser().absolute()
    debootstrap = _require_build_tools(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    lock_path = root.parent / f".{root.name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if root_is_ready(root):
            return 0.0
        if root.exists():
            raise ConfigurationError(
                f"{root} exists but was not built by ccserver (no {ROOT_MARKER}): move it away or remove it",
                root=str(root),
            )
        for stale in root.parent.glob(f".{root.name}.build-*"):
            logger.info("removing the leftover of an interrupted root build: %s", stale)
            remove_tree(stale)
        tmp = root.parent / f".{root.name}.build-{os.getpid()}"
        log_path = root.parent / f"{root.name}.build.log"
        argv = [debootstrap, "--variant=minbase", f"--include={','.join(ROOT_PACKAGES)}", suite, str(tmp), mirror]
        logger.warning("building the Asterisk root %s (Debian %s, about a minute): %s", root, suite, " ".join(argv))
        started = time.monotonic()
        try:
            with open(log_path, "wb") as log:
                result = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            if result.returncode != 0:
                tail = log_path.read_text(errors="replace").splitlines()[-15:]
                raise ConfigurationError(
                    f"debootstrap failed (exit {result.returncode}) building {root}; "
                    f"full log in {log_path}:\n" + "\n".join(tail),
                    root=str(root),
                    log=str(log_path),
                )
            elapsed = time.monotonic() - started
            found = _asterisk_version([_which("chroot") or "chroot", str(tmp), "/usr/sbin/asterisk"])
            if not found:
                raise ConfigurationError(
                    f"the new root {tmp} has no working asterisk; see {log_path}", root=str(root), log=str(log_path)
                )
            for point in _mounts_below(tmp):
                subprocess.run(["umount", "-l", point], capture_output=True)
            marker = {
                "suite": suite,
                "mirror": mirror,
                "packages": list(ROOT_PACKAGES),
                "asterisk_version": found[1],
                "build_seconds": round(elapsed, 1),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            (tmp / ROOT_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
            os.rename(tmp, root)
        except BaseException:
            if tmp.exists():
                remove_tree(tmp)
            raise
        logger.warning("Asterisk root %s built in %.0f s (Asterisk %s)", root, elapsed, found[1])
        return elapsed


def missing_root_packages(root: Path) -> list[str]:
    """The ROOT_PACKAGES a built root lacks (its marker lists what it was given)."""
    have = set(root_marker(root).get("packages", ()))
    return [name for name in ROOT_PACKAGES if name not in have]


def ensure_root_packages(root: Path) -> list[str]:
    """Install into an already built root the packages added to ROOT_PACKAGES since it was built
    (e.g. the French sounds): a few seconds of apt-get in the chroot instead of a new root.
    Returns what was installed; the marker records it, so this runs once per root."""
    root = Path(root).expanduser().absolute()
    if not missing_root_packages(root):
        return []
    if os.geteuid() != 0:
        logger.warning(
            "the Asterisk root %s lacks %s (installing needs root rights)", root, missing_root_packages(root)
        )
        return []
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = missing_root_packages(root)  # another process may have done it meanwhile
        if not missing:
            return []
        chroot = _which("chroot") or "chroot"
        log_path = root.parent / f"{root.name}.packages.log"
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        logger.warning("adding %s to the Asterisk root %s", ", ".join(missing), root)
        install = [chroot, str(root), "apt-get", "install", "-y", "--no-install-recommends", *missing]
        with open(log_path, "wb") as log:
            result = subprocess.run(install, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
            if result.returncode != 0:  # the package lists of an old root may be stale: refresh once
                subprocess.run([chroot, str(root), "apt-get", "update"], stdout=log, stderr=subprocess.STDOUT, env=env)
                result = subprocess.run(
                    install, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
                )
        if result.returncode != 0:
            tail = log_path.read_text(errors="replace").splitlines()[-10:]
            raise ConfigurationError(
                f"installing {', '.join(missing)} into the Asterisk root {root} failed; full log in {log_path}:\n"
                + "\n".join(tail),
                root=str(root),
                log=str(log_path),
            )
        marker = root_marker(root)
        marker["packages"] = sorted(set(marker.get("packages", ())) | set(missing))
        marker["packages_added_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        tmp = root / f"{ROOT_MARKER}.tmp"
        tmp.write_text(json.dumps(marker, indent=2) + "\n")
        os.replace(tmp, root / ROOT_MARKER)
        return missing
