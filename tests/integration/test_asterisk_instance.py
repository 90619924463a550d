"""The private Asterisk instance against a real Asterisk 22: boot, CLI, side by side, crash."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from ccserver.adapters.asterisk.instance import AsteriskInstance, InstanceInfo
from ccserver.adapters.asterisk.root import MIN_ASTERISK_MAJOR, ROOT_PACKAGES, parse_version, root_marker
from ccserver.cli import main as ccserver_main
from ccserver.core.errors import ConfigurationError
from ccserver.settings import env_name

pytestmark = pytest.mark.asterisk


def ami_login(info: InstanceInfo, timeout: float = 5.0) -> list[str]:
    """Log in over AMI and return the event names received until FullyBooted."""
    with socket.create_connection((info.ami_host, info.ami_port), timeout=timeout) as sock:
        sock.sendall(f"Action: Login\r\nUsername: {info.ami_username}\r\nSecret: {info.ami_secret}\r\n\r\n".encode())
        data = b""
        deadline = time.monotonic() + timeout
        while b"Event: FullyBooted" not in data and b"Response: Error" not in data:
            assert time.monotonic() < deadline, data
            data += sock.recv(4096)
    return [line.split(": ", 1)[1] for line in data.decode().splitlines() if line.startswith(("Event: ", "Response: "))]


def ari_get(info: InstanceInfo, path: str) -> dict:
    auth = base64.b64encode(f"{info.ari_username}:{info.ari_password}".encode()).decode()
    request = urllib.request.Request(f"{info.ari_url}/ari{path}", headers={"Authorization": f"Basic {auth}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def process_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def second(asterisk_factory) -> AsteriskInstance:
    """An instance of this module's own, to stop, kill and reconfigure freely."""
    return asterisk_factory()


def test_asterisk_environment_has_asterisk_20_or_newer(asterisk):
    env = asterisk.environment
    if env.mode == "chroot":  # the fixture built this root from scratch on a fresh machine
        marker = root_marker(env.root)
        assert marker["packages"] == list(ROOT_PACKAGES)
        print(f"root {env.root}: {marker}")
    out = subprocess.run(env.command(env.asterisk, "-V"), capture_output=True, text=True, check=True)
    major, version = parse_version(out.stdout)
    assert major >= MIN_ASTERISK_MAJOR, version


def test_up_reaches_fully_booted_and_status_reports_it(asterisk):
    info = asterisk.status()
    assert info.running and info.pid == asterisk.pid() and process_alive(info.pid)
    assert info.ami_port and info.ari_port and info.sip_port and info.rtp_start
    events = ami_login(info)
    assert events[0] == "Success" and events[-1] == "FullyBooted"
    version = ari_get(info, "/asterisk/info")["system"]["version"]
    assert int(version.split(".")[0]) >= MIN_ASTERISK_MAJOR


def test_boot_is_clean(asterisk):
    assert asterisk.boot_problems() == []
    console = asterisk.info.console_log.read_text()
    assert "Unable to load" not in console and "rror" not in console, console


def test_cli_runs_commands(asterisk):
    assert "Asterisk 2" in asterisk.cli("core show version")
    dialplan = asterisk.cli("dialplan show ccserver-test")
    assert "'echo'" in dialplan and "'answer-hangup'" in dialplan
    for module in ("app_queue.so", "res_ari.so", "app_voicemail.so", "res_websocket_client.so"):
        assert "1 modules loaded" in asterisk.cli(f"module show like {module}"), module
    assert "Mode: files" in asterisk.cli("moh show classes")


def test_up_when_running_reports_the_same_pid(asterisk):
    pid = asterisk.pid()
    assert asterisk.up().pid == pid


def test_command_line_status_and_cli(asterisk, capsys, monkeypatch):
    for key, value in (
        ("asterisk.root", asterisk.settings.asterisk.root),  # the CLI reads CCSERVER_*
        ("asterisk.mode", asterisk.settings.asterisk.mode),
        ("storage.data_dir", asterisk.settings.storage.data_dir),
    ):
        monkeypatch.setenv(env_name(key), str(value))
    assert ccserver_main(["asterisk", "--instance", asterisk.name, "status"]) == 0
    out = capsys.readouterr().out
    assert f"pid {asterisk.pid()}" in out and f":{asterisk.info.ami_port}" in out
    assert asterisk.info.ari_url in out
    assert ccserver_main(["asterisk", "--instance", asterisk.name, "cli", "core show uptime"]) == 0
    assert "System uptime" in capsys.readouterr().out


async def test_sipp_call_through_the_customers_trunk(asterisk):
    """A customer's call to a number nothing claims goes through the trunk and [ccserver-inbound]
    to [ccserver-unrouted]: unallocated (404), unanswered, and in the CDR."""
    from tests.support.sipp import SippCaller

    info = asterisk.info
    result = await SippCaller(asterisk, "123", caller="0612345678", max_seconds=15).run()
    assert (result.answered, result.status) == (False, 404), result
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and '"123","ccserver-inbound"' not in read(info.cdr_csv):
        await asyncio.sleep(0.1)
    [row] = [line for line in read(info.cdr_csv).splitlines() if '"123","ccserver-inbound"' in line]
    assert '"NO ANSWER"' in row


def test_two_instances_run_side_by_side(asterisk, second):
    other = second.up()
    mine = asterisk.info
    assert other.pid != mine.pid
    assert not {mine.ami_port, mine.ari_port, mine.sip_port} & {other.ami_port, other.ari_port, other.sip_port}
    assert "FullyBooted" in ami_login(mine) and "FullyBooted" in ami_login(other)
    assert ari_get(other, "/asterisk/info") and ari_get(mine, "/asterisk/info")
    assert other.instance_dir != mine.instance_dir


