"""Fixtures for tests against a real private Asterisk.

`asterisk` (session scope) is one running instance shared by every integration test: a unique
name (test-PID-RANDOM), free ports, fresh secrets; it is destroyed (directory included) at the
end. The first use on a fresh machine builds the Debian root (about a minute). Tests must not
stop or reconfigure it: those that need to use `asterisk_factory` for instances of their own.
"""

from __future__ import annotations

import logging
import time

import pytest

from ccserver.adapters.asterisk.instance import AsteriskInstance
from tests.support.asterisk import cleanup_stale_test_instances, settings_for_test, start_test_instance

logger = logging.getLogger(__name__)


@pytest.fixture(scope="session")
def asterisk(tmp_path_factory) -> AsteriskInstance:
    """A running private Asterisk; `asterisk.info` has its ports, credentials and paths."""
    data_dir = tmp_path_factory.mktemp("asterisk")
    cleanup_stale_test_instances(settings_for_test(data_dir))
    started = time.monotonic()
    instance = start_test_instance(data_dir)
    logger.info("asterisk fixture ready in %.1f s (root build if missing + first boot)", time.monotonic() - started)
    try:
        yield instance
    finally:
        instance.destroy()


@pytest.fixture(scope="session")
def asterisk_factory(tmp_path_factory, asterisk):
    """Make more (not started) instances next to `asterisk`; all destroyed at session end."""
    made: list[AsteriskInstance] = []

    def make(**changes) -> AsteriskInstance:
        settings = settings_for_test(tmp_path_factory.mktemp("asterisk-extra"), **changes)
        instance = AsteriskInstance(settings, environment=asterisk.environment)
        made.append(instance)
        return instance

    try:
        yield make
    finally:
        for instance in made:
            try:
                instance.destroy()
            except Exception:
                logger.exception("could not destroy test instance %s", instance.name)
