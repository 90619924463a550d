"""`log.levels`: single loggers' levels, apscheduler at WARNING by default (it writes two INFO
lines for every job run, every 5 s); a bad value is refused naming the key."""

from __future__ import annotations

import logging

import pytest

from ccserver.cli import configure_logging
from ccserver.core.errors import ConfigurationError
from ccserver.settings import Settings, load_settings, parse_logger_levels


@pytest.fixture
def restore_loggers():
    names = ("apscheduler", "aiohttp.access")
    saved = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def test_apscheduler_is_at_warning_by_default(restore_loggers):
    configure_logging(Settings())
    assert not logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.INFO)
    assert logging.getLogger("apscheduler.scheduler").isEnabledFor(logging.WARNING)


def test_the_environment_brings_the_job_lines_back(restore_loggers):
    settings = load_settings(environ={"CCSERVER_LOG_LEVELS": "apscheduler=info, aiohttp.access=WARNING"})
    assert settings.log.logger_levels() == {"apscheduler": "INFO", "aiohttp.access": "WARNING"}
    configure_logging(settings)
    assert logging.getLogger("apscheduler").level == logging.INFO
    assert logging.getLogger("aiohttp.access").level == logging.WARNING


@pytest.mark.parametrize("bad", ["apscheduler", "apscheduler=LOUD", "=INFO", "a b=INFO", "x=INFO\nroot=DEBUG"])
def test_a_bad_value_is_refused_naming_the_key(bad):
    with pytest.raises(ConfigurationError) as error:
        parse_logger_levels(bad)
    assert error.value.details["field"] == "log.levels"
    settings = load_settings(environ={"CCSERVER_LOG_LEVELS": bad})
    with pytest.raises(ConfigurationError):
        configure_logging(settings)


def test_empty_means_no_logger_of_its_own():
    assert parse_logger_levels("") == {} and parse_logger_levels(" , ") == {}