def test_generated_endpoints_apply_on_reload(second):
    second.up()
    second.write_generated(
        "pjsip_agents.conf",
        "[agent-t1](ccserver-endpoint)\ncontext = ccserver-agents\naors = agent-t1\n"
        "[agent-t1]\ntype = aor\nmax_contacts = 1\n",
    )
    second.reload("res_pjsip.so")
    assert "agent-t1" in second.cli("pjsip show endpoints")
    second.write_generated("queues_generated.conf", "[support]\nstrategy = rrmemory\n")
    second.reload("app_queue.so")
    assert "support" in second.cli("queue show support")


def test_kill_9_then_up_again_works(second):
    before = second.up()
    pid = before.pid
    assert second.kill(signal.SIGKILL) == pid
    # kill() returns once every thread has exited, not when /proc/PID/cmdline empties (that
    # happens first, while the other threads still hold the sockets): nothing is left running
    assert second.pid() is None and not process_alive(pid)
    assert (second.instance_dir / "run" / "asterisk.ctl").exists()  # stale socket left behind
    assert not second.status().running
    started = time.monotonic()
    info = second.up()
    print(f"up after kill -9: {time.monotonic() - started:.2f} s")
    assert info.running and info.pid != pid
    # the dead Asterisk's sockets were closed before up() checked its ports: it keeps them
    assert (info.ami_port, info.ari_port, info.sip_port) == (before.ami_port, before.ari_port, before.sip_port)
    assert "System uptime" in second.cli("core show uptime")
    assert "FullyBooted" in ami_login(info)


def test_taken_port_is_picked_again_at_next_up(second):
    second.down()
    old = second.info
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", old.ami_port))
        blocker.listen()
        info = second.up()
    assert info.ami_port != old.ami_port and info.ari_port == old.ari_port
    assert json.loads(info.credentials_file.read_text())["ami_port"] == info.ami_port
    assert "FullyBooted" in ami_login(info)


def test_fixed_port_in_use_is_refused(asterisk_factory):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        instance = asterisk_factory(pbx={"ari_port": port})
        with pytest.raises(ConfigurationError, match=f"ari_port {port} .* in use") as info:
            instance.up()
    assert info.value.details["port"] == port
    assert instance.pid() is None


def test_down_stops_it(second):
    pid = second.up().pid
    started = time.monotonic()
    assert second.down() is True
    print(f"down: {time.monotonic() - started:.2f} s")
    assert not process_alive(pid)
    assert second.pid() is None and not second.status().running
    assert not (second.instance_dir / "asterisk.pid").exists()
    assert second.down() is False
    with pytest.raises(ConfigurationError, match="not running"):
        second.cli("core show uptime")


def test_bad_template_names_file_and_line(asterisk_factory, tmp_path):
    conf = tmp_path / "asterisk-conf"
    shutil.copytree(AsteriskInstance(asterisk_factory().settings).conf_dir, conf)
    path = conf / "manager.conf"
    lines = path.read_text().splitlines()
    lines.insert(4, "port = {{ ami_port }")  # line 5: unclosed expression
    path.write_text("\n".join(lines) + "\n")
    instance = asterisk_factory()
    bad = AsteriskInstance(instance.settings, conf_dir=conf, environment=instance.environment)
    with pytest.raises(ConfigurationError) as info:
        bad.up()
    assert info.value.details["file"] == str(path) and info.value.details["line"] == 5
    assert f"{path}, line 5" in str(info.value)
    assert bad.pid() is None


def test_asterisk_failing_to_boot_reports_its_log(asterisk_factory, tmp_path):
    conf = tmp_path / "asterisk-conf"
    shutil.copytree(AsteriskInstance(asterisk_factory().settings).conf_dir, conf)
    with open(conf / "modules.conf", "a") as out:
        out.write("require => res_no_such_module.so\n")
    instance = asterisk_factory()
    broken = AsteriskInstance(instance.settings, conf_dir=conf, environment=instance.environment)
    with pytest.raises(ConfigurationError) as info:
        broken.up(timeout=20)
    assert "res_no_such_module" in info.value.message
    assert broken.pid() is None


def test_status_of_an_instance_never_started(asterisk_factory):
    instance = asterisk_factory()
    assert instance.status() is None
    assert instance.down() is False
    assert not instance.instance_dir.exists()


def test_destroy_removes_the_directory(asterisk_factory):
    instance = asterisk_factory()
    pid = instance.up().pid
    instance.destroy()
    assert not instance.instance_dir.exists() and not process_alive(pid)
    assert os.path.isdir(instance.instance_dir.parent)


def test_a_port_taken_while_asterisk_starts_is_picked_again(asterisk_factory):
    """Another program binds the AMI port between the port check and Asterisk's bind (several
    instances starting at once): `up` notices ("Unable to bind") and starts again on other
    ports, instead of running with its AMI on somebody else's port."""
    instance = asterisk_factory()
    render = instance.render
    thieves: list[socket.socket] = []

    def render_then_steal(**options):
        info = render(**options)
        if not thieves:
            thief = socket.socket()
            thief.bind(("127.0.0.1", info.ami_port))
            thief.listen()
            thieves.append(thief)
        return info

    instance.render = render_then_steal
    try:
        info = instance.up()
        stolen = thieves[0].getsockname()[1]
        assert info.ami_port != stolen
        assert instance.bind_failures() == []
        assert f"127.0.0.1:{info.ami_port}" in instance.cli("manager show settings")
    finally:
        for thief in thieves:
            thief.close()
