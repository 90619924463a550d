"""Private Asterisk instances for tests: unique names, free ports, and cleanup of leftovers.

Used by the `asterisk` fixture of tests/integration/conftest.py; other test packages can call
`start_test_instance` the same way (a test instance never touches the developer's own instance).
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path

from ccserver.adapters.asterisk.instance import AsteriskInstance
from ccserver.settings import Settings, load_settings

logger = logging.getLogger(__name__)

TEST_PREFIX = "test-"


def settings_for_test(data_dir: Path, name: str | None = None, **changes) -> Settings:
    """Settings for a throw-away instance: CCSERVER_* from the environment (root, mode) are kept,
    but ports and secrets are always picked afresh so tests never collide with anything."""
    name = name or f"{TEST_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
    base = load_settings()
    values = {
        "asterisk.instance": name,
        "storage.data_dir": Path(data_dir),
        "pbx.ami_port": 0,
        "pbx.ari_port": 0,
        "asterisk.sip_port": 0,
        "asterisk.rtp_port_start": 0,
        "asterisk.rtp_port_count": 200,
        "asterisk.max_concurrent_calls": 40,
        "pbx.ami_secret": "",
        "pbx.ari_password": "",
        "asterisk.sip_bind_address": "127.0.0.1",
    }
    return base.replace(values, **changes)  # changes: sections, asterisk={"rtp_port_count": 8}


def cleanup_stale_test_instances(settings: Settings) -> list[str]:
    """Destroy test instances whose creating process is gone (a killed test run leaves them)."""
    probe = AsteriskInstance(settings, name="cleanup-probe")
    env = probe.environment_if_built()
    if env is None:
        return []
    parent = probe.instance_dir.parent
    removed = []
    for path in sorted(parent.glob(f"{TEST_PREFIX}*")):
        parts = path.name.split("-")
        if len(parts) < 3 or not parts[1].isdigit():
            continue
        if Path(f"/proc/{parts[1]}").exists():
            continue
        try:
            AsteriskInstance(settings, name=path.name, environment=env).destroy()
            removed.append(path.name)
        except Exception:  # never let a leftover block the test run
            logger.exception("could not remove stale test instance %s", path)
    return removed


def start_test_instance(data_dir: Path, name: str | None = None, **changes) -> AsteriskInstance:
    """A running, uniquely named instance with free ports (builds the Asterisk root if missing)."""
    settings = settings_for_test(data_dir, name, **changes)
    instance = AsteriskInstance(settings)
    started = time.monotonic()
    instance.up()
    logger.info("test instance %s up in %.2f s", instance.name, time.monotonic() - started)
    return instance
