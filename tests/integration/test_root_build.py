"""`ccserver asterisk up` on a machine without Asterisk: it builds the Debian root (debootstrap,
about a minute), reaches FullyBooted; the second time it starts in seconds from that cache.

Built into a fresh directory here, whatever the shared cache holds, so this path runs in
every CI run, not only on a new machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = pytest.mark.asterisk


def ccserver(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "ccserver.cli", *args], env=env, capture_output=True, text=True, timeout=900
    )


def test_up_builds_the_root_then_starts_from_the_cache(tmp_path):
    root = tmp_path / "asterisk-root"
    env = dict(
        os.environ,
        CCSERVER_ASTERISK_ROOT=str(root),
        CCSERVER_ASTERISK_MODE="chroot",
        CCSERVER_STORAGE_DATA_DIR=str(tmp_path / "var"),
        CCSERVER_ASTERISK_INSTANCE=f"build-{os.getpid()}-{uuid.uuid4().hex[:6]}",
    )
    try:
        started = time.monotonic()
        first = ccserver("asterisk", "up", env=env)
        built_in = time.monotonic() - started
        assert first.returncode == 0, first.stdout + first.stderr
        assert (root / "usr" / "sbin" / "asterisk").exists() and (root / "usr" / "bin" / "sipp").exists()
        # the French core sounds, reachable as sounds/fr (an alternative: a link inside the root)
        assert (root / "usr/share/asterisk/sounds/fr_CA_f_June/queue-thankyou.gsm").is_file()
        assert (root / "usr/share/asterisk/sounds/fr").is_symlink()
        status = ccserver("asterisk", "status", env=env)
        assert status.returncode == 0 and "running" in status.stdout
        assert ccserver("asterisk", "down", env=env).returncode == 0

        started = time.monotonic()
        second = ccserver("asterisk", "up", env=env)
        again_in = time.monotonic() - started
        assert second.returncode == 0, second.stdout + second.stderr
        assert again_in < 10, f"second start took {again_in:.1f} s"
        print(f"root built and booted in {built_in:.1f} s; second start {again_in:.2f} s")
    finally:
        ccserver("asterisk", "down", env=env)
        shutil.rmtree(root, ignore_errors=True)
