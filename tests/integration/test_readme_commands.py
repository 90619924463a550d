"""The README's first command, run in a fresh clone: it sets up and serves the demo call center.

(The second command, `./ccs test`, is what CI runs on a fresh clone: this suite itself.)
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from ccserver.adapters.asterisk.instance import AsteriskInstance
from ccserver.settings import Settings
from tests.support.web import csrf_field

pytestmark = pytest.mark.asterisk
REPO = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    """The commands in the code blocks of the README's first screen."""
    head = "\n".join((REPO / "README.md").read_text().splitlines()[:25])  # the first screen
    return [
        line.strip()
        for block in re.findall(r"```\n(.*?)```", head, re.S)
        for line in block.splitlines()
        if line.strip()
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str):
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_readme_names_the_two_commands_and_ci_runs_the_test_one():
    assert readme_commands() == ["./ccs demo", "./ccs test"]
    assert "./ccs test" in (REPO / ".ci" / "run").read_text()


def test_demo_command_in_a_fresh_clone_serves_the_demo(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{REPO}", str(clone)], check=True)
    port = free_port()
    instance = f"readme-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    env = dict(
        os.environ,
        CCSERVER_WEB_PORT=str(port),
        CCSERVER_STORAGE_DATA_DIR=str(tmp_path / "var"),
        CCSERVER_ASTERISK_INSTANCE=instance,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    env.pop("VIRTUAL_ENV", None)
    log = open(tmp_path / "demo.log", "w")
    proc = subprocess.Popen(
        ["./ccs", "demo"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 600
        while True:
            assert proc.poll() is None, (tmp_path / "demo.log").read_text()[-3000:]
            try:
                code, body = get_json(f"http://127.0.0.1:{port}/status")
                if code == 200 and body["status"] == "ok":
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "demo.log").read_text()[-3000:]
            time.sleep(1)
        output = (tmp_path / "demo.log").read_text()
        assert f"http://127.0.0.1:{port}/" in output
        password = re.search(r"supervisor\s+superviseur\s+password: (\S+)", output).group(1)
        assert re.search(r"alice\s+SIP user: alice\s+SIP password: \S{16,}", output)
        # the printed login works
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        page = opener.open(f"http://127.0.0.1:{port}/login").read().decode()
        token = csrf_field(page)
        data = urllib.parse.urlencode({"username": "superviseur", "password": password, "csrf_token": token}).encode()
        home = opener.open(f"http://127.0.0.1:{port}/login", data=data).read().decode()
        assert "Sophie Superviseure" in home
        board = json.loads(opener.open(f"http://127.0.0.1:{port}/api/wallboard").read())
        assert {q["queue"] for q in board["queues"]} == {"support", "billing"}
        # the example IVR runs as shipped on the demo (its queues, the stock sounds), on 300
        assert "IVR:    dial 300 or 0140000300" in output
        admin_password = re.search(r"admin\s+admin\s+password: (\S+)", output).group(1)
        admin = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        page = admin.open(f"http://127.0.0.1:{port}/login").read().decode()
        token = csrf_field(page)
        admin.open(
            f"http://127.0.0.1:{port}/login",
            data=urllib.parse.urlencode(
                {"username": "admin", "password": admin_password, "csrf_token": token}
            ).encode(),
        )
        ivr = json.loads(admin.open(f"http://127.0.0.1:{port}/api/ivr/scripts").read())
        assert ivr["errors"] == {}
        scripts = {s["name"]: s for s in ivr["scripts"]}
        assert scripts["service-client"]["extensions"] == ["300"]
        assert "astreinte" in scripts
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        AsteriskInstance(
            Settings().replace({"asterisk.instance": instance, "storage.data_dir": tmp_path / "var"})
        ).destroy()
    assert proc.returncode in (0, -signal.SIGTERM), proc.returncode
